"""QIDO-RS: search studies, series and instances over the index, answered as DICOM JSON.

Orderings follow HealthImaging: studies by last update (newest first), series by SeriesNumber, instances by
InstanceNumber (within a study: newest series first). At most 10,000 matches can be paged through; a search
matching more says so in a ``Warning`` header.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...dicom.dicom_json import dicom_json
from ...dicom.values import as_int, as_text
from .documents import DocumentCache
from .index import INSTANCE_KEYS, DicomWebIndex, SeriesRow
from .query import COMPUTED, Level, Query, attribute_level
from .urls import ResourceUrls

MAX_RECORDS = 10_000

STUDY_ATTRIBUTES = (
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyID",
    "StudyDescription",
    "TimezoneOffsetFromUTC",
)
STUDY_DEFAULTS = (*STUDY_ATTRIBUTES, "ModalitiesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances")
SERIES_DEFAULTS = (
    "Modality",
    "SeriesDescription",
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDate",
    "SeriesTime",
    "BodyPartExamined",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "NumberOfSeriesRelatedInstances",
    "StudyInstanceUID",
)
INSTANCE_DEFAULTS = (*INSTANCE_KEYS, "StudyInstanceUID", "SeriesInstanceUID", "RetrieveURL")
AVAILABILITY = {"InstanceAvailability": "ONLINE"}


@dataclass(frozen=True)
class Scope:
    """What the path fixes: nothing (relational search), a study, or a study and a series."""

    study_uid: str | None = None
    series_uid: str | None = None


@dataclass
class SearchResult:
    datasets: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Record:
    attributes: Mapping[str, Any]
    vrs: Mapping[str, str]
    instance: tuple[str, str, str] | None = None  # (study, series, SOP) UIDs, for bulk data URIs


class QidoSearch:
    def __init__(self, index: DicomWebIndex, documents: DocumentCache) -> None:
        self.index = index
        self.documents = documents

    def search(self, datastore_id: str, query: Query, scope: Scope, urls: ResourceUrls) -> SearchResult:
        if query.level == Level.STUDY:
            records = self._studies(datastore_id, scope)
        elif query.level == Level.SERIES:
            records = self._series(datastore_id, scope)
        else:
            records = self._instances(datastore_id, scope, urls, full=_needs_documents(query))
        matched = [r for r in records if _matches(r.attributes, query)]
        result = SearchResult([], list(query.warnings))
        if len(matched) > MAX_RECORDS:
            result.warnings.append(
                f"The search matched {len(matched):,} records; only the first {MAX_RECORDS:,} can be returned. "
                "Narrow the search"
            )
        page = matched[:MAX_RECORDS][query.offset : query.offset + query.limit]
        keys = _returned_keys(query, scope)
        for record in page:
            bulk = urls.bulk_data_locator(*record.instance) if record.instance else None
            selected = record.attributes.keys() if query.include_all else keys
            result.datasets.append(dicom_json(record.attributes, record.vrs, keys=selected, bulk_data=bulk))
        return result

    def _studies(self, datastore_id: str, scope: Scope) -> list[_Record]:
        studies: dict[str, list[SeriesRow]] = {}
        for row in self.index.series_rows(datastore_id, scope.study_uid):  # newest first
            studies.setdefault(row.study_uid, []).append(row)
        records = []
        for rows in studies.values():
            modalities = sorted({m for m in (as_text(r.series.get("Modality")) for r in rows) if m})
            computed = {
                **AVAILABILITY,
                "ModalitiesInStudy": modalities,
                "NumberOfStudyRelatedSeries": len(rows),
                "NumberOfStudyRelatedInstances": sum(r.instance_count for r in rows),
            }
            records.append(_Record(ChainMap(computed, rows[0].study), {}))
        return records

    def _series(self, datastore_id: str, scope: Scope) -> list[_Record]:
        rows = sorted(self.index.series_rows(datastore_id, scope.study_uid, scope.series_uid), key=_series_order)
        return [_Record(_series_attributes(row), {}) for row in rows]

    def _instances(self, datastore_id: str, scope: Scope, urls: ResourceUrls, *, full: bool) -> list[_Record]:
        series = {
            (row.image_set_id, row.series_uid): row
            for row in self.index.series_rows(datastore_id, scope.study_uid, scope.series_uid)
        }
        records: list[tuple[tuple[Any, ...], _Record]] = []
        for instance in self.index.instance_rows(datastore_id, scope.study_uid, scope.series_uid):
            row = series.get((instance.image_set_id, instance.series_uid))
            if row is None:  # written between the two reads; the next search sees it whole
                continue
            attributes: Mapping[str, Any] = instance.attributes
            vrs: Mapping[str, str] = {}
            if full:
                entry = _document_instance(self.documents.get(row.metadata_blob), row.series_uid, instance.sop_uid)
                attributes, vrs = entry.get("DICOM") or {}, entry.get("DICOMVRs") or {}
            uids = (row.study_uid, row.series_uid, instance.sop_uid)
            computed = {**AVAILABILITY, "RetrieveURL": urls.instance(*uids)}
            record = _Record(ChainMap(computed, dict(attributes), *_series_attributes(row).maps), vrs, uids)
            records.append((_instance_order(row, attributes, instance.sop_uid, by_update=scope.study_uid), record))
        records.sort(key=lambda pair: pair[0])
        return [record for _, record in records]


def _series_attributes(row: SeriesRow) -> ChainMap[str, Any]:
    computed = {**AVAILABILITY, "NumberOfSeriesRelatedInstances": row.instance_count}
    return ChainMap(computed, row.series, row.study)


def _series_order(row: SeriesRow) -> tuple[bool, int, str, str]:
    number = as_int(row.series.get("SeriesNumber"))
    return (number is None, number or 0, row.study_uid, row.series_uid)


def _instance_order(
    row: SeriesRow, attributes: Mapping[str, Any], sop_uid: str, *, by_update: str | None
) -> tuple[Any, ...]:
    number = as_int(attributes.get("InstanceNumber"))
    within = (number is None, number or 0, sop_uid)
    if by_update is not None:  # a study's instances: newest series first, then series and instance number
        return (-row.updated_at, *_series_order(row), *within)
    return (*within, row.study_uid, row.series_uid)


def _document_instance(document: Mapping[str, Any], series_uid: str, sop_uid: str) -> Mapping[str, Any]:
    series = document.get("Study", {}).get("Series", {}).get(series_uid, {})
    instance: Mapping[str, Any] = series.get("Instances", {}).get(sop_uid, {})
    return instance


def _needs_documents(query: Query) -> bool:
    """Whether an instance search needs instance attributes the index does not keep."""
    if query.include_all:
        return True
    return any(
        attribute_level(key) == Level.INSTANCE and key not in INSTANCE_KEYS and key not in COMPUTED
        for key in query.returned_keys
    )


def _matches(attributes: Mapping[str, Any], query: Query) -> bool:
    return all(m.test is None or m.test(attributes.get(m.key)) for m in query.matches)


def _returned_keys(query: Query, scope: Scope) -> list[str]:
    if query.level == Level.STUDY:
        defaults: Iterable[str] = STUDY_DEFAULTS
    elif query.level == Level.SERIES:
        defaults = SERIES_DEFAULTS if scope.study_uid else (*SERIES_DEFAULTS, *STUDY_ATTRIBUTES)
    elif scope.series_uid:
        defaults = INSTANCE_DEFAULTS
    elif scope.study_uid:
        defaults = (*INSTANCE_DEFAULTS, *SERIES_DEFAULTS)
    else:
        defaults = (*INSTANCE_DEFAULTS, *SERIES_DEFAULTS, *STUDY_ATTRIBUTES)
    return list(dict.fromkeys([*defaults, *AVAILABILITY, *query.returned_keys]))
