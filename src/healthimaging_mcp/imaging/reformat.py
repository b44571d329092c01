"""Axial, coronal and sagittal planes through a volume, and thick slabs (MIP, MinIP, mean) of them.

A plane is a grid of square samples in patient space (DICOM LPS: x to the patient's left, y posterior, z head),
laid out as radiologists look at it: axial seen from the feet (patient's right on the image's left, anterior up),
coronal from the front (right on the left, head up), sagittal from the patient's left (anterior on the left,
head up). Its position is the patient coordinate along the plane's axis: z for axial, y for coronal, x for
sagittal. Samples are interpolated linearly; where the volume has no data (outside it, in a gap) they are
marked invalid. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .volume import Volume, VolumeGeometry

__all__ = [
    "AXIS_NAMES",
    "PLANES",
    "PLANE_NAMES",
    "Plane",
    "PlaneGrid",
    "PlaneSamples",
    "Projection",
    "nearest_plane",
    "plane_grid",
    "sample_plane",
    "trilinear",
]

Plane = Literal["axial", "coronal", "sagittal"]
Projection = Literal["mip", "minip", "mean"]


@dataclass(frozen=True)
class PlaneAxes:
    across: tuple[float, float, float]  # columns grow along it
    down: tuple[float, float, float]  # rows grow along it
    axis: int  # the patient axis (0 = x, 1 = y, 2 = z) the plane's position is measured along


PLANES: dict[str, PlaneAxes] = {
    "axial": PlaneAxes((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), 2),
    "coronal": PlaneAxes((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), 1),
    "sagittal": PlaneAxes((0.0, 1.0, 0.0), (0.0, 0.0, -1.0), 0),
}
AXIS_NAMES = "xyz"
PLANE_NAMES: tuple[Plane, Plane, Plane] = ("sagittal", "coronal", "axial")  # by the axis their position is along
_ALIGNED = 1 - 1e-4  # |cos| above which a plane axis runs along a voxel axis
_EDGE = 0.5  # samples up to half a voxel outside the first/last voxel take that voxel's value


def nearest_plane(geometry: VolumeGeometry) -> Plane:
    """The named plane closest to the acquired slices."""
    return PLANE_NAMES[int(np.argmax(np.abs(geometry.normal)))]


@dataclass(frozen=True, eq=False)
class PlaneGrid:
    """Where the samples of one plane lie: pixel (column j, row i) is at origin + j·spacing·across + i·spacing·down."""

    plane: Plane
    origin: np.ndarray
    across: np.ndarray
    down: np.ndarray
    spacing: float  # mm between samples, both ways
    width: int
    height: int
    position: float  # mm along the plane's axis
    index: int  # the position's index along the axis (nearest when between two)
    count: int  # positions along the axis, `step` mm apart, from `first`
    step: float
    first: float

    @property
    def axis(self) -> int:
        return PLANES[self.plane].axis

    @property
    def normal(self) -> np.ndarray:
        unit = np.zeros(3)
        unit[self.axis] = 1.0
        return unit

    @property
    def orientation(self) -> list[float]:
        """ImageOrientationPatient of the plane image (row then column direction)."""
        return [float(v) for v in (*self.across, *self.down)]

    @property
    def axis_name(self) -> str:
        return AXIS_NAMES[self.axis]

    def position_at(self, index: int) -> float:
        return self.first + index * self.step

    def to_patient(self, pixels: np.ndarray) -> np.ndarray:
        """(m, 2) (column, row) → (m, 3) patient mm on this plane."""
        pixels = np.atleast_2d(np.asarray(pixels, dtype=np.float64))
        across = np.outer(pixels[:, 0] * self.spacing, self.across)
        result: np.ndarray = self.origin + across + np.outer(pixels[:, 1] * self.spacing, self.down)
        return result

    def to_pixels(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(m, 3) patient mm → ((m, 2) (column, row) on this plane, (m,) mm off the plane along its axis)."""
        offset = np.atleast_2d(np.asarray(points, dtype=np.float64)) - self.origin
        pixels = np.stack([offset @ self.across, offset @ self.down], axis=1) / self.spacing
        return pixels, offset @ self.normal


def plane_grid(
    geometry: VolumeGeometry, plane: Plane, *, position: float | None = None, index: int | None = None
) -> PlaneGrid:
    """The grid of `plane` through the volume at `position` mm (or the `index`-th position; default the centre).

    Samples are square, as fine as the acquired pixels; positions along the axis are as far apart as the voxels
    along it (the slice spacing for the acquired plane, so its positions are the slices themselves)."""
    axes = PLANES[plane]
    across, down = np.array(axes.across), np.array(axes.down)
    corners = geometry.corners()
    spacing = float(min(geometry.spacing))
    low_a, high_a = _span(corners @ across)
    low_d, high_d = _span(corners @ down)
    low, high = _span(corners[:, axes.axis])
    alignment = [abs(float(geometry.axis_direction(v)[axes.axis])) for v in range(3)]
    step = geometry.axis_spacing(int(np.argmax(alignment)))
    count = int(np.floor((high - low) / step + 1e-6)) + 1
    if index is not None:
        if not 0 <= index < count:
            raise ValueError(f"index must be within 0-{count - 1}")
        position = low + index * step
    elif position is None:
        position = low + (count - 1) // 2 * step
    elif not low - step / 2 <= position <= high + step / 2:
        name = AXIS_NAMES[axes.axis]
        raise ValueError(f"{name} = {position:g} mm is outside the series ({low:.1f} to {high:.1f} mm)")
    nearest = int(np.clip(round((position - low) / step), 0, count - 1))
    normal = np.zeros(3)
    normal[axes.axis] = 1.0
    return PlaneGrid(
        plane=plane,
        origin=across * low_a + down * low_d + normal * position,
        across=across,
        down=down,
        spacing=spacing,
        width=int(np.floor((high_a - low_a) / spacing + 1e-6)) + 1,
        height=int(np.floor((high_d - low_d) / spacing + 1e-6)) + 1,
        position=float(position),
        index=nearest,
        count=count,
        step=step,
        first=low,
    )


def _span(values: np.ndarray) -> tuple[float, float]:
    return float(values.min()), float(values.max())


@dataclass(frozen=True)
class PlaneSamples:
    """Modality values (float32, height × width) of a plane or slab, and where the volume had data."""

    values: np.ndarray
    valid: np.ndarray


def sample_plane(volume: Volume, grid: PlaneGrid, *, slab: float = 0.0, projection: Projection = "mip") -> PlaneSamples:
    """The plane's samples; with `slab` mm, the maximum, minimum or mean of the planes within it."""
    offsets = _slab_offsets(slab, grid.step)
    if volume.slope < 0 and projection != "mean":  # the voxels hold stored values: their order is reversed
        projection = "minip" if projection == "mip" else "mip"
    geometry = volume.geometry
    axes = _voxel_axes(geometry, grid)
    if axes is not None:
        stored, valid = _sample_aligned(volume, grid, offsets, axes, projection)
    else:
        stored, valid = _sample_any(volume, grid, offsets, projection)
    values = volume.modality(stored)
    values[~valid] = volume.background
    return PlaneSamples(values, valid)


def _slab_offsets(slab: float, step: float) -> np.ndarray:
    """Offsets (mm) of the planes a slab of `slab` mm projects: one per `step`, centred (just 0 for no slab)."""
    count = max(1, round(slab / step)) if slab > 0 else 1
    return (np.arange(count) - (count - 1) / 2.0) * step


def _voxel_axes(geometry: VolumeGeometry, grid: PlaneGrid) -> tuple[int, int, int] | None:
    """The voxel axes (for down, across, the plane axis) when each runs along one of them and the stack is not
    sheared; None otherwise (then every sample is interpolated in 3-D)."""
    if geometry.sheared:
        return None
    found = []
    for direction in (grid.down, grid.across, grid.normal):
        dots = [abs(float(np.dot(geometry.axis_direction(v), direction))) for v in range(3)]
        best = int(np.argmax(dots))
        if dots[best] < _ALIGNED:
            return None
        found.append(best)
    if len(set(found)) != 3:
        return None
    return found[0], found[1], found[2]


def _interpolate(
    array: np.ndarray, axis: int, fractions: np.ndarray, gaps: frozenset[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of `array` along `axis` at fractional indices; (values, valid per index)."""
    size = array.shape[axis]
    valid = (fractions >= -_EDGE) & (fractions <= size - 1 + _EDGE)
    clipped = np.clip(fractions, 0, size - 1)
    low = np.minimum(np.floor(clipped).astype(np.intp), max(size - 2, 0))
    weight = (clipped - low).astype(np.float32)
    if gaps:
        inside_gap = np.isin(low, list(gaps)) & (weight > 1e-6) & (weight < 1 - 1e-6)
        valid &= ~inside_gap
    if size == 1 or not np.any(weight > 1e-6):
        start = int(low[0])
        if low.size == size and np.array_equal(low, np.arange(start, start + low.size)):
            return array.astype(np.float32, copy=False), valid  # every index, in order: nothing to move
        return np.take(array, low, axis=axis).astype(np.float32, copy=False), valid
    high = np.minimum(low + 1, size - 1)
    shape = [1] * array.ndim
    shape[axis] = -1
    w = weight.reshape(shape)
    a = np.take(array, low, axis=axis).astype(np.float32)
    b = np.take(array, high, axis=axis).astype(np.float32)
    return a + (b - a) * w, valid


def _project(planes: list[np.ndarray], valids: list[np.ndarray], projection: Projection) -> tuple[np.ndarray, Any]:
    if len(planes) == 1:
        return planes[0], valids[0]
    stack = np.stack(planes)
    mask = np.stack([np.broadcast_to(v, p.shape) for p, v in zip(planes, valids)])
    valid = mask.any(axis=0)
    if projection == "mip":
        result = np.where(mask, stack, -np.inf).max(axis=0)
    elif projection == "minip":
        result = np.where(mask, stack, np.inf).min(axis=0)
    else:
        counts = np.maximum(mask.sum(axis=0), 1)
        result = np.where(mask, stack, 0).sum(axis=0) / counts
    return np.where(valid, result, 0).astype(np.float32), valid


def _sample_aligned(
    volume: Volume, grid: PlaneGrid, offsets: np.ndarray, axes: tuple[int, int, int], projection: Projection
) -> tuple[np.ndarray, np.ndarray]:
    """Separable sampling when the plane runs along the voxel axes: interpolate along one axis at a time."""
    geometry = volume.geometry
    down_axis, across_axis, normal_axis = axes
    gaps = geometry.gaps

    def fractions(points: np.ndarray, axis: int) -> np.ndarray:
        result: np.ndarray = geometry.to_index(points)[:, axis]
        return result

    f_down = fractions(grid.to_patient(np.stack([np.zeros(grid.height), np.arange(grid.height)], axis=1)), down_axis)
    f_across = fractions(grid.to_patient(np.stack([np.arange(grid.width), np.zeros(grid.width)], axis=1)), across_axis)
    f_normal = fractions(grid.origin + np.outer(offsets, grid.normal), normal_axis)
    planes, valids = [], []
    for f in f_normal:
        plane, ok = _interpolate(volume.voxels, normal_axis, np.array([f]), gaps if normal_axis == 0 else frozenset())
        if bool(ok[0]):
            planes.append(np.squeeze(plane, axis=normal_axis))
            valids.append(np.ones(1, dtype=bool))
    if not planes:
        return np.zeros((grid.height, grid.width), np.float32), np.zeros((grid.height, grid.width), dtype=bool)
    remaining = [a for a in range(3) if a != normal_axis]  # the axes of each 2-D plane, in voxel order
    if remaining != [down_axis, across_axis]:
        planes = [p.T for p in planes]
    stored, _ = _project(planes, [v.reshape(1, 1) for v in valids], projection)
    stored, valid_down = _interpolate(stored, 0, f_down, gaps if down_axis == 0 else frozenset())
    stored, valid_across = _interpolate(stored, 1, f_across, gaps if across_axis == 0 else frozenset())
    return stored, np.outer(valid_down, valid_across)


def _sample_any(
    volume: Volume, grid: PlaneGrid, offsets: np.ndarray, projection: Projection
) -> tuple[np.ndarray, np.ndarray]:
    """Trilinear sampling of every grid point (tilted or sheared stacks)."""
    columns, rows = np.meshgrid(np.arange(grid.width), np.arange(grid.height))
    pixels = np.stack([columns.ravel(), rows.ravel()], axis=1)
    base = grid.to_patient(pixels)
    planes, valids = [], []
    for offset in offsets:
        index = volume.geometry.to_index(base + offset * grid.normal)
        values, valid = trilinear(volume.voxels, index, volume.geometry.gaps)
        planes.append(values.reshape(grid.height, grid.width))
        valids.append(valid.reshape(grid.height, grid.width))
    stored, valid = _project(planes, valids, projection)
    return stored, np.asarray(valid, dtype=bool)


def trilinear(voxels: np.ndarray, index: np.ndarray, gaps: frozenset[int]) -> tuple[np.ndarray, np.ndarray]:
    """Values (float32) at fractional (k, r, c) indices, and which lie inside the data (not in a gap)."""
    shape = np.array(voxels.shape)
    valid = np.all((index >= -_EDGE) & (index <= shape - 1 + _EDGE), axis=1)
    clipped = np.clip(index, 0, shape - 1)
    low = np.minimum(np.floor(clipped).astype(np.intp), np.maximum(shape - 2, 0))
    weight = (clipped - low).astype(np.float32)
    if gaps:
        in_gap = np.isin(low[:, 0], list(gaps)) & (weight[:, 0] > 1e-6) & (weight[:, 0] < 1 - 1e-6)
        valid &= ~in_gap
    high = np.minimum(low + 1, shape - 1)
    result = np.zeros(index.shape[0], dtype=np.float32)
    for dk in (0, 1):
        k = high[:, 0] if dk else low[:, 0]
        wk = weight[:, 0] if dk else 1 - weight[:, 0]
        for dr in (0, 1):
            r = high[:, 1] if dr else low[:, 1]
            wr = weight[:, 1] if dr else 1 - weight[:, 1]
            for dc in (0, 1):
                c = high[:, 2] if dc else low[:, 2]
                wc = weight[:, 2] if dc else 1 - weight[:, 2]
                result += voxels[k, r, c].astype(np.float32) * (wk * wr * wc)
    return result, valid
