"""Per-series facts for the metadata views: dimensions, spacing, plane and the first instance's settings."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from healthimaging_mcp.dicom.document import InstanceView, SeriesView
from healthimaging_mcp.dicom.values import as_float, as_floats, as_int, as_text, iso_date
from healthimaging_mcp.dicom.views.models import SeriesSummary

__all__ = ["measured_slice_gaps", "plane_of", "summarize_series"]

_MIN_GAP_MM = 1e-3
"""Positions closer than this count as the same slice (phases, echoes)."""
_OBLIQUE_BELOW = 0.8
"""The slice normal must be this close to an axis to name a plane."""


def plane_of(orientation: Sequence[float] | None) -> str | None:
    """``axial``/``coronal``/``sagittal`` from ImageOrientationPatient, ``oblique`` when none dominates."""
    if orientation is None or len(orientation) != 6:
        return None
    rx, ry, rz, cx, cy, cz = orientation
    normal = (abs(ry * cz - rz * cy), abs(rz * cx - rx * cz), abs(rx * cy - ry * cx))
    largest = max(normal)
    if largest < _OBLIQUE_BELOW:
        return "oblique"
    return ("sagittal", "coronal", "axial")[normal.index(largest)]


def measured_slice_gaps(instances: Sequence[InstanceView]) -> tuple[list[float], int]:
    """Gaps (mm) between distinct sorted positions along the slice normal, and how many positions repeat."""
    positions = sorted(p for p in (instance.slice_position() for instance in instances) if p is not None)
    gaps = [b - a for a, b in itertools.pairwise(positions)]
    distinct = [gap for gap in gaps if gap > _MIN_GAP_MM]
    return distinct, len(gaps) - len(distinct)


def _first(key: str, *levels: Mapping[str, Any]) -> Any:
    for attributes in levels:
        value = attributes.get(key)
        if value is not None:
            return value
    return None


def _first_float(value: Any) -> float | None:
    numbers = as_floats(value)
    return numbers[0] if numbers else None


def _dimension_notes(instances: Sequence[InstanceView]) -> tuple[int | None, int | None, list[str]]:
    sizes = Counter((as_int(i.attributes.get("Rows")), as_int(i.attributes.get("Columns"))) for i in instances)
    if len(sizes) <= 1:
        rows, columns = next(iter(sizes), (None, None))
        return rows, columns, []
    shown = ", ".join(f"{r}×{c} ({n})" for (r, c), n in sizes.most_common(3))
    more = f" and {len(sizes) - 3} more" if len(sizes) > 3 else ""
    return None, None, [f"mixed sizes: {shown}{more}"]


def _syntax_notes(instances: Sequence[InstanceView]) -> tuple[str | None, list[str]]:
    syntaxes = Counter(instance.stored_transfer_syntax_uid for instance in instances)
    if len(syntaxes) <= 1:
        return next(iter(syntaxes), None), []
    return None, ["mixed stored transfer syntaxes: " + ", ".join(uid for uid, _ in syntaxes.most_common(3))]


def _spacing(instances: Sequence[InstanceView], attribute: float | None) -> tuple[float | None, list[str]]:
    if len(instances) < 2:
        return attribute, []
    gaps, repeated = measured_slice_gaps(instances)
    notes = [f"{repeated} instances repeat a slice position"] if repeated else []
    if not gaps:
        return attribute, notes
    median = statistics.median(gaps)
    low, high = min(gaps), max(gaps)
    if high > 1.5 * median or low < 0.5 * median:
        notes.append(f"uneven slice spacing ({low:.3g}–{high:.3g} mm)")
    return round(median, 4), notes


def summarize_series(series: SeriesView) -> SeriesSummary:
    """The summary entry of one series; instance-level settings come from its first instance."""
    instances = series.instances
    first: Mapping[str, Any] = instances[0].attributes if instances else {}
    attributes = series.attributes
    rows, columns, notes = _dimension_notes(instances)
    syntax, syntax_notes = _syntax_notes(instances)
    spacing, spacing_notes = _spacing(instances, as_float(first.get("SpacingBetweenSlices")))
    notes += syntax_notes + spacing_notes
    pixel_spacing = as_floats(_first("PixelSpacing", first)) or as_floats(_first("ImagerPixelSpacing", first))
    return SeriesSummary(
        series_instance_uid=series.uid,
        number=series.number,
        modality=series.modality,
        description=series.description,
        body_part=as_text(_first("BodyPartExamined", attributes, first)),
        plane=plane_of(as_floats(first.get("ImageOrientationPatient"))),
        instance_count=len(instances),
        frame_count=series.frame_count,
        rows=rows,
        columns=columns,
        bits_stored=as_int(first.get("BitsStored")),
        pixel_spacing=pixel_spacing if pixel_spacing and len(pixel_spacing) == 2 else None,
        slice_thickness=as_float(first.get("SliceThickness")),
        spacing_between_slices=spacing,
        photometric_interpretation=as_text(first.get("PhotometricInterpretation")),
        stored_transfer_syntax=syntax,
        series_date=iso_date(_first("SeriesDate", attributes, first)),
        manufacturer=as_text(_first("Manufacturer", attributes, first)),
        contrast=as_text(first.get("ContrastBolusAgent")),
        window_center=_first_float(first.get("WindowCenter")),
        window_width=_first_float(first.get("WindowWidth")),
        note="; ".join(notes) or None,
    )
