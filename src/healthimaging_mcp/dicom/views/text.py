"""Short readable text for the metadata views: the lines a person would want, not a copy of the JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthimaging_mcp.dicom.views.budget import kept_items
from healthimaging_mcp.dicom.views.models import (
    AttributeRow,
    InstanceDetail,
    InstanceRow,
    MetadataSummary,
    SeriesDetail,
    SeriesSummary,
)

__all__ = ["render_instance_detail", "render_series_detail", "render_series_line", "render_summary"]

_TEXT_VALUE_CHARS = 120
_ITEMS_SHOWN = 4
"""Items of a sequence shown (at each nesting level); the rest are counted."""
_SEQUENCE_LINES = 16
"""Lines one sequence attribute may take in the text; the structured content holds the rest."""
_ITEM_LINE_CHARS = 240
_CODE_KEYS = frozenset(
    {"CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning", "LongCodeValue", "URNCodeValue"}
)


def _number(value: float) -> str:
    return f"{value:.4g}"


def _join(parts: list[str | None], separator: str = " ") -> str:
    return separator.join(part for part in parts if part)


def render_series_line(series: SeriesSummary) -> str:
    """One line per series: number, modality, description, images, size, spacing, UID."""
    images = f"{series.instance_count} image{'s' if series.instance_count != 1 else ''}"
    if series.frame_count != series.instance_count:
        images += f" ({series.frame_count} frames)"
    size = f"{series.rows}×{series.columns}" if series.rows and series.columns else None
    pixel = "×".join(_number(v) for v in series.pixel_spacing) + " mm px" if series.pixel_spacing else None
    thickness = f"{_number(series.slice_thickness)} mm thick" if series.slice_thickness is not None else None
    spacing = f"every {_number(series.spacing_between_slices)} mm" if series.spacing_between_slices else None
    head = _join([f"#{series.number}" if series.number is not None else "#-", series.modality, series.description])
    facts = _join([series.body_part, series.plane, images, size, pixel, thickness, spacing, series.contrast], ", ")
    line = f"{head} — {facts} — {series.series_instance_uid}"
    return f"{line} ({series.note})" if series.note else line


def render_summary(summary: MetadataSummary) -> str:
    """Patient and study on one line, counts on the next, then one line per series."""
    patient, study = summary.patient, summary.study
    who = _join(
        [
            f"Patient {patient.name or '(no name)'}" + (f" ({patient.id})" if patient.id else ""),
            patient.sex,
            patient.age,
            f"born {patient.birth_date}" if patient.birth_date else None,
        ],
        ", ",
    )
    what = _join(
        [
            "Study",
            study.description,
            study.date,
            study.time,
            f"(accession {study.accession_number})" if study.accession_number else None,
        ]
    )
    lines = [
        f"{who} — {what}",
        f"Image set {summary.image_set_id}: {summary.series_count} series, {summary.instance_count} instances, "
        f"{summary.frame_count} frames" + (f" ({', '.join(summary.modalities)})" if summary.modalities else ""),
    ]
    lines += [render_series_line(series) for series in summary.series]
    if summary.truncated:
        lines.append(
            f"… {summary.omitted_series} more series left out to fit the output budget; "
            "ask for a larger budget or for one series by UID."
        )
    return "\n".join(lines)


def _instance_line(row: InstanceRow) -> str:
    number = f"#{row.instance_number}" if row.instance_number is not None else "#-"
    position = None
    if row.image_position is not None:
        position = "pos (" + ", ".join(_number(v) for v in row.image_position) + ")"
    location = f"loc {_number(row.slice_location)}" if row.slice_location is not None else None
    frames = f"{row.frame_count} frames" if row.frame_count != 1 else None
    extra = None
    if row.attributes:
        extra = " ".join(f"{key}={_text_value(value)}" for key, value in row.attributes.items())
    return _join([f"[{row.slice_index}]", number, position, location, frames, row.sop_instance_uid, extra], "  ")


def _page_line(label: str, offset: int, returned: int, total: int, next_offset: int | None, truncated: bool) -> str:
    shown = f"{offset}–{offset + returned - 1}" if returned else "none"
    line = f"{label} {shown} of {total}"
    if next_offset is not None:
        reason = "output budget reached; " if truncated else ""
        line += f" ({reason}continue with offset {next_offset})"
    return line


def render_series_detail(detail: SeriesDetail) -> str:
    """The series line, then one line per instance, then where the page ends."""
    lines = [render_series_line(detail.series)]
    lines += [_instance_line(row) for row in detail.instances]
    lines.append(
        _page_line("Instances", detail.offset, detail.returned, detail.total, detail.next_offset, detail.truncated)
    )
    if detail.unknown_keywords:
        lines.append("Unknown keywords: " + ", ".join(detail.unknown_keywords))
    return "\n".join(lines)


def _text_value(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, list):
        if _is_sequence(value):
            return f"[{_items(kept_items(value)[1])}]"
        text = "\\".join(_text_value(item) for item in value)
    elif isinstance(value, Mapping):
        text = "{…}"
    else:
        text = str(value).strip()
    return text if len(text) <= _TEXT_VALUE_CHARS else text[:_TEXT_VALUE_CHARS] + "…"


def _is_sequence(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(item, Mapping) for item in value)


def _items(count: int) -> str:
    return f"{count} item{'s' if count != 1 else ''}"


def _code(item: Mapping[str, Any]) -> str | None:
    """`Liver (SRT T-62000)` for a code sequence item, else None."""
    if "CodeMeaning" not in item or not set(item) <= _CODE_KEYS:
        return None
    value = item.get("CodeValue") or item.get("LongCodeValue") or item.get("URNCodeValue")
    scheme = " ".join(_text_value(part) for part in (item.get("CodingSchemeDesignator"), value) if part)
    return f"{_text_value(item['CodeMeaning'])}" + (f" ({scheme})" if scheme else "")


def _sequence_lines(items: list[Any], total: int, indent: int) -> list[str]:
    """Each item's plain attributes on one line, its nested sequences indented below; codes in one phrase."""
    pad = "  " * indent
    lines: list[str] = []
    for number, item in enumerate(items[:_ITEMS_SHOWN], start=1):
        if not isinstance(item, Mapping):  # a marker left by the output budget ("…(sequence, 3 items)")
            lines.append(f"{pad}{_text_value(item)}")
            continue
        plain = "; ".join(f"{key}={_text_value(value)}" for key, value in item.items() if not _is_sequence(value))
        if len(plain) > _ITEM_LINE_CHARS:
            plain = plain[:_ITEM_LINE_CHARS] + "…"
        lines.append(f"{pad}[{number}] {plain}".rstrip())
        for key, value in item.items():
            if _is_sequence(value):
                lines += _nested_lines(key, value, indent + 1)
    if total > _ITEMS_SHOWN:
        lines.append(f"{pad}… {total - _ITEMS_SHOWN} more")
    return lines


def _nested_lines(key: str, value: list[Any], indent: int) -> list[str]:
    items, total = kept_items(value)
    codes = [_code(item) if isinstance(item, Mapping) else None for item in items]
    if all(codes) and total == len(items):
        return [f"{'  ' * indent}{key} = {'; '.join(code for code in codes if code)}"]
    return [f"{'  ' * indent}{key} = {_items(total)}", *_sequence_lines(items, total, indent + 1)]


def _attribute_lines(row: AttributeRow) -> list[str]:
    head = f"{row.tag} {row.keyword} {row.vr or '??'}"
    if not _is_sequence(row.value):
        return [f"{head} = {_text_value(row.value)}"]
    lines = _nested_lines(head, row.value, 0)
    if len(lines) > _SEQUENCE_LINES:
        left_out = len(lines) - _SEQUENCE_LINES + 1
        lines = [*lines[: _SEQUENCE_LINES - 1], f"  … {left_out} more lines in the structured content"]
    return lines


def render_instance_detail(detail: InstanceDetail) -> str:
    """Which instance, one line per attribute, its frames, and where the page ends."""
    number = f"#{detail.instance_number} " if detail.instance_number is not None else ""
    lines = [
        f"Instance {number}{detail.sop_instance_uid} of series {detail.series_instance_uid}, "
        f"{detail.frame_count} frame{'s' if detail.frame_count != 1 else ''}, stored as {detail.stored_transfer_syntax}"
    ]
    lines += [line for row in detail.attributes for line in _attribute_lines(row)]
    lines.append(
        _page_line("Attributes", detail.offset, detail.returned, detail.total, detail.next_offset, detail.truncated)
    )
    if detail.unknown_keywords:
        lines.append("Unknown keywords: " + ", ".join(detail.unknown_keywords))
    if detail.absent_keywords:
        lines.append("Not in this instance: " + ", ".join(detail.absent_keywords))
    if detail.frames:
        first = detail.frames[0]
        value_range = (
            f", values {_number(first.min)}–{_number(first.max)}"
            if first.min is not None and first.max is not None
            else ""
        )
        lines.append(f"First frame {first.id}{value_range}")
    return "\n".join(lines)
