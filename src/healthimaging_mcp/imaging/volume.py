"""A series as a volume: its frames sorted along the slice normal into one voxel array, the geometry that maps
voxel indices to patient millimetres (DICOM LPS), and what was odd about the stack (gaps, uneven spacing, other
stacks, localizers), said in words.

Frames are sorted by ImagePositionPatient · normal, never by InstanceNumber. Enhanced multi-frame objects give
one position per frame (Per-frame Functional Groups). No I/O: the caller fetches and decodes the frames the plan
lists and puts them into the `Volume` it allocates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..dicom.values import DicomAttributes, as_floats, as_int, as_list, as_text, find_value, get_value
from .window import apply_modality_lut, modality_lut_of, rescale_of

__all__ = [
    "FrameGeometry",
    "StackPlan",
    "Volume",
    "VolumeError",
    "VolumeGeometry",
    "plan_stack",
]

SAME_POSITION_MM = 1e-3  # closer positions along the normal are the same slice
SAME_DIRECTION = 1e-3  # direction cosines closer than this are the same orientation
GAP_FACTOR = 1.5  # a step this many times the median step is a gap: no data is made up across it
UNEVEN_FACTOR = 1.1  # steps (gaps apart) that differ more than this make uneven spacing
_PHASE_KEYWORDS = ("TemporalPositionIndex", "EchoNumbers", "AcquisitionNumber")
_PHASE_NAMES = ("temporal position", "echo", "acquisition")


class VolumeError(ValueError):
    """The frames cannot make a volume (no geometry, a single slice, colour)."""


@dataclass(frozen=True)
class FrameGeometry:
    """Where one frame lies in patient space, its pixel grid, and what tells it apart from frames at the same
    position (temporal position, echo, acquisition)."""

    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    spacing: tuple[float, float]  # (between rows, between columns) in mm
    rows: int
    columns: int
    localizer: bool = False
    phase: tuple[str, str, str] = ("", "", "")

    @classmethod
    def from_attributes(cls, attrs: DicomAttributes, frame_index: int = 0) -> FrameGeometry | None:
        """The geometry of frame `frame_index` (per-frame values of enhanced objects win); None without one."""
        position = as_floats(find_value(attrs, "ImagePositionPatient", frame_index))
        orientation = as_floats(find_value(attrs, "ImageOrientationPatient", frame_index))
        spacing = as_floats(find_value(attrs, "PixelSpacing", frame_index))
        rows, columns = as_int(get_value(attrs, "Rows")), as_int(get_value(attrs, "Columns"))
        if not (position and len(position) == 3 and orientation and len(orientation) == 6 and rows and columns):
            return None
        if not (spacing and len(spacing) == 2 and spacing[0] > 0 and spacing[1] > 0):
            spacing = [1.0, 1.0]
        image_type = [str(v).upper() for v in as_list(get_value(attrs, "ImageType"))]
        phase = tuple(as_text(find_value(attrs, keyword, frame_index)) or "" for keyword in _PHASE_KEYWORDS)
        o = orientation
        return cls(
            position=(position[0], position[1], position[2]),
            orientation=(o[0], o[1], o[2], o[3], o[4], o[5]),
            spacing=(spacing[0], spacing[1]),
            rows=rows,
            columns=columns,
            localizer="LOCALIZER" in image_type,
            phase=(phase[0], phase[1], phase[2]),
        )

    @property
    def normal(self) -> np.ndarray:
        row, column = np.array(self.orientation[:3]), np.array(self.orientation[3:])
        return np.cross(row, column)

    def depth(self) -> float:
        return float(np.dot(self.position, self.normal))

    def same_grid(self, other: FrameGeometry) -> bool:
        """Same orientation, size and pixel spacing: the two frames can share a stack."""
        return (
            (self.rows, self.columns) == (other.rows, other.columns)
            and max(abs(a - b) for a, b in zip(self.orientation, other.orientation)) < SAME_DIRECTION
            and max(abs(a - b) for a, b in zip(self.spacing, other.spacing)) < SAME_POSITION_MM
        )


@dataclass(eq=False)
class VolumeGeometry:
    """Voxel (k, r, c) = (slice, row, column) → patient mm: position of slice k + c·Δc·row direction + r·Δr·column
    direction. Slices are sorted by depth along the normal; their positions may shift sideways (gantry tilt)."""

    positions: np.ndarray  # (n, 3) ImagePositionPatient per slice, sorted by depth
    orientation: tuple[float, float, float, float, float, float]
    spacing: tuple[float, float]  # (between rows, between columns)
    rows: int
    columns: int
    gaps: frozenset[int] = frozenset()  # k such that no data is made up between slices k and k + 1

    def __post_init__(self) -> None:
        self.row_direction = _unit(np.array(self.orientation[:3], dtype=np.float64))
        self.column_direction = _unit(np.array(self.orientation[3:], dtype=np.float64))
        self.normal = _unit(np.cross(self.row_direction, self.column_direction))
        self.depths = self.positions @ self.normal

    @property
    def slices(self) -> int:
        return int(self.positions.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.slices, self.rows, self.columns

    @cached_property
    def slice_step(self) -> float:
        """Median distance between neighbouring slices (mm)."""
        steps = np.diff(self.depths)
        return float(np.median(steps)) if steps.size else 1.0

    @cached_property
    def sheared(self) -> bool:
        """Whether slices shift sideways along the stack (gantry tilt): then slice k is not on the normal."""
        offsets = self.positions - self.positions[0]
        sideways = offsets - np.outer(offsets @ self.normal, self.normal)
        return bool(np.abs(sideways).max() > SAME_POSITION_MM * 10)

    def axis_spacing(self, axis: int) -> float:
        """mm between neighbouring voxels along voxel axis 0 (slices), 1 (rows) or 2 (columns)."""
        return (self.slice_step, self.spacing[0], self.spacing[1])[axis]

    def axis_direction(self, axis: int) -> np.ndarray:
        return (self.normal, self.column_direction, self.row_direction)[axis]

    def to_patient(self, index: np.ndarray) -> np.ndarray:
        """(m, 3) fractional (k, r, c) → (m, 3) patient mm."""
        index = np.atleast_2d(np.asarray(index, dtype=np.float64))
        ks = np.arange(self.slices)
        origin = np.stack([np.interp(index[:, 0], ks, self.positions[:, i]) for i in range(3)], axis=1)
        # np.interp clamps: extrapolate along the normal beyond the first and last slices.
        beyond = index[:, 0] - np.clip(index[:, 0], 0, self.slices - 1)
        origin += np.outer(beyond * self.slice_step, self.normal)
        return (
            origin
            + np.outer(index[:, 2] * self.spacing[1], self.row_direction)
            + np.outer(index[:, 1] * self.spacing[0], self.column_direction)
        )

    def to_index(self, points: np.ndarray) -> np.ndarray:
        """(m, 3) patient mm → (m, 3) fractional (k, r, c); beyond the first/last slice k extrapolates."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        depth = points @ self.normal
        ks = np.arange(self.slices, dtype=np.float64)
        k = np.interp(depth, self.depths, ks)
        k += (depth - np.clip(depth, self.depths[0], self.depths[-1])) / self.slice_step
        origin = np.stack([np.interp(k, ks, self.positions[:, i]) for i in range(3)], axis=1)
        offset = points - origin
        return np.stack(
            [k, offset @ self.column_direction / self.spacing[0], offset @ self.row_direction / self.spacing[1]],
            axis=1,
        )

    @cached_property
    def _corners(self) -> np.ndarray:
        far_r, far_c = (self.rows - 1) * self.spacing[0], (self.columns - 1) * self.spacing[1]
        offsets = np.array([[0.0, 0.0], [0.0, far_c], [far_r, 0.0], [far_r, far_c]])
        in_plane = np.outer(offsets[:, 1], self.row_direction) + np.outer(offsets[:, 0], self.column_direction)
        result: np.ndarray = (self.positions[:, None, :] + in_plane[None, :, :]).reshape(-1, 3)
        result.flags.writeable = False
        return result

    def corners(self) -> np.ndarray:
        """(4n, 3) patient positions of the corner pixel centres of every slice."""
        return self._corners

    def slice_thickness(self) -> np.ndarray:
        """mm of tissue each slice stands for: half-way to its neighbours, a median half-step at the ends and gaps."""
        half = self.slice_step / 2.0
        steps = np.diff(self.depths) / 2.0
        steps = np.array([half if k in self.gaps else s for k, s in enumerate(steps)])
        below = np.concatenate([[half], steps])
        above = np.concatenate([steps, [half]])
        result: np.ndarray = below + above
        return result


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if norm < 1e-6:
        raise VolumeError("ImageOrientationPatient has a zero direction.")
    result: np.ndarray = vector / norm
    return result


@dataclass(frozen=True)
class StackPlan:
    """Which frames make the volume (indices into the frames given, in depth order), where they sit, and notes."""

    members: list[int]
    geometry: VolumeGeometry
    notes: list[str] = field(default_factory=list)


def plan_stack(frames: Sequence[FrameGeometry | None]) -> StackPlan:
    """Choose the main stack of a series and sort it along its normal; say what was left out and why."""
    notes: list[str] = []
    usable = [i for i, f in enumerate(frames) if f is not None]
    if len(usable) < len(frames):
        notes.append(f"{len(frames) - len(usable)} frames without position/orientation left out")
    localizers = [i for i in usable if _geometry(frames, i).localizer]
    if localizers and len(localizers) < len(usable):
        notes.append(f"{len(localizers)} localizer{'s' * (len(localizers) > 1)} left out")
        usable = [i for i in usable if i not in set(localizers)]
    stacks: list[list[int]] = []
    for i in usable:
        home = next((s for s in stacks if _geometry(frames, s[0]).same_grid(_geometry(frames, i))), None)
        if home is None:
            stacks.append([i])
        else:
            home.append(i)
    if not stacks:
        raise VolumeError("No frame of this series has ImagePositionPatient and ImageOrientationPatient.")
    main = max(stacks, key=len)  # the first of the largest
    if len(stacks) > 1:
        others = ", ".join(_describe(frames, s) for s in stacks if s is not main)
        notes.append(f"{len(stacks)} stacks in this series: using {_describe(frames, main)}; not {others}")
    main, phase_note = _one_per_position(frames, main)
    if phase_note:
        notes.append(phase_note)
    if len(main) < 2:
        raise VolumeError("A volume needs at least two slices at different positions; this series has one.")
    main.sort(key=lambda i: _geometry(frames, i).depth())
    first = _geometry(frames, main[0])
    positions = np.array([_geometry(frames, i).position for i in main], dtype=np.float64)
    geometry = VolumeGeometry(positions, first.orientation, first.spacing, first.rows, first.columns)
    gaps, spacing_notes = _spacing_report(geometry.depths)
    geometry.gaps = gaps
    return StackPlan(main, geometry, notes + spacing_notes)


def _geometry(frames: Sequence[FrameGeometry | None], index: int) -> FrameGeometry:
    frame = frames[index]
    assert frame is not None
    return frame


def _describe(frames: Sequence[FrameGeometry | None], stack: list[int]) -> str:
    first = _geometry(frames, stack[0])
    return f"{len(stack)} {plane_name(first.normal)} {first.columns}×{first.rows}"


def plane_name(normal: np.ndarray) -> str:
    """axial, coronal or sagittal: the patient axis the normal is closest to ("oblique" below cos 0.8)."""
    axis = int(np.argmax(np.abs(normal)))
    name = ("sagittal", "coronal", "axial")[axis]
    return name if abs(normal[axis]) >= 0.8 else f"oblique (near {name})"


def _one_per_position(frames: Sequence[FrameGeometry | None], stack: list[int]) -> tuple[list[int], str | None]:
    """The stack with one frame per position: when positions repeat, the first of the sub-stacks told apart by
    temporal position, echo or acquisition number; otherwise the first frame at each position."""
    depths = [round(_geometry(frames, i).depth() / SAME_POSITION_MM) for i in stack]
    if len(set(depths)) == len(depths):
        return list(stack), None
    for which, name in enumerate(_PHASE_NAMES):
        groups: dict[str, list[int]] = {}
        for i in stack:
            groups.setdefault(_geometry(frames, i).phase[which], []).append(i)
        if len(groups) < 2:
            continue
        clean = all(
            len({round(_geometry(frames, i).depth() / SAME_POSITION_MM) for i in g}) == len(g) for g in groups.values()
        )
        if clean:
            chosen_key, chosen = max(groups.items(), key=lambda item: len(item[1]))
            return chosen, (
                f"{len(groups)} stacks at the same positions (by {name}): using {name} {chosen_key or '?'} "
                f"({len(chosen)} slices)"
            )
    kept: dict[int, int] = {}
    for i, depth in zip(stack, depths):
        kept.setdefault(depth, i)
    repeated = len(stack) - len(kept)
    return list(kept.values()), f"{repeated} frames repeat a position: kept the first at each"


def _spacing_report(depths: np.ndarray) -> tuple[frozenset[int], list[str]]:
    """The gaps (k: no data between slices k and k + 1) and notes on gaps and uneven spacing."""
    steps = np.diff(depths)
    median = float(np.median(steps))
    gaps = frozenset(int(k) for k in np.flatnonzero(steps > GAP_FACTOR * median))
    notes = [
        f"gap of {steps[k]:.3g} mm between slices at {depths[k]:.1f} and {depths[k + 1]:.1f} mm (left empty)"
        for k in sorted(gaps)[:3]
    ]
    if len(gaps) > 3:
        notes.append(f"{len(gaps) - 3} more gaps")
    regular = np.delete(steps, sorted(gaps))
    if regular.size and regular.max() > UNEVEN_FACTOR * regular.min():
        counts = Counter(round(float(s), 2) for s in regular)
        common = ", ".join(f"{s:g} mm ×{n}" for s, n in sorted(counts.items(), key=lambda c: (-c[1], c[0]))[:3])
        notes.append(f"uneven slice spacing {regular.min():.3g}–{regular.max():.3g} mm ({common})")
    return gaps, notes


@dataclass(eq=False)
class Volume:
    """Voxels (k, r, c) of one stack: stored values with one shared rescale, or float32 modality values when the
    frames rescale differently. `attributes` describe how to display and name them (modality, window, units)."""

    voxels: np.ndarray
    geometry: VolumeGeometry
    slope: float
    intercept: float
    attributes: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    holds_modality: bool = False  # the voxels are modality values already (slope 1, intercept 0)

    @property
    def nbytes(self) -> int:
        return int(self.voxels.nbytes)

    @property
    def integer_values(self) -> bool:
        """Whether every modality value is an integer (stored integers, integer rescale): display via a LUT."""
        return self.voxels.dtype.kind in "iu" and float(self.slope).is_integer() and float(self.intercept).is_integer()

    def modality(self, stored: np.ndarray) -> np.ndarray:
        """Stored values (or samples of them) → float32 modality values."""
        values = np.asarray(stored, dtype=np.float32)
        if self.slope != 1.0:
            values = values * np.float32(self.slope)
        if self.intercept != 0.0:
            values = values + np.float32(self.intercept)
        return values

    def stored(self, value: float) -> float:
        """A modality value in stored units (for thresholds on the voxels)."""
        return (value - self.intercept) / self.slope

    @cached_property
    def background(self) -> float:
        """A modality value for where the volume has no data (outside it, gaps): its minimum."""
        return float(self.modality(np.asarray(self.voxels.min())))


def shared_rescale(frames: Sequence[tuple[DicomAttributes, int]]) -> tuple[float, float] | None:
    """The (slope, intercept) every frame shares, or None when they differ or a Modality LUT applies."""
    if any(modality_lut_of(attrs) is not None for attrs, _ in frames):
        return None
    rescales = {rescale_of(attrs, index) for attrs, index in frames}
    return next(iter(rescales)) if len(rescales) == 1 else None


def allocate_volume(
    plan: StackPlan, dtype: np.dtype[Any], rescale: tuple[float, float] | None, attributes: Mapping[str, Any]
) -> Volume:
    """An empty volume for `plan`: stored `dtype` with `rescale`, or float32 modality values when it is None."""
    voxel_type = dtype if rescale is not None else np.dtype(np.float32)
    slope, intercept = rescale or (1.0, 0.0)
    voxels = np.empty(plan.geometry.shape, dtype=voxel_type)
    return Volume(voxels, plan.geometry, slope, intercept, attributes, tuple(plan.notes), rescale is None)


def put_slice(volume: Volume, k: int, pixels: np.ndarray, attrs: DicomAttributes, frame_index: int) -> None:
    """Store decoded frame `pixels` as slice `k` (converted to modality values when the volume holds them)."""
    if pixels.shape != volume.voxels.shape[1:]:
        raise VolumeError(f"frame {k} decodes to {pixels.shape}, not {volume.voxels.shape[1:]}")
    if volume.holds_modality:
        volume.voxels[k] = apply_modality_lut(pixels, attrs, frame_index)
    else:
        volume.voxels[k] = pixels
