"""An image set's metadata at three depths, each within an output budget: summary, one series, one instance.

``summarize`` gives the patient, the study and one entry per series; ``series_detail`` pages through a
series' instances; ``instance_detail`` pages through one instance's attributes (with the inherited patient,
study and series attributes) in tag order. Each answer is a pydantic model whose compact JSON stays within
``budget_chars``; whole entries are dropped at the end (never cut in half) and the answer says so with
``truncated`` and how to continue. ``views.text`` turns the answers into a few readable lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from healthimaging_mcp.dicom.document import ImageSetDocument, InstanceView, SeriesView
from healthimaging_mcp.dicom.keys import is_hex_key, keyword_or_hex, tag_of, vr_of
from healthimaging_mcp.dicom.values import as_float, as_floats, as_int, as_text, iso_date, iso_time
from healthimaging_mcp.dicom.views.budget import fit_model, shorten_value
from healthimaging_mcp.dicom.views.models import (
    AttributeRow,
    FrameInfo,
    InstanceDetail,
    InstanceRow,
    MetadataSummary,
    PatientInfo,
    SeriesDetail,
    StudyInfo,
    ViewError,
)
from healthimaging_mcp.dicom.views.series import summarize_series

__all__ = ["DEFAULT_BUDGET_CHARS", "instance_detail", "series_detail", "summarize"]

DEFAULT_BUDGET_CHARS = 8000
_FRAME_IDS_ALL_UP_TO = 8
_FRAME_IDS_SHOWN = 4
_FRAMES_SHOWN = 16
_SERIES_LISTED_IN_ERRORS = 10
_TAG_TEXT = re.compile(r"\(?([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)?")


def summarize(doc: ImageSetDocument, *, budget_chars: int = DEFAULT_BUDGET_CHARS) -> MetadataSummary:
    """Patient, study and one entry per series (display order), dropping trailing series over budget."""
    entries = [summarize_series(series) for series in doc.series]
    patient, study = doc.patient, doc.study
    modalities = list(dict.fromkeys(entry.modality for entry in entries if entry.modality))

    def build(count: int) -> MetadataSummary:
        return MetadataSummary(
            image_set_id=doc.image_set_id,
            datastore_id=doc.datastore_id,
            patient=PatientInfo(
                name=as_text(patient.get("PatientName")),
                id=as_text(patient.get("PatientID")),
                birth_date=iso_date(patient.get("PatientBirthDate")),
                sex=as_text(patient.get("PatientSex")),
                age=as_text(study.get("PatientAge") or patient.get("PatientAge")),
            ),
            study=StudyInfo(
                instance_uid=as_text(study.get("StudyInstanceUID")),
                id=as_text(study.get("StudyID")),
                date=iso_date(study.get("StudyDate")),
                time=iso_time(study.get("StudyTime")),
                description=as_text(study.get("StudyDescription")),
                accession_number=as_text(study.get("AccessionNumber")),
                referring_physician=as_text(study.get("ReferringPhysicianName")),
            ),
            modalities=modalities,
            series_count=len(entries),
            instance_count=sum(entry.instance_count for entry in entries),
            frame_count=sum(entry.frame_count for entry in entries),
            series=entries[:count],
            truncated=count < len(entries),
            omitted_series=len(entries) - count,
        )

    return fit_model(build, entries, budget_chars=budget_chars)


def series_detail(
    doc: ImageSetDocument,
    series_uid: str,
    *,
    offset: int = 0,
    limit: int = 50,
    budget_chars: int = DEFAULT_BUDGET_CHARS,
    keywords: Sequence[str] | None = None,
) -> SeriesDetail:
    """A page of one series' instances in display order, with the series summary and requested attributes."""
    series = doc.series_by_uid(series_uid)
    if series is None:
        raise ViewError(_unknown_series_message(doc, series_uid))
    _check_paging(offset, limit)
    selected, unknown = _resolve_keywords(keywords)
    total = len(series.instances)
    start = min(offset, total)
    first_frames = _first_frame_indexes(series)
    rows = [
        _instance_row(instance, first_frames[index], selected, doc, series)
        for index, instance in enumerate(series.instances[start : start + limit], start=start)
    ]
    summary = summarize_series(series)

    def build(count: int) -> SeriesDetail:
        end = start + count
        return SeriesDetail(
            image_set_id=doc.image_set_id,
            series=summary,
            instances=rows[:count],
            offset=offset,
            returned=count,
            total=total,
            next_offset=end if end < total else None,
            truncated=count < len(rows),
            unknown_keywords=unknown or None,
        )

    return fit_model(build, rows, budget_chars=budget_chars, min_items=1 if rows else 0)


def instance_detail(
    doc: ImageSetDocument,
    sop_instance_uid: str,
    *,
    keywords: Sequence[str] | None = None,
    offset: int = 0,
    budget_chars: int = DEFAULT_BUDGET_CHARS,
    include_levels: bool = True,
) -> InstanceDetail:
    """A page of one instance's attributes in tag order (with inherited levels), plus its first frames."""
    instance = doc.instance(sop_instance_uid)
    if instance is None:
        raise ViewError(
            f"instance {sop_instance_uid!r} is not in image set {doc.image_set_id}; it has "
            f"{doc.instance_count} instances in {len(doc.series)} series: list a series' instances to find "
            "their SOP Instance UIDs"
        )
    _check_paging(offset, 1)
    series = doc.series_by_uid(instance.series_uid)
    levels: list[tuple[str, Mapping[str, Any]]] = [("Instance", instance.attributes)]
    if include_levels:
        levels = [("Patient", doc.patient), ("Study", doc.study), ("Series", series.attributes if series else {})]
        levels.append(("Instance", instance.attributes))
    all_rows = sorted(
        (
            (_attribute_sort_key(key), level, key, value)
            for level, attributes in levels
            for key, value in attributes.items()
        ),
        key=lambda row: row[0],
    )
    selected, unknown = _resolve_keywords(keywords)
    absent: list[str] = []
    if selected is not None:
        wanted = {tag for _, tag in selected}
        present = {sort_key[1] for sort_key, *_ in all_rows}
        absent = [name for name, tag in selected if tag not in present]
        all_rows = [row for row in all_rows if row[0][1] in wanted]
    rows = [_attribute_row(key, level, value, instance.vrs) for _, level, key, value in all_rows[offset:]]
    frames = [
        FrameInfo(id=frame.id, min=frame.min_pixel_value, max=frame.max_pixel_value, size=frame.size_in_bytes)
        for frame in instance.frames[:_FRAMES_SHOWN]
    ]

    def build(count: int) -> InstanceDetail:
        end = offset + count
        return InstanceDetail(
            image_set_id=doc.image_set_id,
            series_instance_uid=instance.series_uid,
            sop_instance_uid=instance.sop_uid,
            instance_number=instance.instance_number,
            stored_transfer_syntax=instance.stored_transfer_syntax_uid,
            attributes=rows[:count],
            offset=offset,
            returned=count,
            total=len(all_rows),
            next_offset=end if end < len(all_rows) else None,
            truncated=count < len(rows),
            unknown_keywords=unknown or None,
            absent_keywords=absent or None,
            frame_count=instance.number_of_frames,
            frames=frames,
        )

    return fit_model(build, rows, budget_chars=budget_chars, min_items=1 if rows else 0)


# --- helpers ---------------------------------------------------------------------------------------------


def _check_paging(offset: int, limit: int) -> None:
    if offset < 0:
        raise ViewError(f"offset must be 0 or more, not {offset}")
    if limit < 1:
        raise ViewError(f"limit must be 1 or more, not {limit}")


def _unknown_series_message(doc: ImageSetDocument, series_uid: str) -> str:
    listed = [
        f"{series.uid} ({', '.join(filter(None, [series.modality, series.description])) or 'no description'})"
        for series in doc.series[:_SERIES_LISTED_IN_ERRORS]
    ]
    more = len(doc.series) - len(listed)
    tail = f" and {more} more" if more > 0 else ""
    choices = "; ".join(listed) if listed else "none"
    return f"series {series_uid!r} is not in image set {doc.image_set_id}; its series are: {choices}{tail}"


def _tag_of_selector(selector: str) -> int | None:
    """A tag from a keyword (case-sensitive), 8 hex digits, or ``(gggg,eeee)``."""
    text = selector.strip()
    match = _TAG_TEXT.fullmatch(text)
    if match is not None:
        return int(match.group(1) + match.group(2), 16)
    if is_hex_key(text):
        return int(text, 16)
    return tag_of(text)


def _resolve_keywords(keywords: Sequence[str] | None) -> tuple[list[tuple[str, int]] | None, list[str]]:
    """``(selector, tag)`` pairs for the selectors that name a tag, and the ones that name none."""
    if keywords is None:
        return None, []
    selected: list[tuple[str, int]] = []
    unknown: list[str] = []
    for selector in dict.fromkeys(keywords):
        tag = _tag_of_selector(selector)
        if tag is None:
            unknown.append(selector)
        else:
            selected.append((selector, tag))
    return selected, unknown


def _attribute_sort_key(key: str) -> tuple[bool, int, str]:
    tag = tag_of(key)
    return (tag is None, tag if tag is not None else -1, key)


def _attribute_row(key: str, level: str, value: Any, vrs: Mapping[str, str]) -> AttributeRow:
    tag = tag_of(key)
    vr = vr_of(key, vrs)
    tag_text = f"({tag >> 16:04X},{tag & 0xFFFF:04X})" if tag is not None else "(????,????)"
    return AttributeRow(keyword=key, tag=tag_text, vr=vr, level=level, value=shorten_value(value, vr=vr))


def _first_frame_indexes(series: SeriesView) -> list[int]:
    indexes: list[int] = []
    running = 0
    for instance in series.instances:
        indexes.append(running)
        running += instance.number_of_frames
    return indexes


def _lookup(
    key: str, instance: InstanceView, series: SeriesView, doc: ImageSetDocument
) -> tuple[bool, Any, str | None]:
    for attributes in (instance.attributes, series.attributes, doc.study, doc.patient):
        if key in attributes:
            return True, attributes[key], vr_of(key, instance.vrs)
    return False, None, None


def _instance_row(
    instance: InstanceView,
    slice_index: int,
    selected: list[tuple[str, int]] | None,
    doc: ImageSetDocument,
    series: SeriesView,
) -> InstanceRow:
    attributes = instance.attributes
    position = as_floats(attributes.get("ImagePositionPatient"))
    frame_ids = [frame.id for frame in instance.frames]
    if len(frame_ids) > _FRAME_IDS_ALL_UP_TO:
        frame_ids = frame_ids[:_FRAME_IDS_SHOWN]
    extra: dict[str, Any] | None = None
    if selected:
        extra = {}
        for _, tag in selected:
            key = keyword_or_hex(tag)
            found, value, vr = _lookup(key, instance, series, doc)
            if found:
                extra[key] = shorten_value(value, vr=vr)
    return InstanceRow(
        sop_instance_uid=instance.sop_uid,
        instance_number=instance.instance_number,
        slice_index=slice_index,
        image_position=position if position is not None and len(position) == 3 else None,
        slice_location=as_float(attributes.get("SliceLocation")),
        acquisition_number=as_int(attributes.get("AcquisitionNumber")),
        frame_count=instance.number_of_frames,
        frame_ids=frame_ids,
        attributes=extra,
    )
