"""The series viewer (an MCP App): view_series opens it, and app-only tools (hidden from the model) feed it the
study's series and their planes, rendered slices and measurements, computed by the same code as the image tools.

view_series answers like get_image_frame: clients without MCP Apps get the middle slice and its caption; a host
that shows the viewer gets the caption alone (the user sees the slices, and the view hands what they look at to
the model as context).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from ..apps.viewer import ui_meta
from ..errors import ErrorType, HealthImagingError, invalid
from ..imaging.reformat import Plane, Projection, plane_grid
from ..imaging.render import MIME_TYPES
from ..imaging.window import WINDOW_PRESETS, WindowSpec, modality_units
from ..runtime import Runtime
from .common import DatastoreIdArg, ImageSetIdArg, SeriesUidArg, VersionArg
from .frame_pipeline import pick_series
from .frames import get_image_frame
from .image_answers import Pictured
from .measurements import Measurement, Shape, check_arguments, measure_on
from .planes import PlaneView, acquisition_plane, plane_caption, render_view, slab_name, view_plane
from .registry import READ_ONLY, ToolOutput, Toolset
from .series_volumes import SeriesVolume, open_volume
from .study_sheet import study_documents, study_series

toolset = Toolset()

APP_ONLY = ui_meta(["app"])
VIEWER_PLANES: tuple[Plane, Plane, Plane] = ("axial", "coronal", "sagittal")
MAX_SLICE_SIZE = 1024


class SeriesShown(Pictured):
    """What view_series answers: the slice it starts at, captioned (and pictured for clients without a viewer)."""

    caption: str
    series_instance_uid: str | None = None
    slice_index: int
    slice_count: int | None = None
    plane: str | None = None
    position_mm: float | None = None

    def render(self) -> str:
        return self.caption


@toolset.tool(READ_ONLY, meta=ui_meta(["model", "app"]))
def view_series(
    rt: Runtime,
    ctx: Context,
    image_set_id: ImageSetIdArg,
    datastore_id: DatastoreIdArg = None,
    series_instance_uid: SeriesUidArg = None,
    plane: Plane | None = None,
    window: str | None = None,  # as for get_image_frame
) -> SeriesShown:
    """Show the user a series in an interactive viewer (scroll, window, planes, slabs, measure); what they look at
    comes back as context. Clients without viewers get get_image_frame's middle slice."""
    in_viewer = client_supports_apps(ctx)
    datastore_id = rt.resolve_datastore(datastore_id)
    if plane is None:  # numbered as the viewer numbers it: positions of the acquired plane when it makes a volume
        source, _ = volume_or_why_not(rt, datastore_id, image_set_id, None, series_instance_uid)
        plane = acquisition_plane(source) if source else None
    frame = get_image_frame(
        rt,
        image_set_id,
        datastore_id=datastore_id,
        series_instance_uid=series_instance_uid,
        plane=plane,
        window=window,
        include_image=not in_viewer,
    )
    answer = SeriesShown(
        caption=f"Shown in the viewer, starting at: {frame.caption}" if in_viewer else frame.caption,
        series_instance_uid=frame.series_instance_uid,
        slice_index=frame.slice_index,
        slice_count=frame.slice_count,
        plane=frame.plane,
        position_mm=frame.position_mm,
    )
    if frame.image is not None:
        answer.show(*frame.image)
    return answer


class SeriesChoice(BaseModel):
    """A series of the study the viewer can switch to, and the image set holding it."""

    image_set_id: str
    series_instance_uid: str
    modality: str | None = None
    description: str | None = None
    number: int | None = None
    frame_count: int


class PlaneLayout(BaseModel):
    """One plane of the volume: how many positions, where, and its grid (square pixels of spacing_mm)."""

    count: int
    first_mm: float
    step_mm: float
    middle: int
    grid_width: int
    grid_height: int
    spacing_mm: float


class ViewerSeries(ToolOutput):
    """What the viewer shows for a series: the study's series, and this one's planes (none when its frames do not
    make a volume: then it steps through frames with get_image_frame)."""

    datastore_id: str
    image_set_id: str
    version_id: str
    series_instance_uid: str
    modality: str | None = None
    description: str | None = None
    frame_count: int
    units: str | None = None
    acquired_plane: Plane | None = None
    planes: dict[str, PlaneLayout] = Field(default_factory=dict)
    presets: dict[str, list[float]] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    series: list[SeriesChoice]

    def render(self) -> str:
        planes = ", ".join(f"{name} {layout.count}" for name, layout in self.planes.items()) or "frames only"
        return f"{self.modality or '?'} {self.description or ''} · {self.frame_count} frames · planes: {planes}"


@toolset.tool(READ_ONLY, meta=APP_ONLY)
def viewer_series(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    datastore_id: DatastoreIdArg = None,
    series_instance_uid: SeriesUidArg = None,
    version_id: VersionArg = None,
) -> ViewerSeries:
    """For the viewer: the series of the study (across its primary image sets), and the planes of one of this image
    set (default: the one with the most frames)."""
    datastore_id = rt.resolve_datastore(datastore_id)
    version = version_id or rt.documents.latest_version(datastore_id, image_set_id)
    documents = study_documents(rt, datastore_id, image_set_id, version)
    document = documents[0][1]
    imaging = [s for s in document.series if s.frame_count]
    if series_instance_uid or not imaging:
        series = pick_series(document, series_instance_uid)
    else:
        series = max(imaging, key=lambda s: s.frame_count)
    answer = ViewerSeries(
        datastore_id=datastore_id,
        image_set_id=image_set_id,
        version_id=version,
        series_instance_uid=series.uid,
        modality=series.modality,
        description=series.description,
        frame_count=series.frame_count,
        series=[
            SeriesChoice(
                image_set_id=found.image_set_id,
                series_instance_uid=found.series.uid,
                modality=found.series.modality,
                description=found.series.description,
                number=found.series.number,
                frame_count=found.series.frame_count,
            )
            for found in study_series(documents)
        ],
    )
    source, why_not = volume_or_why_not(rt, datastore_id, image_set_id, version, series.uid)
    if source is None:
        answer.notes.append(why_not)
        return answer
    answer.acquired_plane = acquisition_plane(source)
    answer.planes = {name: plane_layout(source, name) for name in VIEWER_PLANES}
    answer.notes += source.volume.notes
    answer.units = modality_units(source.volume.attributes)
    if answer.units == "HU":
        answer.presets = {name: [center, width] for name, (center, width) in WINDOW_PRESETS.items()}
    return answer


def volume_or_why_not(
    rt: Runtime, datastore_id: str, image_set_id: str, version: str | None, series_uid: str | None
) -> tuple[SeriesVolume | None, str]:
    """The series' volume, or None and why not (one slice, colour, too large: the viewer shows it frame by frame)."""
    try:
        return open_volume(rt, datastore_id, image_set_id, version, series_uid), ""
    except HealthImagingError as exc:
        if exc.error_type is not ErrorType.VALIDATION:
            raise
        return None, exc.message


def plane_layout(source: SeriesVolume, plane: Plane) -> PlaneLayout:
    grid = plane_grid(source.volume.geometry, plane)
    return PlaneLayout(
        count=grid.count,
        first_mm=round(grid.first, 3),
        step_mm=round(grid.step, 4),
        middle=grid.index,
        grid_width=grid.width,
        grid_height=grid.height,
        spacing_mm=round(grid.spacing, 4),
    )


class ViewerSlice(Pictured):
    """One rendered plane (or slab) for the viewer: the picture (as get_image_frame draws it), where it lies, the
    window used, and the grid it samples (for placing measurements)."""

    plane: Plane
    index: int
    count: int
    position_mm: float
    width: int
    height: int
    grid_width: int
    grid_height: int
    spacing_mm: float
    window_center: float | None = None
    window_width: float | None = None
    window_source: str
    caption: str

    def render(self) -> str:
        return self.caption


@toolset.tool(READ_ONLY, meta=APP_ONLY)
def viewer_slice(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    plane: Plane,
    index: Annotated[int, Field(ge=0)],
    datastore_id: DatastoreIdArg = None,
    series_instance_uid: SeriesUidArg = None,
    version_id: VersionArg = None,
    window_center: float | None = None,
    window_width: Annotated[float | None, Field(gt=0)] = None,
    slab_mm: Annotated[float, Field(ge=0)] = 0.0,
    projection: Projection = "mip",
    max_size: Annotated[int, Field(ge=64, le=MAX_SLICE_SIZE)] = 512,
    image_format: Literal["png", "jpeg"] = "png",
) -> ViewerSlice:
    """For the viewer: the index-th position of a plane, rendered in a window (default: the series' own)."""
    if (window_center is None) != (window_width is None):
        raise invalid("window_center and window_width go together.")
    window = (
        WindowSpec.from_dicom() if window_width is None else WindowSpec.explicit(window_center or 0.0, window_width)
    )
    view = _plane_view(
        rt, datastore_id, image_set_id, version_id, series_instance_uid, plane, index, slab_mm, projection
    )
    rendered = render_view(view, window, max_size, image_format)
    display, grid = rendered.display, view.grid
    answer = ViewerSlice(
        plane=plane,
        index=grid.index,
        count=grid.count,
        position_mm=grid.position,  # exact: measure_image at this position measures the same plane
        width=rendered.width,
        height=rendered.height,
        grid_width=grid.width,
        grid_height=grid.height,
        spacing_mm=round(grid.spacing, 4),
        window_center=display.window_center,
        window_width=display.window_width,
        window_source=display.window_source,
        caption=plane_caption(view, (rendered.width, rendered.height), display),
    )
    answer.show(rendered.data, MIME_TYPES[image_format])
    return answer


@toolset.tool(READ_ONLY, meta=APP_ONLY)
def viewer_measure(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    plane: Plane,
    index: Annotated[int, Field(ge=0)],
    shape: Shape,
    points: Annotated[list[list[float]], Field(description="[column, row] on the plane's grid")],
    radius_mm: float | None = None,
    datastore_id: DatastoreIdArg = None,
    series_instance_uid: SeriesUidArg = None,
    version_id: VersionArg = None,
    slab_mm: Annotated[float, Field(ge=0)] = 0.0,  # the slab shown: measured on its central thin plane all the same
    projection: Projection = "mip",
) -> Measurement:
    """For the viewer: measure_image on the index-th position of a plane (same computation, same numbers), on the
    thin plane also when a slab is shown (a projection's pixels come from different depths)."""
    if shape == "region":
        raise invalid(
            "The viewer measures points, lines, circles, rectangles and polygons; grow regions with measure_image."
        )
    check_arguments(shape, points, radius_mm, None)
    if {len(point) for point in points} != {2}:
        raise invalid("Give every point as [column, row] on the plane's grid.")
    view = _plane_view(rt, datastore_id, image_set_id, version_id, series_instance_uid, plane, index, 0.0, "mip")
    answer = measure_on(rt, view, shape, np.array(points, dtype=np.float64), radius_mm, None)
    if slab_mm:
        answer.note = (
            f"measured on the central thin plane, not on the {slab_name(slab_mm, projection)} shown "
            "(its pixels come from different depths)"
        )
    return answer


def _plane_view(
    rt: Runtime,
    datastore_id: str | None,
    image_set_id: str,
    version_id: str | None,
    series_uid: str | None,
    plane: Plane,
    index: int,
    slab_mm: float,
    projection: Projection,
) -> PlaneView:
    source = open_volume(rt, rt.resolve_datastore(datastore_id), image_set_id, version_id, series_uid)
    return view_plane(source, plane, index=index, slab=slab_mm, projection=projection)
