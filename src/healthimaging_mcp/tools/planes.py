"""Planes of a series volume for the image tools: a plane (or slab) at a position, how to display it, what to call
it, and two series side by side at matching positions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dicom.values import as_text, iso_date
from ..errors import HealthImagingError, invalid
from ..imaging.montage import MAX_BYTES, MIN_TILE, side_by_side
from ..imaging.orientation import label_scale_for
from ..imaging.reformat import Plane, PlaneGrid, PlaneSamples, Projection, nearest_plane, plane_grid, sample_plane
from ..imaging.render import DisplayImage, ImageFormat, encode_image, picture, to_display
from ..imaging.window import WindowSpec, modality_units
from ..runtime import Runtime
from .common import ID_PATTERN
from .frame_pipeline import frame_position, locate, one_address, window_text
from .image_answers import Delivery, FrameAnswer
from .priors import find_prior, named
from .series_volumes import SeriesVolume, open_volume

PROJECTION_NAMES = {"mip": "MIP", "minip": "MinIP", "mean": "mean"}


@dataclass(frozen=True)
class PlaneView:
    """One plane (or slab) of a series volume, sampled."""

    source: SeriesVolume
    grid: PlaneGrid
    samples: PlaneSamples
    slab: float
    projection: Projection

    @property
    def units(self) -> str | None:
        return modality_units(self.source.volume.attributes)

    @property
    def attributes(self) -> dict[str, Any]:
        """Display attributes of the plane image: the series' window and modality, the plane's geometry."""
        grid = self.grid
        attributes = {
            **self.source.volume.attributes,
            "Rows": grid.height,
            "Columns": grid.width,
            "PixelSpacing": [grid.spacing, grid.spacing],
            "ImageOrientationPatient": grid.orientation,
        }
        if not self.samples.valid.all():
            attributes["PixelPaddingValue"] = self.source.volume.background
        return attributes

    def pixels(self) -> np.ndarray:
        """The values to display: rounded to integers when the series has integer values (fast lookup tables)."""
        values = self.samples.values
        return np.rint(values).astype(np.int32) if self.source.volume.integer_values else values

    def display(self, window: WindowSpec) -> DisplayImage:
        return to_display(self.pixels(), self.attributes, window)

    def where(self) -> str:
        """ "coronal at y = -15.0 mm (201/410)", with the slab when there is one."""
        grid = self.grid
        text = f"{grid.plane} at {grid.axis_name} = {grid.position:.1f} mm ({grid.index + 1}/{grid.count})"
        if self.slab:
            text += f", {slab_name(self.slab, self.projection)}"
        return text

    def label(self) -> str:
        """Study date and series description, for a panel's header."""
        source = self.source
        date = iso_date(source.document.study.get("StudyDate")) or iso_date(source.series.attributes.get("SeriesDate"))
        return f"{date or 'no date'} {source.series.modality or ''} {source.series.description or ''}".strip()


def slab_name(slab: float, projection: Projection) -> str:
    """ "MIP of a 10 mm slab"."""
    return f"{PROJECTION_NAMES[projection]} of a {slab:g} mm slab"


def acquisition_plane(source: SeriesVolume) -> Plane:
    return nearest_plane(source.volume.geometry)


def view_plane(
    source: SeriesVolume,
    plane: Plane,
    *,
    position: float | None = None,
    index: int | None = None,
    slab: float = 0.0,
    projection: Projection = "mip",
) -> PlaneView:
    """The plane at `position` mm (or `index`; default the centre), sampled; out-of-range asks refused."""
    try:
        grid = plane_grid(source.volume.geometry, plane, position=position, index=index)
    except ValueError as exc:
        argument = "slice_index" if index is not None else "position_mm"
        raise invalid(f"{argument}: {exc} along the {plane} axis.") from None
    samples = sample_plane(source.volume, grid, slab=slab, projection=projection)
    if not samples.valid.any():
        raise invalid(
            f"No image data at {grid.axis_name} = {grid.position:.1f} mm: it falls in a gap of this series.",
            "Choose another position_mm (the series notes say where the gaps are).",
        )
    return PlaneView(source, grid, samples, slab, projection)


def notes(view: PlaneView) -> str:
    """What the volume's assembly noticed (gaps, uneven spacing, other stacks), or nothing."""
    volume = view.source.volume
    told = "; ".join(volume.notes)
    return f" · volume: {volume.geometry.slices} slices{'; ' + told if told else ''}"


@dataclass(frozen=True)
class Match:
    """Where the other series is shown, and how that position was chosen."""

    position: float
    how: str


def matched_position(current: PlaneView, other: SeriesVolume) -> Match:
    """The same patient coordinate when both series share a Frame of Reference, else the same relative position
    along the plane's axis."""
    mine = as_text(current.source.volume.attributes.get("FrameOfReferenceUID"))
    theirs = as_text(other.volume.attributes.get("FrameOfReferenceUID"))
    if mine and mine == theirs:
        return Match(current.grid.position, "same frame of reference: same patient coordinate")
    grid = current.grid
    span = (grid.count - 1) * grid.step or 1.0
    fraction = (grid.position - grid.first) / span
    target = plane_grid(other.volume.geometry, grid.plane)
    position = target.first + fraction * (target.count - 1) * target.step
    return Match(position, f"different frames of reference: matched at {fraction:.0%} along the {grid.axis_name} axis")


def compare_sheet(views: list[PlaneView], window: WindowSpec, max_size: int) -> tuple[np.ndarray, DisplayImage]:
    """The views side by side in one window (the first view's, resolved), each under its date and description."""
    first = views[0].display(window)
    if first.window_center is not None and first.window_width is not None:
        window = WindowSpec.explicit(first.window_center, first.window_width)
    displays = [first] + [view.display(window) for view in views[1:]]
    panels = [picture(display, view.attributes, max_size) for view, display in zip(views, displays)]
    scale = label_scale_for(*panels[0].shape[:2])
    return side_by_side(panels, [view.label() for view in views], scale=scale), first


@dataclass(frozen=True)
class PlaneRequest:
    """Which plane get_image_frame was asked for: a plane (default: the acquired one) at a position or index (or
    through a frame addressed by instance number or ID), with an optional slab."""

    plane: Plane | None
    position_mm: float | None
    slice_index: int | None
    slab_mm: float
    projection: Projection
    instance_number: int | None = None
    frame_index: int | None = None
    image_frame_id: str | None = None


def requested_view(source: SeriesVolume, request: PlaneRequest) -> PlaneView:
    """The plane the request names, sampled."""
    plane = request.plane or acquisition_plane(source)
    position, index = request.position_mm, request.slice_index
    one_address(request.image_frame_id, request.instance_number, index, request.frame_index)
    if request.instance_number is not None or request.image_frame_id:
        if position is not None or index is not None:
            raise invalid("Give one position: position_mm, slice_index, or a frame (instance_number/image_frame_id).")
        target = locate(
            source.document,
            image_frame_id=request.image_frame_id,
            series_uid=source.series.uid,
            instance_number=request.instance_number,
            frame_index=request.frame_index,
        )
        placed = frame_position(target)
        if placed is None or placed[0] != plane:
            raise invalid(
                f"That frame is not a {plane} image, so it gives no {plane} position.",
                "Give position_mm (or slice_index) instead.",
            )
        position = placed[1]
    return view_plane(
        source, plane, position=position, index=index, slab=request.slab_mm, projection=request.projection
    )


def plane_caption(view: PlaneView, shown: tuple[int, int], window: DisplayImage) -> str:
    """A patient-free description of a plane: series, plane and position, grid, window, volume notes."""
    series, grid = view.source.series, view.grid
    parts = [
        series.modality or "?",
        series.description or "",
        view.where(),
        f"{grid.width}×{grid.height} at {grid.spacing:.3g} mm shown {shown[0]}×{shown[1]}",
    ]
    if window.window_center is not None and window.window_width is not None:
        parts.append(window_text(window.window_center, window.window_width, window.window_source, view.units))
    return " · ".join(p for p in parts if p) + notes(view)


@dataclass(frozen=True)
class RenderedView:
    """A plane as shown: the encoded picture, its size and the window that made it."""

    data: bytes
    width: int
    height: int
    display: DisplayImage


def render_view(view: PlaneView, window: WindowSpec, max_size: int, image_format: ImageFormat) -> RenderedView:
    """The plane windowed, fitted in max_size, with orientation letters, encoded."""
    display = view.display(window)
    image = picture(display, view.attributes, max_size)
    height, width = image.shape[:2]
    return RenderedView(encode_image(image, image_format), width, height, display)


def plane_answer(rt: Runtime, source: SeriesVolume, request: PlaneRequest, delivery: Delivery) -> FrameAnswer:
    """get_image_frame for a plane of the series volume."""
    view = requested_view(source, request)
    rendered = render_view(view, delivery.window, delivery.max_size, delivery.image_format)
    data, display, width, height = rendered.data, rendered.display, rendered.width, rendered.height
    answer = FrameAnswer(
        caption=plane_caption(view, (width, height), display),
        width=width,
        height=height,
        series_instance_uid=source.series.uid,
        slice_index=view.grid.index,
        slice_count=view.grid.count,
        window_center=display.window_center,
        window_width=display.window_width,
        window_source=display.window_source,
        plane=view.grid.plane,
        position_mm=round(view.grid.position, 3),
    )
    delivery.deliver(rt, answer, data)
    if delivery.save_as and delivery.save_kind == "modality":
        units = view.units or "modality units"
        note = f"{units}, float32 .npy, {view.grid.width}×{view.grid.height} at {view.grid.spacing:.3g} mm"
        delivery.save_array(rt, answer, view.samples.values, note)
    return answer


def comparison_answer(
    rt: Runtime, datastore_id: str, source: SeriesVolume, request: PlaneRequest, compare_with: str, delivery: Delivery
) -> FrameAnswer:
    """get_image_frame with compare_with: this series and the other (or the prior) side by side."""
    if compare_with != "prior" and not re.fullmatch(ID_PATTERN, compare_with):
        raise invalid("compare_with must be 'prior' or an image set ID (32 lowercase letters/digits).")
    if delivery.save_as and delivery.save_kind != "rendered":
        raise invalid("A comparison saves the picture only.", "Use save_kind=rendered, or save each plane alone.")
    view = requested_view(source, request)
    if compare_with == "prior":
        other = find_prior(rt, datastore_id, source.image_set_id, source.document, source.series)
    else:
        other = named(rt, datastore_id, compare_with, source.series.modality)
    other_source = open_volume(rt, datastore_id, other.image_set_id, other.version, other.series_uid)
    match = matched_position(view, other_source)
    try:
        other_view = view_plane(
            other_source, view.grid.plane, position=match.position, slab=view.slab, projection=view.projection
        )
    except HealthImagingError as exc:
        raise invalid(f"The other series has no image here: {exc.message}", "Choose another position_mm.") from None
    size = delivery.max_size
    while True:
        sheet, display = compare_sheet([view, other_view], delivery.window, size)
        data = encode_image(sheet, delivery.image_format)
        if len(data) <= MAX_BYTES or size <= MIN_TILE:
            break
        size = max(MIN_TILE, int(size * 0.8))
    height, width = sheet.shape[:2]
    window = ""
    if display.window_center is not None and display.window_width is not None:
        level, span = display.window_center, display.window_width
        window = " · same " + window_text(level, span, display.window_source, view.units)
    grid = view.grid
    caption = (
        f"Left: {view.label()} (this image set) · right: {other_view.label()} (image set {other.image_set_id}, "
        f"{other.how}) · {grid.plane} at {grid.axis_name} = {grid.position:.1f} mm | {other_view.grid.position:.1f} mm"
        f" ({match.how}){window} · shown {width}×{height}"
    )
    answer = FrameAnswer(
        caption=caption,
        width=width,
        height=height,
        series_instance_uid=source.series.uid,
        slice_index=grid.index,
        slice_count=grid.count,
        window_center=display.window_center,
        window_width=display.window_width,
        window_source=display.window_source,
        plane=grid.plane,
        position_mm=round(grid.position, 3),
        compared_image_set_id=other.image_set_id,
    )
    delivery.deliver(rt, answer, data)
    return answer
