"""QIDO-RS: search studies, series and instances over the index, answered as DICOM JSON.

Orderings follow HealthImaging: studies by last update (newest first), series by SeriesNumber, instances by
InstanceNumber (within a study: newest series first). At most 10,000 matches can be paged through; a search
matching more says so in a ``Warning`` header.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ...dicom.dicom_json import dicom_json
from ...dicom.values import as_int
from .documents import DocumentCache
from .index import INSTANCE_KEYS, DicomWebIndex, InstanceRow, SeriesRow
from .matching import MatchKey
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


Candidate = Callable[[], _Record]
"""A match in answer order; building its record (attributes to answer with) waits until it is on the page."""


class QidoSearch:
    def __init__(self, index: DicomWebIndex, documents: DocumentCache) -> None:
        self.index = index
        self.documents = documents

    def search(self, datastore_id: str, query: Query, scope: Scope, urls: ResourceUrls) -> SearchResult:
        if query.level == Level.STUDY:
            page, over_cap = _page(self._studies(datastore_id, scope, query), query.offset, query.limit)
        elif query.level == Level.SERIES:
            page, over_cap = _page(self._series(datastore_id, scope, query), query.offset, query.limit)
        else:
            page, over_cap = self._instances(datastore_id, scope, query, urls)
        result = SearchResult([], list(query.warnings))
        if over_cap:
            result.warnings.append(
                f"The search matched more than {MAX_RECORDS:,} records; only the first {MAX_RECORDS:,} can be "
                "returned. Narrow the search"
            )
        keys = _returned_keys(query, scope)
        for record in page:
            bulk = urls.bulk_data_locator(*record.instance) if record.instance else None
            selected = record.attributes.keys() if query.include_all else keys
            result.datasets.append(dicom_json(record.attributes, record.vrs, keys=selected, bulk_data=bulk))
        return result

    def _studies(self, datastore_id: str, scope: Scope, query: Query) -> Iterator[Candidate]:
        for study in self.index.study_rows(datastore_id, scope.study_uid):
            computed = {
                **AVAILABILITY,
                "ModalitiesInStudy": study.modalities,
                "NumberOfStudyRelatedSeries": study.series_count,
                "NumberOfStudyRelatedInstances": study.instance_count,
            }
            record = _Record(ChainMap(computed, study.study), {})
            if _matches(record.attributes, query.matches):
                yield _ready(record)

    def _series(self, datastore_id: str, scope: Scope, query: Query) -> Iterator[Candidate]:
        rows = sorted(self.index.series_rows(datastore_id, scope.study_uid, scope.series_uid), key=_series_order)
        for row in rows:
            record = _Record(_series_attributes(row), {})
            if _matches(record.attributes, query.matches):
                yield _ready(record)

    def _instances(
        self, datastore_id: str, scope: Scope, query: Query, urls: ResourceUrls
    ) -> tuple[list[_Record], bool]:
        """Series-level (and above) keys pick series; instance keys, when any, are tested instance by instance,
        otherwise the index pages the instances of the picked series itself."""
        series = {row.key: row for row in self.index.series_rows(datastore_id, scope.study_uid, scope.series_uid)}
        upper = [m for m in query.matches if m.test is not None and attribute_level(m.key) < Level.INSTANCE]
        own = [m for m in query.matches if m.test is not None and attribute_level(m.key) == Level.INSTANCE]
        picked = {key: row for key, row in series.items() if _matches(_series_attributes(row), upper)}
        full = _needs_documents(query)
        rows = partial(
            self.index.instance_rows,
            datastore_id,
            scope.study_uid,
            scope.series_uid,
            newest_series_first=scope.study_uid is not None,
            series_keys=list(picked) if upper else None,
        )
        if not own:
            end = min(query.offset + query.limit, MAX_RECORDS)
            found = rows(offset=query.offset, limit=max(end - query.offset, 0))
            page = [self._instance_record(picked[i.series_key], i, urls, full) for i in found if i.series_key in picked]
            return page, sum(row.instance_count for row in picked.values()) > MAX_RECORDS
        from_documents = any(m.key not in INSTANCE_KEYS and m.key not in COMPUTED for m in own)
        candidates = (
            partial(self._instance_record, picked[i.series_key], i, urls, full)
            for i in rows()
            if i.series_key in picked and _matches(self._attributes(picked[i.series_key], i, from_documents)[0], own)
        )
        return _page(candidates, query.offset, query.limit)

    def _attributes(
        self, row: SeriesRow, instance: InstanceRow, from_document: bool
    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        """An instance's own attributes (and VRs): those of the index, or all of them from its document."""
        if not from_document:
            return instance.attributes, {}
        entry = _document_instance(self.documents.get(row.metadata_blob), row.series_uid, instance.sop_uid)
        return dict(entry.get("DICOM") or {}), entry.get("DICOMVRs") or {}

    def _instance_record(self, row: SeriesRow, instance: InstanceRow, urls: ResourceUrls, full: bool) -> _Record:
        attributes, vrs = self._attributes(row, instance, full)
        uids = (row.study_uid, row.series_uid, instance.sop_uid)
        computed = {**AVAILABILITY, "RetrieveURL": urls.instance(*uids)}
        return _Record(ChainMap(computed, attributes, *_series_attributes(row).maps), vrs, uids)


def _ready(record: _Record) -> Candidate:
    return lambda: record


def _page(matches: Iterable[Candidate], offset: int, limit: int) -> tuple[list[_Record], bool]:
    """The records of one page among the first MAX_RECORDS matches, and whether there are more than that."""
    page: list[_Record] = []
    end = min(offset + limit, MAX_RECORDS)
    for position, candidate in enumerate(matches):
        if position >= MAX_RECORDS:
            return page, True
        if offset <= position < end:
            page.append(candidate())
    return page, False


def _series_attributes(row: SeriesRow) -> ChainMap[str, Any]:
    computed = {**AVAILABILITY, "NumberOfSeriesRelatedInstances": row.instance_count}
    return ChainMap(computed, row.series, row.study)


def _series_order(row: SeriesRow) -> tuple[bool, int, str, str]:
    number = as_int(row.series.get("SeriesNumber"))
    return (number is None, number or 0, row.study_uid, row.series_uid)


def _document_instance(document: Mapping[str, Any], series_uid: str, sop_uid: str) -> Mapping[str, Any]:
    series = document.get("Study", {}).get("Series", {}).get(series_uid, {})
    instance: Mapping[str, Any] = series.get("Instances", {}).get(sop_uid, {})
    return instance


def _needs_documents(query: Query) -> bool:
    """Whether an instance answer needs instance attributes the index does not keep."""
    if query.include_all:
        return True
    return any(
        attribute_level(key) == Level.INSTANCE and key not in INSTANCE_KEYS and key not in COMPUTED
        for key in query.returned_keys
    )


def _matches(attributes: Mapping[str, Any], matches: Iterable[MatchKey]) -> bool:
    return all(m.test is None or m.test(attributes.get(m.key)) for m in matches)


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
