"""Measuring in real units: measure_image (point value, distance, region statistics, grown region volume) on any
plane of a series volume, optionally with the measurement drawn on the image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field, PrivateAttr

from ..errors import invalid
from ..imaging.measure import (
    GrownRegion,
    RegionStats,
    circle_mask,
    grow_region,
    polygon_mask,
    rectangle_mask,
    region_stats,
)
from ..imaging.montage import MAX_BYTES
from ..imaging.overlay import draw_marker, draw_outline, draw_segment, to_rgb
from ..imaging.reformat import PLANES, Plane, sample_plane, trilinear
from ..imaging.render import ImageFormat, display_size, encode_image
from ..imaging.resample import resize
from ..imaging.volume import Volume
from ..imaging.window import WindowSpec
from ..runtime import Runtime
from .common import DatastoreIdArg, ImageSetIdArg, SaveAsArg, SeriesUidArg
from .image_answers import Delivery, Savable
from .planes import PlaneView, acquisition_plane, view_plane
from .registry import READ_ONLY, Toolset
from .series_volumes import open_volume

toolset = Toolset()

Shape = Literal["point", "line", "circle", "rectangle", "polygon", "region"]
MAX_REGION_VOXELS = 8_000_000
IMAGE_SIZE = 512
_POINTS_NEEDED = {"point": (1, 1), "line": (2, 2), "circle": (1, 1), "rectangle": (2, 2), "polygon": (3, 64)}


class Statistics(BaseModel):
    """Statistics of the values inside a region, in the answer's units."""

    mean: float
    sd: float
    min: float
    max: float
    median: float
    pixel_count: int
    area_mm2: float | None = None  # planar regions
    volume_ml: float | None = None  # grown regions

    @classmethod
    def of(cls, stats: RegionStats, *, area_mm2: float | None = None, volume_ml: float | None = None) -> Statistics:
        return cls(
            mean=round(stats.mean, 2),
            sd=round(stats.sd, 2),
            min=round(stats.minimum, 2),
            max=round(stats.maximum, 2),
            median=round(stats.median, 2),
            pixel_count=stats.count,
            area_mm2=None if area_mm2 is None else round(area_mm2, 2),
            volume_ml=None if volume_ml is None else round(volume_ml, 3),
        )


class Measurement(Savable):
    plane: str
    position_mm: float
    units: str
    value: float | None = None
    length_mm: float | None = None
    statistics: Statistics | None = None
    note: str | None = None  # what the numbers are of, when not what was shown (the viewer's slabs)
    _text: str = PrivateAttr(default="")

    def describe(self, text: str) -> None:
        self._text = text

    def render(self) -> str:
        return self._text + (f" · {self.note}" if self.note else "") + self.saved_text()


@toolset.tool(READ_ONLY)
def measure_image(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    shape: Shape,
    points: Annotated[list[list[float]], Field(description="[column, row] on the plane's image, or [x, y, z] mm")],
    radius_mm: float | None = None,
    value_range: Annotated[list[float] | None, Field(description="region: [low, high]")] = None,
    datastore_id: DatastoreIdArg = None,
    series_instance_uid: SeriesUidArg = None,
    plane: Plane | None = None,
    position_mm: float | None = None,
    include_image: bool = False,
    save_as: SaveAsArg = None,
) -> Measurement:
    """Measure in real units (HU for CT) on a plane as get_image_frame shows it: point value, line length, circle/
    rectangle/polygon stats and area, or a region grown from a seed within value_range (mL); include_image/save_as:
    the plane with the measurement drawn."""
    check_arguments(shape, points, radius_mm, value_range)
    datastore_id = rt.resolve_datastore(datastore_id)
    source = open_volume(rt, datastore_id, image_set_id, None, series_instance_uid)
    chosen = plane or acquisition_plane(source)
    given = np.array(points, dtype=np.float64)
    if given.shape[1] == 3 and position_mm is None:
        position_mm = float(given[0 if shape == "region" else slice(None), PLANES[chosen].axis].mean())
    view = view_plane(source, chosen, position=position_mm)
    return measure_on(rt, view, shape, given, radius_mm, value_range, include_image=include_image, save_as=save_as)


def measure_on(
    rt: Runtime,
    view: PlaneView,
    shape: Shape,
    given: np.ndarray,
    radius_mm: float | None,
    value_range: list[float] | None,
    *,
    include_image: bool = False,
    save_as: str | None = None,
) -> Measurement:
    """A measurement on a sampled plane, `given` as (column, row) pixels of its grid or (x, y, z) patient mm; the
    plane with the measurement drawn shown (include_image) and saved to the output folder (save_as) on request."""
    grid = view.grid
    if given.shape[1] == 3:
        pixels, _ = grid.to_pixels(given)
        patient = given
    else:
        pixels, patient = given, grid.to_patient(given)
    measured = _measure(view, shape, pixels, patient, radius_mm, value_range)
    units = view.units or "modality units (unnamed)"
    answer = Measurement(
        plane=grid.plane,
        position_mm=round(grid.position, 3),
        units=units,
        value=measured.value,
        length_mm=measured.length_mm,
        statistics=measured.statistics,
    )
    where = ", ".join("(" + ", ".join(f"{v:.1f}" for v in point) + ")" for point in patient)
    answer.describe(
        f"{measured.summary(units)} · {view.source.series.modality or '?'} {view.where()} · points (x, y, z mm) "
        + where
    )
    if include_image or save_as:
        data, image_format = _drawing(view, shape, pixels, measured)
        Delivery(WindowSpec.from_dicom(), IMAGE_SIZE, image_format, include_image, save_as).deliver(rt, answer, data)
    return answer


def check_arguments(
    shape: Shape, points: list[list[float]], radius_mm: float | None, value_range: list[float] | None
) -> None:
    low, high = _POINTS_NEEDED.get(shape, (1, 1))
    if not low <= len(points) <= high:
        wanted = f"{low}" if low == high else f"{low} to {high}"
        raise invalid(f"A {shape} takes {wanted} point{'s' * (high > 1)}; got {len(points)}.")
    sizes = {len(point) for point in points}
    if shape == "region" and (value_range is None or len(value_range) != 2):
        raise invalid("A region needs value_range [low, high] in the image's units (e.g. HU).")
    if sizes not in ({2}, {3}):
        raise invalid("Give every point as [column, row] (pixels) or every point as [x, y, z] (patient mm).")
    if any(not np.isfinite(v) for point in points for v in point):
        raise invalid("Point coordinates must be finite numbers.")
    if shape == "circle" and (radius_mm is None or radius_mm <= 0):
        raise invalid("A circle needs radius_mm (more than 0).")
    if shape != "circle" and radius_mm is not None:
        raise invalid(f"radius_mm is for circles, not a {shape}: leave it out.")
    if shape != "region" and value_range is not None:
        raise invalid(f"value_range is for regions, not a {shape}: leave it out.")


@dataclass
class Measured:
    """What one measurement found."""

    shape: Shape
    value: float | None = None
    length_mm: float | None = None
    statistics: Statistics | None = None
    mask: np.ndarray | None = None  # the region on the plane's grid
    grown: GrownRegion | None = None  # a region grown in 3-D (its cut by the plane is drawn)

    def summary(self, units: str) -> str:
        if self.value is not None:
            return f"Value {self.value:g} {units}"
        parts = [f"{self.shape.capitalize()}"]
        if self.length_mm is not None:
            parts.append(f"length {self.length_mm:.1f} mm")
        stats = self.statistics
        if stats is not None:
            parts.append(
                f"mean {stats.mean:g}, SD {stats.sd:g}, min {stats.min:g}, max {stats.max:g}, median {stats.median:g} "
                f"{units} over {stats.pixel_count} {'voxels' if stats.volume_ml is not None else 'pixels'}"
            )
            if stats.area_mm2 is not None:
                parts.append(f"area {stats.area_mm2:g} mm²")
            if stats.volume_ml is not None:
                parts.append(f"volume {stats.volume_ml:g} mL")
        return ": ".join(parts[:1]) + (" " + ", ".join(parts[1:]) if len(parts) > 1 else "")


def _measure(
    view: PlaneView,
    shape: Shape,
    pixels: np.ndarray,
    patient: np.ndarray,
    radius_mm: float | None,
    value_range: list[float] | None,
) -> Measured:
    grid, samples = view.grid, view.samples
    size = (grid.height, grid.width)
    if shape == "point":
        column, row = (round(float(v)) for v in pixels[0])
        if not (0 <= row < grid.height and 0 <= column < grid.width) or not samples.valid[row, column]:
            raise invalid(
                f"Point ({pixels[0][0]:.1f}, {pixels[0][1]:.1f}) is outside the image ({grid.width}×{grid.height})."
            )
        return Measured(shape, value=round(float(samples.values[row, column]), 2))
    if shape == "line":
        return _line(view.source.volume, shape, patient)
    if shape == "region":
        assert value_range is not None
        return _region(view, patient[0], value_range)
    if shape == "circle":
        assert radius_mm is not None
        mask = circle_mask(size, (pixels[0][0], pixels[0][1]), radius_mm / grid.spacing)
    elif shape == "rectangle":
        mask = rectangle_mask(size, (pixels[0][0], pixels[0][1]), (pixels[1][0], pixels[1][1]))
    else:
        mask = polygon_mask(size, [(p[0], p[1]) for p in pixels])
    mask &= samples.valid
    stats = region_stats(samples.values[mask])
    if stats is None:
        raise invalid(f"The {shape} covers no pixel of the image ({grid.width}×{grid.height} pixels).")
    return Measured(shape, statistics=Statistics.of(stats, area_mm2=stats.count * grid.spacing**2), mask=mask)


def _line(volume: Volume, shape: Shape, patient: np.ndarray) -> Measured:
    """The distance between two points (mm, in 3-D) and the statistics of the values along it."""
    start, end = patient[0], patient[1]
    length = float(np.linalg.norm(end - start))
    step = min(volume.geometry.spacing) / 2
    count = max(2, int(np.ceil(length / step)) + 1)
    along = start + np.outer(np.linspace(0.0, 1.0, count), end - start)
    values, valid = trilinear(volume.voxels, volume.geometry.to_index(along), volume.geometry.gaps)
    stats = region_stats(volume.modality(values[valid]))
    return Measured(shape, length_mm=round(length, 2), statistics=Statistics.of(stats) if stats else None)


def _region(view: PlaneView, seed_mm: np.ndarray, value_range: list[float]) -> Measured:
    """The region grown in 3-D from the seed within the range: its volume and statistics."""
    volume = view.source.volume
    geometry = volume.geometry
    low, high = sorted(value_range)
    seed_index = np.rint(geometry.to_index(seed_mm[None])[0]).astype(int)
    if np.any(seed_index < 0) or np.any(seed_index >= np.array(geometry.shape)):
        raise invalid("The seed point is outside the series.")
    seed = (int(seed_index[0]), int(seed_index[1]), int(seed_index[2]))
    bounds = sorted((volume.stored(low), volume.stored(high)))
    try:
        grown = grow_region(volume.voxels, seed, bounds[0], bounds[1], gaps=geometry.gaps, max_voxels=MAX_REGION_VOXELS)
    except ValueError as exc:
        seed_value = float(volume.modality(np.asarray(volume.voxels[seed])))
        raise invalid(f"Cannot grow the region: {exc} (seed value {seed_value:g}).", "Adjust value_range.") from None
    voxel_area = geometry.spacing[0] * geometry.spacing[1]
    volume_ml = float((grown.per_slice * geometry.slice_thickness()).sum() * voxel_area / 1000.0)
    stats = region_stats(volume.modality(volume.voxels.reshape(-1)[grown.indices]))
    assert stats is not None
    return Measured("region", statistics=Statistics.of(stats, volume_ml=volume_ml), grown=grown)


def _cut(view: PlaneView, grown: GrownRegion) -> np.ndarray:
    """Where a grown region meets the plane, on the plane's grid."""
    inside = np.zeros(view.source.volume.voxels.shape, dtype=np.uint8)
    inside.reshape(-1)[grown.indices] = 1
    membership = Volume(inside, view.source.volume.geometry, 1.0, 0.0, {})
    mask: np.ndarray = sample_plane(membership, view.grid).values >= 0.5
    return mask


def _drawing(view: PlaneView, shape: Shape, pixels: np.ndarray, measured: Measured) -> tuple[bytes, ImageFormat]:
    """The plane (in the series' window) with the measurement drawn in colour, at most IMAGE_SIZE pixels a side."""
    display = view.display(WindowSpec.from_dicom())
    grid = view.grid
    height, width = display_size(grid.height, grid.width, None, IMAGE_SIZE)
    scale = width / grid.width
    canvas = to_rgb(
        resize(display.pixels, height, width) if (height, width) != display.pixels.shape else display.pixels
    )
    points = pixels * scale
    region = _cut(view, measured.grown) if measured.grown is not None else measured.mask
    if region is not None:
        draw_outline(canvas, region if scale == 1 else resize(region, height, width))
    if shape == "line":
        draw_segment(canvas, points[0], points[1])
    if shape in ("point", "region"):
        draw_marker(canvas, points[0])
    data = encode_image(canvas, "png")
    return (data, "png") if len(data) <= MAX_BYTES else (encode_image(canvas, "jpeg"), "jpeg")
