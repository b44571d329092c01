"""SearchImageSets: EQUAL and BETWEEN on every searchable field, two filters together, sorting, real DICOMTags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from healthimaging_mcp.local.samples.collection import (
    BUNDLED_FILES,
    PHANTOM_SLICES,
    load_bundled,
    rehome,
    synth_ct_series,
)

EQUAL_FIELDS = [
    "DICOMPatientId",
    "DICOMAccessionNumber",
    "DICOMStudyId",
    "DICOMStudyInstanceUID",
    "DICOMSeriesInstanceUID",
]


def search(client: Any, datastore_id: str, **criteria: Any) -> list[dict[str, Any]]:
    pages = client.get_paginator("search_image_sets").paginate(datastoreId=datastore_id, searchCriteria=criteria)
    summaries: list[dict[str, Any]] = pages.build_full_result()["imageSetsMetadataSummaries"]
    return summaries


def ids(summaries: list[dict[str, Any]]) -> set[str]:
    return {s["imageSetId"] for s in summaries}


def equal(field: str, value: Any) -> dict[str, Any]:
    return {"operator": "EQUAL", "values": [{field: value}]}


def between(field: str, low: Any, high: Any) -> dict[str, Any]:
    return {"operator": "BETWEEN", "values": [{field: low}, {field: high}]}


def study_date(date: str, time: str | None = None) -> dict[str, str]:
    return {"DICOMStudyDate": date, **({"DICOMStudyTime": time} if time else {})}


@pytest.mark.parametrize("field", EQUAL_FIELDS)
def test_equal_matches_exactly_on_each_searchable_field(
    sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]], field: str
) -> None:
    values = {s["DICOMTags"][field] for s in sample_summaries}
    assert len(values) > 1
    for value in values:
        found = search(sample_client, sample_datastore_id, filters=[equal(field, value)])
        assert ids(found) == {s["imageSetId"] for s in sample_summaries if s["DICOMTags"][field] == value}
    some = next(iter(values))
    assert search(sample_client, sample_datastore_id, filters=[equal(field, some[:-1])]) == []


def test_equal_on_is_primary(
    sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    assert ids(search(sample_client, sample_datastore_id, filters=[equal("isPrimary", True)])) == ids(sample_summaries)
    assert search(sample_client, sample_datastore_id, filters=[equal("isPrimary", False)]) == []


@pytest.mark.parametrize("field", ["createdAt", "updatedAt"])
def test_between_on_timestamps_is_inclusive(
    sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]], field: str
) -> None:
    stamps = sorted({s[field] for s in sample_summaries})
    assert len(stamps) >= 3
    low, high = stamps[1], stamps[-2]
    found = search(sample_client, sample_datastore_id, filters=[between(field, low, high)])
    assert ids(found) == {s["imageSetId"] for s in sample_summaries if low <= s[field] <= high}
    everything = search(
        sample_client, sample_datastore_id, filters=[between(field, stamps[0] - timedelta(days=1), stamps[-1])]
    )
    assert ids(everything) == ids(sample_summaries)
    future = stamps[-1] + timedelta(days=1)
    assert search(sample_client, sample_datastore_id, filters=[between(field, future, future + timedelta(1))]) == []


def test_between_on_study_date_and_time(
    sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    def stamp(s: dict[str, Any]) -> str:
        return str(s["DICOMTags"]["DICOMStudyDate"] + s["DICOMTags"]["DICOMStudyTime"])

    found = search(
        sample_client,
        sample_datastore_id,
        filters=[between("DICOMStudyDateAndTime", study_date("20240101"), study_date("20240301"))],
    )
    assert ids(found) == {s["imageSetId"] for s in sample_summaries if "20240101" <= stamp(s)[:8] <= "20240301"}
    assert {s["DICOMTags"]["DICOMPatientId"] for s in found} == {"PAT-BOB-002"}
    # The time narrows the range and both bounds are inclusive.
    exact = search(
        sample_client,
        sample_datastore_id,
        filters=[between("DICOMStudyDateAndTime", study_date("20240117", "110500"), study_date("20240117", "110500"))],
    )
    assert ids(exact) == {s["imageSetId"] for s in sample_summaries if stamp(s) == "20240117110500"}
    assert exact
    later = search(
        sample_client,
        sample_datastore_id,
        filters=[between("DICOMStudyDateAndTime", study_date("20240117", "110501"), study_date("20240117", "235959"))],
    )
    assert later == []


def test_two_filters_are_combined(
    sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    found = search(
        sample_client,
        sample_datastore_id,
        filters=[
            equal("DICOMPatientId", "PAT-BOB-002"),
            between("DICOMStudyDateAndTime", study_date("20240201"), study_date("20241231")),
        ],
    )
    assert {s["DICOMTags"]["DICOMStudyDescription"] for s in found} == {"NM BONE SCAN WHOLE BODY"}
    assert len(found) == 5
    target = sample_summaries[3]
    stamps = sorted(s["updatedAt"] for s in sample_summaries)
    documented = search(
        sample_client,
        sample_datastore_id,
        filters=[
            between("updatedAt", stamps[0], stamps[-1]),
            equal("DICOMSeriesInstanceUID", target["DICOMTags"]["DICOMSeriesInstanceUID"]),
        ],
        sort={"sortField": "updatedAt", "sortOrder": "ASC"},
    )
    assert ids(documented) == {target["imageSetId"]}


@pytest.mark.parametrize("order", ["ASC", "DESC"])
@pytest.mark.parametrize("field", ["createdAt", "updatedAt", "DICOMStudyDateAndTime"])
def test_results_are_sorted_by_each_sort_field(
    sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]], field: str, order: str
) -> None:
    sort = {"sortField": field, "sortOrder": order}
    response = sample_client.search_image_sets(datastoreId=sample_datastore_id, searchCriteria={"sort": sort})
    assert response["sort"] == sort
    found = response["imageSetsMetadataSummaries"]
    assert len(found) == len(sample_summaries)
    if field == "DICOMStudyDateAndTime":
        keys: list[Any] = [s["DICOMTags"]["DICOMStudyDate"] + s["DICOMTags"]["DICOMStudyTime"] for s in found]
    else:
        keys = [s[field] for s in found]
    assert keys == sorted(keys, reverse=order == "DESC")


def test_default_order_is_most_recently_updated_first(sample_client: Any, sample_datastore_id: str) -> None:
    response = sample_client.search_image_sets(datastoreId=sample_datastore_id)
    stamps = [s["updatedAt"] for s in response["imageSetsMetadataSummaries"]]
    assert stamps == sorted(stamps, reverse=True)
    assert "sort" not in response


def test_summaries_carry_the_dicom_tags_of_the_image_set(
    sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    by_series = {s["DICOMTags"]["DICOMSeriesInstanceUID"]: s["DICOMTags"] for s in sample_summaries}
    seen: set[str] = set()
    one_per_series = [next(synth_ct_series()), *(rehome(load_bundled(sample), sample) for sample in BUNDLED_FILES)]
    for ds in one_per_series:
        seen.add(ds.SeriesInstanceUID)
        tags = by_series[ds.SeriesInstanceUID]
        assert tags["DICOMPatientId"] == ds.PatientID
        assert tags["DICOMPatientName"] == str(ds.PatientName)
        assert tags["DICOMPatientBirthDate"] == ds.PatientBirthDate
        assert tags["DICOMPatientSex"] == ds.PatientSex
        assert tags["DICOMStudyInstanceUID"] == ds.StudyInstanceUID
        assert tags["DICOMStudyId"] == ds.StudyID
        assert tags["DICOMStudyDescription"] == ds.StudyDescription
        assert tags["DICOMAccessionNumber"] == ds.AccessionNumber
        assert (tags["DICOMStudyDate"], tags["DICOMStudyTime"]) == (ds.StudyDate, ds.StudyTime)
        assert tags["DICOMSeriesModality"] == ds.Modality
        assert tags["DICOMSeriesNumber"] == int(ds.SeriesNumber)
        assert tags["DICOMNumberOfStudyRelatedSeries"] == 1
        expected_instances = PHANTOM_SLICES if ds.SeriesDescription == "AXIAL 2.5MM" else 1
        assert tags["DICOMNumberOfStudyRelatedInstances"] == expected_instances
        if "BodyPartExamined" in ds and ds.BodyPartExamined:
            assert tags["DICOMSeriesBodyPart"] == ds.BodyPartExamined
    assert len(seen) == len(BUNDLED_FILES) + 1
