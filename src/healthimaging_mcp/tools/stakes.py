"""What a destructive call would destroy, in words a person can judge before confirming it.

Phrases name the patient (pseudonyms under PHI redaction), the study, modalities, counts and versions, and
stay short: lists are capped with a count of what was left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..dicom.document import ImageSetDocument, SeriesView
from ..dicom.values import as_text, iso_date
from ..runtime import Runtime
from .common import iso
from .image_sets import ImageSetHit, build_filters

LISTED = 3
"""Series, image sets or attribute names named one by one; the rest are counted."""
_SEARCH_PAGE = 50
_SEARCH_PAGES = 4


def counted(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def _listed(names: list[str], separator: str = ", ") -> str:
    shown = separator.join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def patient_and_study(rt: Runtime, document: ImageSetDocument) -> str:
    """`patient NAME (ID), study 'DESCRIPTION' DATE`; the patient as pseudonyms under PHI redaction."""
    patient = {
        "patient_name": as_text(document.patient.get("PatientName")),
        "patient_id": as_text(document.patient.get("PatientID")),
    }
    patient = rt.redaction.value(patient)
    who = patient["patient_name"] or "(no name)"
    if patient["patient_id"]:
        who += f" ({patient['patient_id']})"
    description = as_text(document.study.get("StudyDescription"))
    study = " ".join(
        part
        for part in ("study", f"'{description}'" if description else None, iso_date(document.study.get("StudyDate")))
        if part
    )
    return f"patient {who}, {study}"


def contents(document: ImageSetDocument) -> str:
    """`CT, 2 series, 128 instances`."""
    modalities = list(dict.fromkeys(series.modality for series in document.series if series.modality))
    counts = f"{counted(len(document.series), 'series', 'series')}, {counted(document.instance_count, 'instance')}"
    return f"{'/'.join(modalities)}, {counts}" if modalities else counts


def image_set_facts(rt: Runtime, document: ImageSetDocument) -> str:
    """Who and what an image set holds: patient, study, modalities, counts."""
    return f"{patient_and_study(rt, document)}, {contents(document)}"


def _series_label(series: SeriesView) -> str:
    """`#2 CT 'AXIAL 2.5MM'` (the UID when it has none of these)."""
    parts = (
        f"#{series.number}" if series.number is not None else None,
        series.modality,
        f"'{series.description}'" if series.description else None,
    )
    return " ".join(part for part in parts if part) or series.uid


def _series_words(document: ImageSetDocument, uid: str) -> str:
    series = document.series_by_uid(uid)
    if series is None:
        return f"{uid} (not in this version)"
    return f"{_series_label(series)}, {counted(len(series.instances), 'instance')}"


class Removal:
    """What a removableAttributes document takes away from an image set."""

    def __init__(self, document: ImageSetDocument, removable: Mapping[str, Any]) -> None:
        self.document = document
        study = _mapping(removable.get("Study"))
        self.shared_attributes = [
            *_mapping(_mapping(removable.get("Patient")).get("DICOM")),
            *_mapping(study.get("DICOM")),
        ]
        self.whole_series: list[str] = []
        self.instances = 0
        self.instance_series: list[str] = []
        self.other_attributes = 0
        for uid, series in _mapping(study.get("Series")).items():
            if series == {}:
                self.whole_series.append(uid)
                continue
            self.other_attributes += len(_mapping(_mapping(series).get("DICOM")))
            for instance in _mapping(_mapping(series).get("Instances")).values():
                if instance == {}:
                    self.instances += 1
                    if uid not in self.instance_series:
                        self.instance_series.append(uid)
                else:
                    self.other_attributes += len(_mapping(_mapping(instance).get("DICOM")))

    @property
    def removes_data(self) -> bool:
        """Whole series or instances go (attributes alone are metadata corrections)."""
        return bool(self.whole_series or self.instances)

    @property
    def removes_anything(self) -> bool:
        return self.removes_data or bool(self.shared_attributes or self.other_attributes)

    def _instance_series_words(self) -> str:
        if len(self.instance_series) > 1:
            return f"{len(self.instance_series)} series"
        series = self.document.series_by_uid(self.instance_series[0])
        return f"series {_series_label(series)}" if series else f"series {self.instance_series[0]}"

    def words(self) -> str:
        parts = []
        if self.whole_series:
            described = [_series_words(self.document, uid) for uid in self.whole_series]
            parts.append(f"{counted(len(described), 'series', 'series')} ({_listed(described, '; ')})")
        if self.instances:
            parts.append(f"{counted(self.instances, 'instance')} of {self._instance_series_words()}")
        if self.shared_attributes:
            parts.append(f"attributes {_listed(self.shared_attributes)}")
        if self.other_attributes:
            parts.append(counted(self.other_attributes, "series/instance attribute"))
        return " and ".join(parts) or "nothing"


def study_partners(rt: Runtime, datastore_id: str, document: ImageSetDocument, image_set_id: str) -> list[ImageSetHit]:
    """The other primary image sets of the document's study (what `includeStudyImageSets` also changes)."""
    study_uid = as_text(document.study.get("StudyInstanceUID"))
    if study_uid is None:
        return []
    search = {"filters": build_filters({"study_instance_uid": study_uid, "is_primary": True})}
    summaries = rt.aws.search_all_image_sets(
        datastore_id, search, page_size=_SEARCH_PAGE, max_items=_SEARCH_PAGE * _SEARCH_PAGES
    )
    hits = [ImageSetHit.from_api(s) for s in summaries]
    return [hit for hit in hits if hit.image_set_id != image_set_id]


def hit_words(hit: ImageSetHit) -> str:
    """`<id> (version 2, CT, 1 series, 3 instances)` from a search summary."""
    facts = [
        f"version {hit.version}" if hit.version is not None else None,
        hit.modality,
        counted(hit.series_count, "series", "series") if hit.series_count is not None else None,
        counted(hit.instance_count, "instance") if hit.instance_count is not None else None,
    ]
    return f"{hit.image_set_id} ({', '.join(fact for fact in facts if fact)})"


def partners_words(hits: list[ImageSetHit]) -> str:
    return _listed([hit_words(hit) for hit in hits], "; ")


def datastore_facts(rt: Runtime, datastore_id: str) -> str:
    """`'name' (ACTIVE, created …): it holds no image sets` (one search page tells how many, up to 50)."""
    properties = rt.aws.get_datastore(datastore_id)
    page = rt.aws.search_image_sets(datastore_id, {}, _SEARCH_PAGE)
    held = len(page.get("imageSetsMetadataSummaries", []))
    created = iso(properties.get("createdAt"))
    state = ", ".join(fact for fact in (properties.get("datastoreStatus"), created and f"created {created}") if fact)
    head = f"'{properties.get('datastoreName', '')}' ({state})"
    if not held:
        return f"{head}: it holds no image sets"
    count = f"more than {held}" if page.get("nextToken") else str(held)
    return (
        f"{head}: it still holds {count} image set{'s' if held != 1 else ''} "
        "(HealthImaging refuses to delete a datastore that is not empty)"
    )
