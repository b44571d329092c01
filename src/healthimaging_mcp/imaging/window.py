"""Modality LUT (rescale, LUT sequence, dose scaling) and VOI (window, LUT sequence) to 8-bit grey levels.

PS3.3 C.11.1 and C.11.2, per frame for enhanced IODs (see `dicom.values.find_value`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..dicom.values import DicomAttributes, as_float, as_floats, as_int, as_list, as_text, find_value, get_value
from .lut import LookupTable, first_lut

#: Standard CT window presets as (center, width) in Hounsfield units.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (40.0, 400.0),
    "soft_tissue": (40.0, 400.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "subdural": (75.0, 215.0),
    "stroke": (40.0, 40.0),
    "abdomen": (60.0, 400.0),
    "liver": (60.0, 150.0),
    "spine": (50.0, 250.0),
}

VoiFunction = Literal["LINEAR", "LINEAR_EXACT", "SIGMOID"]
WindowKind = Literal["explicit", "preset", "dicom", "auto", "none"]
AUTO_PERCENTILES = (0.5, 99.5)
_VOI_FUNCTIONS: dict[str, VoiFunction] = {"LINEAR_EXACT": "LINEAR_EXACT", "SIGMOID": "SIGMOID"}


@dataclass(frozen=True)
class WindowSpec:
    """How to pick the VOI window: explicit values, a named preset, the instance's own, auto, or none."""

    kind: WindowKind = "dicom"
    center: float | None = None
    width: float | None = None
    preset: str | None = None

    @classmethod
    def explicit(cls, center: float, width: float) -> WindowSpec:
        return cls("explicit", float(center), float(width))

    @classmethod
    def named(cls, preset: str) -> WindowSpec:
        key = preset.strip().lower().replace(" ", "_").replace("-", "_")
        if key not in WINDOW_PRESETS:
            raise ValueError(f"unknown window preset {preset!r}; choose from {', '.join(sorted(WINDOW_PRESETS))}")
        return cls("preset", *WINDOW_PRESETS[key], preset=key)

    @classmethod
    def from_dicom(cls) -> WindowSpec:
        """The instance's WindowCenter/WindowWidth, falling back to auto when absent."""
        return cls("dicom")

    @classmethod
    def auto(cls) -> WindowSpec:
        return cls("auto")

    @classmethod
    def none(cls) -> WindowSpec:
        return cls("none")


@dataclass(frozen=True)
class ResolvedWindow:
    """The VOI actually applied and where it came from ("explicit", "preset:lung", "dicom", "voi_lut", "mask",
    "auto"). A VOI LUT (`lut`) replaces the window function; center/width then describe its input range."""

    center: float
    width: float
    source: str
    function: VoiFunction = "LINEAR"
    lut: LookupTable | None = None


# ------------------------------------------------------------------------------------------ modality LUT


SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
_DOSE_UNITS = {"GY": "Gy", "RELATIVE": "relative"}
_PET_UNITS = {"BQML": "Bq/ml", "GML": "g/ml", "CNTS": "counts", "PROPCNTS": "counts", "PERCENT": "%"}


def rescale_of(attrs: DicomAttributes, frame_index: int = 0) -> tuple[float, float]:
    """(slope, intercept) from RescaleSlope/RescaleIntercept, or DoseGridScaling for RT dose; else identity."""
    slope = as_float(find_value(attrs, "RescaleSlope", frame_index))
    intercept = as_float(find_value(attrs, "RescaleIntercept", frame_index))
    if slope is None and intercept is None:
        slope = as_float(get_value(attrs, "DoseGridScaling"))
    return (1.0 if slope is None or slope == 0 else slope), (intercept or 0.0)


def modality_lut_of(attrs: DicomAttributes) -> LookupTable | None:
    """The Modality LUT Sequence's table, when the instance has one (it replaces the rescale)."""
    signed = as_int(get_value(attrs, "PixelRepresentation")) == 1
    return first_lut(attrs, get_value(attrs, "ModalityLUTSequence"), signed_input=signed)


def apply_modality_lut(pixels: np.ndarray, attrs: DicomAttributes, frame_index: int = 0) -> np.ndarray:
    """Stored values → modality values (e.g. HU, Gy) as float32: the Modality LUT, else `pixels * slope + intercept`."""
    table = modality_lut_of(attrs)
    if table is not None:
        return table.map(pixels)
    slope, intercept = rescale_of(attrs, frame_index)
    out = pixels.astype(np.float32)
    if slope != 1.0:
        out *= np.float32(slope)
    if intercept != 0.0:
        out += np.float32(intercept)
    return out


def modality_units(attrs: DicomAttributes, frame_index: int = 0) -> str | None:
    """Units of the modality values: HU for CT, Gy for RT dose, PET Units, or the RescaleType; None if unknown."""
    modality = (as_text(get_value(attrs, "Modality")) or "").upper()
    if modality == "RTDOSE":
        units = (as_text(get_value(attrs, "DoseUnits")) or "").upper()
        return _DOSE_UNITS.get(units, units or None)
    if modality == "PT":
        units = (as_text(get_value(attrs, "Units")) or "").upper()
        return _PET_UNITS.get(units, units or None)
    rescale_type = as_text(find_value(attrs, "RescaleType", frame_index)) or as_text(
        get_value(_first_item(attrs, "ModalityLUTSequence"), "ModalityLUTType")
    )
    if rescale_type and rescale_type.upper() != "US":  # "US" = unspecified
        return rescale_type
    return "HU" if modality == "CT" and modality_lut_of(attrs) is None else None


def _first_item(attrs: DicomAttributes, keyword: str) -> Any:
    items = as_list(get_value(attrs, keyword))
    return items[0] if items else None


def mask_maximum(attrs: DicomAttributes) -> float | None:
    """For segmentations, the value that means "fully inside" (1 for BINARY, MaximumFractionalValue); else None."""
    is_seg = as_text(get_value(attrs, "SOPClassUID")) == SEGMENTATION_STORAGE or (
        (as_text(get_value(attrs, "Modality")) or "").upper() == "SEG"
    )
    if not is_seg:
        return None
    if (as_text(get_value(attrs, "SegmentationType")) or "BINARY").upper() == "FRACTIONAL":
        return as_float(get_value(attrs, "MaximumFractionalValue")) or 255.0
    return 1.0


# -------------------------------------------------------------------------------------------------- VOI


def voi_function_of(attrs: DicomAttributes, frame_index: int = 0) -> VoiFunction:
    """VOILUTFunction of the frame (LINEAR when absent or unknown)."""
    text = (as_text(find_value(attrs, "VOILUTFunction", frame_index)) or "").upper()
    return _VOI_FUNCTIONS.get(text, "LINEAR")


def dicom_window_of(attrs: DicomAttributes, frame_index: int = 0) -> tuple[float, float] | None:
    """The first WindowCenter/WindowWidth pair of the instance (or of the frame's functional groups)."""
    centers = as_floats(find_value(attrs, "WindowCenter", frame_index))
    widths = as_floats(find_value(attrs, "WindowWidth", frame_index))
    if not centers or not widths or widths[0] <= 0:
        return None
    return centers[0], widths[0]


def padding_value_of(attrs: DicomAttributes) -> float | None:
    return as_float(get_value(attrs, "PixelPaddingValue"))


def auto_window(values: np.ndarray, *, exclude: float | None = None) -> tuple[float, float]:
    """(center, width) spanning the 0.5–99.5 percentiles of `values`, ignoring `exclude` (padding)."""
    flat = values.reshape(-1)
    if exclude is not None:
        kept = flat[flat != exclude]
        flat = kept if kept.size else flat
    if flat.size == 0:
        return 0.0, 1.0
    low, high = (float(v) for v in np.percentile(flat, AUTO_PERCENTILES))
    if high <= low:
        low, high = float(flat.min()), float(flat.max())
    width = high - low if high > low else 1.0
    return (low + high) / 2.0, width


def voi_lut_of(attrs: DicomAttributes, frame_index: int = 0) -> LookupTable | None:
    """The VOI LUT Sequence's first table (of the frame's functional groups, else the instance's)."""
    return first_lut(attrs, find_value(attrs, "VOILUTSequence", frame_index))


def resolve_window(
    spec: WindowSpec | None,
    attrs: DicomAttributes,
    modality_values: np.ndarray | None = None,
    *,
    frame_index: int = 0,
    auto: Callable[[], tuple[float, float]] | None = None,
) -> ResolvedWindow | None:
    """Turn a WindowSpec into a VOI. None spec ⇒ the instance's own (VOI LUT, else window, else a
    segmentation's mask range, else auto). "none" ⇒ None. `auto` computes the automatic (center, width)
    when the caller has a faster way than percentiles of `modality_values`."""
    spec = spec or WindowSpec.from_dicom()
    function = voi_function_of(attrs, frame_index)
    if spec.kind == "none":
        return None
    if spec.kind in ("explicit", "preset"):
        if spec.center is None or spec.width is None:
            raise ValueError("an explicit window needs both center and width")
        source = f"preset:{spec.preset}" if spec.kind == "preset" else "explicit"
        return ResolvedWindow(spec.center, max(spec.width, 1e-3), source, function)
    if spec.kind == "dicom":
        table = voi_lut_of(attrs, frame_index)
        if table is not None:
            size = float(table.data.size)
            return ResolvedWindow(table.first_mapped + size / 2.0, size, "voi_lut", lut=table)
        found = dicom_window_of(attrs, frame_index)
        if found is not None:
            return ResolvedWindow(found[0], found[1], "dicom", function)
        maximum = mask_maximum(attrs)
        if maximum is not None:
            return ResolvedWindow(maximum / 2.0, maximum, "mask", "LINEAR_EXACT")
    if auto is not None:
        center, width = auto()
        return ResolvedWindow(center, width, "auto", "LINEAR_EXACT")
    if modality_values is None:
        raise ValueError("an automatic window needs the modality values")
    padding = padding_value_of(attrs)
    if padding is not None:
        slope, intercept = rescale_of(attrs, frame_index)
        padding = padding * slope + intercept
    center, width = auto_window(modality_values, exclude=padding)
    return ResolvedWindow(center, width, "auto", "LINEAR_EXACT")


def voi_linear_coefficients(window: ResolvedWindow) -> tuple[float, float]:
    """(scale, offset) so that `y = (x - offset) * scale` then clip to [0, 255] equals the VOI function.

    Automatic windows are LINEAR_EXACT, and so is a LINEAR window narrower than 1 (PS3.3 defines LINEAR for
    integer steps: narrower windows, e.g. in Gy, would collapse to a threshold)."""
    if window.function == "LINEAR_EXACT" or window.width < 1.0:
        low = window.center - window.width / 2.0
        return 255.0 / max(window.width, 1e-6), low
    # PS3.3 C.11.2.1.2.1: x <= c - 0.5 - (w-1)/2 → 0; x > c - 0.5 + (w-1)/2 → 255; linear between.
    span = max(window.width - 1.0, 1e-6)
    low = window.center - 0.5 - span / 2.0
    return 255.0 / span, low


def apply_voi(values: np.ndarray, window: ResolvedWindow, *, invert: bool = False) -> np.ndarray:
    """Modality values → uint8 grey levels through the VOI LUT or LINEAR, LINEAR_EXACT, SIGMOID; `invert` for
    MONOCHROME1."""
    if window.lut is not None:
        work = window.lut.map(values)
        work *= np.float32(255.0 / max(window.lut.output_maximum, 1.0))
    elif window.function == "SIGMOID":
        work = np.array(values, dtype=np.float32, copy=True)
        work -= np.float32(window.center)
        work *= np.float32(-4.0 / max(window.width, 1e-6))
        np.exp(work, out=work)
        work += np.float32(1.0)
        np.divide(np.float32(255.0), work, out=work)
    else:
        work = np.array(values, dtype=np.float32, copy=True)
        scale, low = voi_linear_coefficients(window)
        work -= np.float32(low)
        work *= np.float32(scale)
    np.clip(work, 0.0, 255.0, out=work)
    if invert:
        np.subtract(np.float32(255.0), work, out=work)
    work += np.float32(0.5)
    return work.astype(np.uint8)
