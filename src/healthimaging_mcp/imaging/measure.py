"""Measurements in real units: region statistics, masks of circles, rectangles and polygons on a plane, and
regions grown in 3-D from a seed within a value range. Pixel (column, row) coordinates name pixel centres.
No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GrownRegion",
    "RegionStats",
    "circle_mask",
    "grow_region",
    "polygon_mask",
    "rectangle_mask",
    "region_stats",
]

Point = tuple[float, float]


@dataclass(frozen=True)
class RegionStats:
    """Statistics of the values inside a region."""

    count: int
    mean: float
    sd: float
    minimum: float
    maximum: float
    median: float


def region_stats(values: np.ndarray) -> RegionStats | None:
    """Statistics of `values` (the region's samples, any shape); None when there are none."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    if not flat.size:
        return None
    return RegionStats(
        count=int(flat.size),
        mean=float(flat.mean()),
        sd=float(flat.std(ddof=1)) if flat.size > 1 else 0.0,
        minimum=float(flat.min()),
        maximum=float(flat.max()),
        median=float(np.median(flat)),
    )


def circle_mask(shape: tuple[int, int], center: Point, radius: float) -> np.ndarray:
    """Pixels whose centre lies within `radius` pixels of `center` (column, row)."""
    rows, columns = np.ogrid[: shape[0], : shape[1]]
    mask: np.ndarray = (columns - center[0]) ** 2 + (rows - center[1]) ** 2 <= radius * radius
    return mask


def rectangle_mask(shape: tuple[int, int], corner: Point, opposite: Point) -> np.ndarray:
    """Pixels whose centre lies in the axis-aligned rectangle between two corners (column, row), edges included."""
    rows, columns = np.ogrid[: shape[0], : shape[1]]
    low_c, high_c = sorted((corner[0], opposite[0]))
    low_r, high_r = sorted((corner[1], opposite[1]))
    mask: np.ndarray = (columns >= low_c) & (columns <= high_c) & (rows >= low_r) & (rows <= high_r)
    return mask


def polygon_mask(shape: tuple[int, int], vertices: Sequence[Point]) -> np.ndarray:
    """Pixels whose centre lies inside the polygon or on its edges (even-odd rule), one scanline at a time."""
    rows = np.arange(shape[0], dtype=np.float64)
    mask: np.ndarray = _scanline_fill(shape, vertices, rows - _EDGE) | _scanline_fill(shape, vertices, rows + _EDGE)
    return mask


_EDGE = 1e-6  # pixel centres this close to an edge count as inside


def _scanline_fill(shape: tuple[int, int], vertices: Sequence[Point], rows: np.ndarray) -> np.ndarray:
    """Even-odd fill, each image row tested at the height given in `rows` (half-open at vertices)."""
    height, width = shape
    points = np.asarray(vertices, dtype=np.float64)
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    at = rows[:, None]
    crosses = ((y0 <= at) & (at < y1)) | ((y1 <= at) & (at < y0))
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = x0 + (at - y0) * (x1 - x0) / (y1 - y0)
    xs = np.where(crosses, xs, np.inf)
    xs.sort(axis=1)
    starts, ends = xs[:, 0::2], xs[:, 1::2]
    pairs = min(starts.shape[1], ends.shape[1])
    starts, ends = starts[:, :pairs], ends[:, :pairs]
    real = np.isfinite(starts) & np.isfinite(ends)
    row_index = np.broadcast_to(np.arange(height)[:, None], starts.shape)[real]
    first = np.clip(np.ceil(starts[real] - _EDGE), 0, width).astype(np.intp)
    last = np.clip(np.floor(ends[real] + _EDGE) + 1, 0, width).astype(np.intp)
    coverage = np.zeros((height, width + 1), dtype=np.int32)
    np.add.at(coverage, (row_index, first), 1)
    np.add.at(coverage, (row_index, last), -1)
    mask: np.ndarray = np.cumsum(coverage, axis=1)[:, :width] > 0
    return mask


@dataclass(frozen=True)
class GrownRegion:
    """The voxels connected to a seed within a value range: flat indices, and how many in each slice."""

    indices: np.ndarray
    per_slice: np.ndarray


def grow_region(
    voxels: np.ndarray,
    seed: tuple[int, int, int],
    low: float,
    high: float,
    *,
    gaps: frozenset[int] = frozenset(),
    max_voxels: int | None = None,
) -> GrownRegion:
    """Voxels 6-connected to `seed` whose value is within [low, high] (stored units), never across a gap
    (no link between slices k and k + 1 for k in `gaps`). Breadth first, one numpy step per layer."""
    slices, rows, columns = voxels.shape
    flat = voxels.reshape(-1)
    plane = rows * columns
    start = int(np.ravel_multi_index(seed, voxels.shape))
    if not low <= float(flat[start]) <= high:
        raise ValueError("the seed's value is outside the range")
    seen = np.zeros(flat.size, dtype=bool)
    seen[start] = True
    blocked_up = np.zeros(slices, dtype=bool)  # no step from slice k to k + 1
    blocked_up[[k for k in gaps if 0 <= k < slices]] = True
    frontier = np.array([start], dtype=np.intp)
    found = [frontier]
    total = 1
    while frontier.size:
        k, rest = np.divmod(frontier, plane)
        r, c = np.divmod(rest, columns)
        steps = [
            frontier[c < columns - 1] + 1,
            frontier[c > 0] - 1,
            frontier[r < rows - 1] + columns,
            frontier[r > 0] - columns,
            frontier[(k < slices - 1) & ~blocked_up[k]] + plane,
            frontier[(k > 0) & ~blocked_up[np.maximum(k - 1, 0)]] - plane,
        ]
        neighbours = np.unique(np.concatenate(steps))
        neighbours = neighbours[~seen[neighbours]]
        seen[neighbours] = True
        values = flat[neighbours]
        frontier = neighbours[(values >= low) & (values <= high)]
        found.append(frontier)
        total += frontier.size
        if max_voxels is not None and total > max_voxels:
            raise ValueError(f"the region grows beyond {max_voxels} voxels")
    indices = np.concatenate(found)
    return GrownRegion(indices, np.bincount(indices // plane, minlength=slices))
