"""Typed, documented shapes for metadata updates and copies, and their translation to HealthImaging documents.

The assistant names attributes by DICOM keyword per level, and instances by SOP Instance UID alone; the
series each instance belongs to is looked up in the current metadata, so nobody has to hand-write the
nested `Patient/Study/Series/Instances` JSON (which remains available as a raw escape hatch).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field

from ..dicom.document import ImageSetDocument
from ..errors import invalid

Attributes = dict[str, Any]


class AttributeValues(BaseModel):
    """New values by level, keyed by DICOM keyword (e.g. PatientName, StudyDescription)."""

    patient: Attributes | None = None
    study: Attributes | None = None
    series: Annotated[dict[str, Attributes] | None, Field(description="SeriesInstanceUID -> attributes")] = None
    instances: Annotated[dict[str, Attributes] | None, Field(description="SOPInstanceUID -> attributes")] = None


class AttributeNames(BaseModel):
    """Attributes to remove by level (DICOM keywords)."""

    patient: list[str] | None = None
    study: list[str] | None = None
    series: Annotated[dict[str, list[str]] | None, Field(description="SeriesInstanceUID -> keywords")] = None
    instances: Annotated[dict[str, list[str]] | None, Field(description="SOPInstanceUID -> keywords")] = None


def _series_of(document: ImageSetDocument, sop_uid: str) -> str:
    instance = document.instance(sop_uid)
    if instance is None:
        raise invalid(f"SOP instance {sop_uid} is not in this image set version.", "Check the UID in the metadata.")
    return instance.series_uid


def _series_exists(document: ImageSetDocument, series_uid: str) -> None:
    if document.series_by_uid(series_uid) is None:
        known = ", ".join(s.uid for s in document.series[:10])
        raise invalid(f"Series {series_uid} is not in this image set. It holds: {known}")


class _Builder:
    def __init__(self, document: ImageSetDocument) -> None:
        self.document = document
        self.root: dict[str, Any] = {"SchemaVersion": 1.1}

    def level(self, name: str) -> dict[str, Any]:
        attributes: dict[str, Any] = self.root.setdefault(name, {}).setdefault("DICOM", {})
        return attributes

    def series(self, series_uid: str) -> dict[str, Any]:
        _series_exists(self.document, series_uid)
        series: dict[str, Any] = self.root.setdefault("Study", {}).setdefault("Series", {}).setdefault(series_uid, {})
        return series

    def instance(self, sop_uid: str) -> dict[str, Any]:
        instances = self.series(_series_of(self.document, sop_uid)).setdefault("Instances", {})
        entry: dict[str, Any] = instances.setdefault(sop_uid, {})
        return entry

    def has_changes(self) -> bool:
        return len(self.root) > 1


def updatable_document(document: ImageSetDocument, values: AttributeValues) -> dict[str, Any] | None:
    builder = _Builder(document)
    if values.patient:
        builder.level("Patient").update(values.patient)
    if values.study:
        builder.level("Study").update(values.study)
    for series_uid, attributes in (values.series or {}).items():
        builder.series(series_uid).setdefault("DICOM", {}).update(attributes)
    for sop_uid, attributes in (values.instances or {}).items():
        builder.instance(sop_uid).setdefault("DICOM", {}).update(attributes)
    return builder.root if builder.has_changes() else None


def removable_document(
    document: ImageSetDocument, names: AttributeNames | None, series: list[str], instances: list[str]
) -> dict[str, Any] | None:
    """Attributes to remove (with their current values), plus whole series/instances as empty objects."""
    builder = _Builder(document)
    names = names or AttributeNames()
    for level, keywords, current in (
        ("Patient", names.patient, document.patient),
        ("Study", names.study, document.study),
    ):
        for keyword in keywords or []:
            builder.level(level)[keyword] = current.get(keyword)
    for series_uid, keywords in (names.series or {}).items():
        target = builder.series(series_uid).setdefault("DICOM", {})
        view = document.series_by_uid(series_uid)
        for keyword in keywords:
            target[keyword] = view.attributes.get(keyword) if view else None
    for sop_uid, keywords in (names.instances or {}).items():
        target = builder.instance(sop_uid).setdefault("DICOM", {})
        instance = document.instance(sop_uid)
        for keyword in keywords:
            target[keyword] = instance.attributes.get(keyword) if instance else None
    for series_uid in series:
        builder.series(series_uid).clear()
    for sop_uid in instances:
        builder.instance(sop_uid).clear()
    return builder.root if builder.has_changes() else None


def copiable_document(document: ImageSetDocument, series: list[str], instances: list[str]) -> str | None:
    """The copiableAttributes JSON string selecting whole series and/or single instances (None: everything)."""
    if not series and not instances:
        return None
    builder = _Builder(document)
    for series_uid in series:
        view = document.series_by_uid(series_uid)
        entries = builder.series(series_uid).setdefault("Instances", {})
        for instance in view.instances if view else []:
            entries[instance.sop_uid] = {}
    for sop_uid in instances:
        builder.instance(sop_uid)
    builder.root["SchemaVersion"] = "1.1"
    return json.dumps(builder.root, separators=(",", ":"))


def parse_raw(text: str | None, name: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise invalid(f"{name} must be a JSON object shaped like the image set metadata")
    return value
