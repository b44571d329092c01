"""Pagination: small pages add up to one big page, with no skips or repeats; foreign and forged tokens are refused."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from healthimaging_mcp.local.service import LocalService
from tests.support.local_kit import Store, strict_client, update_document
from tests.support.local_testdata import SeriesSpec, series

ROLE = "arn:aws:iam::123456789012:role/ImportRole"
SORTS: list[dict[str, str] | None] = [
    None,
    {"sortField": "createdAt", "sortOrder": "ASC"},
    {"sortField": "updatedAt", "sortOrder": "DESC"},
    {"sortField": "DICOMStudyDateAndTime", "sortOrder": "ASC"},
    {"sortField": "DICOMStudyDateAndTime", "sortOrder": "DESC"},
]


def collect(call: Callable[..., dict[str, Any]], key: str, page_size: int, **params: Any) -> tuple[list[Any], int]:
    """Every item over all pages of `page_size`, and the number of pages it took."""
    items: list[Any] = []
    pages = 0
    token: str | None = None
    while True:
        response = call(maxResults=page_size, **params, **({"nextToken": token} if token else {}))
        pages += 1
        assert len(response[key]) <= page_size
        items += response[key]
        token = response.get("nextToken")
        if not token:
            return items, pages


def assert_refuses_foreign_tokens(
    call: Callable[..., dict[str, Any]], key: str, params: dict[str, Any], other: dict[str, Any]
) -> None:
    token = call(maxResults=1, **params)["nextToken"]
    with pytest.raises(ClientError) as info:
        call(maxResults=1, nextToken=token, **other)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "nextToken" in info.value.response["Error"]["Message"]
    forged_body = json.dumps({"q": "x", "p": [0, ""]}).encode()
    for forged in ("not-a-token", base64.urlsafe_b64encode(b"\x00" * 12 + forged_body).decode(), token[:-2] + "AA"):
        with pytest.raises(ClientError) as info:
            call(maxResults=1, nextToken=forged, **params)
        assert info.value.response["Error"]["Code"] == "ValidationException"


def test_search_pages_through_every_sort_order(
    sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    for sort in SORTS:
        params: dict[str, Any] = {"datastoreId": sample_datastore_id}
        if sort:
            params["searchCriteria"] = {"sort": sort}
        whole = sample_client.search_image_sets(maxResults=50, **params)
        assert "nextToken" not in whole
        items, pages = collect(sample_client.search_image_sets, "imageSetsMetadataSummaries", 4, **params)
        ids = [s["imageSetId"] for s in items]
        assert ids == [s["imageSetId"] for s in whole["imageSetsMetadataSummaries"]], sort
        assert len(set(ids)) == len(ids) == len(sample_summaries) and pages == 5


def test_search_paginator_and_filtered_pages(sample_client: Any, sample_datastore_id: str) -> None:
    paginator = sample_client.get_paginator("search_image_sets")
    pages = list(paginator.paginate(datastoreId=sample_datastore_id, PaginationConfig={"PageSize": 5}))
    assert [len(p["imageSetsMetadataSummaries"]) for p in pages] == [5, 5, 5, 4]
    criteria = {"filters": [{"operator": "EQUAL", "values": [{"DICOMPatientId": "PAT-BOB-002"}]}]}
    bob = paginator.paginate(
        datastoreId=sample_datastore_id, searchCriteria=criteria, PaginationConfig={"PageSize": 3}
    ).build_full_result()["imageSetsMetadataSummaries"]
    assert len(bob) == 9
    assert {s["DICOMTags"]["DICOMPatientId"] for s in bob} == {"PAT-BOB-002"}


def test_search_refuses_tokens_of_other_queries(sample_service: LocalService, sample_datastore_id: str) -> None:
    client = strict_client(sample_service)
    sort = SORTS[1]
    assert sort is not None
    asc = {"datastoreId": sample_datastore_id, "searchCriteria": {"sort": sort}}
    other = {"datastoreId": sample_datastore_id, "searchCriteria": {"sort": {**sort, "sortOrder": "DESC"}}}
    assert_refuses_foreign_tokens(client.search_image_sets, "imageSetsMetadataSummaries", asc, other)


def test_list_datastores_pages(fresh_service: LocalService) -> None:
    client = strict_client(fresh_service)
    ids = [client.create_datastore(datastoreName=f"page-{i}")["datastoreId"] for i in range(7)]
    client.delete_datastore(datastoreId=ids[3])
    whole = client.list_datastores(maxResults=50)["datastoreSummaries"]
    assert {d["datastoreId"] for d in whole} == set(ids)
    for size in (1, 2, 3):
        items, _ = collect(client.list_datastores, "datastoreSummaries", size)
        assert [d["datastoreId"] for d in items] == [d["datastoreId"] for d in whole]
    active, _ = collect(client.list_datastores, "datastoreSummaries", 2, datastoreStatus="ACTIVE")
    assert {d["datastoreId"] for d in active} == set(ids) - {ids[3]}
    paged = client.get_paginator("list_datastores").paginate(PaginationConfig={"PageSize": 2}).build_full_result()
    assert len(paged["datastoreSummaries"]) == 7
    assert_refuses_foreign_tokens(client.list_datastores, "datastoreSummaries", {}, {"datastoreStatus": "ACTIVE"})


def test_list_image_set_versions_pages_newest_first(store: Store) -> None:
    store.load(series(SeriesSpec(), 1))
    (summary,) = store.search()
    image_set_id = summary["imageSetId"]
    for version in range(1, 7):
        document = update_document({"Patient": {"DICOM": {"PatientName": f"PAGE^{version}"}}})
        store.update(
            image_set_id,
            str(version),
            updateImageSetMetadataUpdates={"DICOMUpdates": {"updatableAttributes": document}},
        )
    client = strict_client(store.service)
    params = {"datastoreId": store.datastore_id, "imageSetId": image_set_id}
    items, pages = collect(client.list_image_set_versions, "imageSetPropertiesList", 3, **params)
    assert [v["versionId"] for v in items] == ["7", "6", "5", "4", "3", "2", "1"] and pages == 3
    paginated = client.get_paginator("list_image_set_versions").paginate(**params, PaginationConfig={"PageSize": 2})
    assert len(paginated.build_full_result()["imageSetPropertiesList"]) == 7
    store.load(series(SeriesSpec(key="other"), 1))
    other = next(s["imageSetId"] for s in store.search() if s["imageSetId"] != image_set_id)
    assert_refuses_foreign_tokens(
        client.list_image_set_versions,
        "imageSetPropertiesList",
        params,
        {"datastoreId": store.datastore_id, "imageSetId": other},
    )


def test_list_import_jobs_pages_newest_first(fresh_service: LocalService, moto_s3: Any) -> None:
    client = strict_client(fresh_service)
    datastore_id = client.create_datastore(datastoreName="jobs")["datastoreId"]
    job_ids = []
    for index in range(5):
        job_ids.append(
            client.start_dicom_import_job(
                datastoreId=datastore_id,
                jobName=f"job-{index}",
                dataAccessRoleArn=ROLE,
                inputS3Uri="s3://no-such-bucket-for-paging/in/",
                outputS3Uri="s3://no-such-bucket-for-paging/out/",
            )["jobId"]
        )
    deadline = time.monotonic() + 20
    while any(
        client.get_dicom_import_job(datastoreId=datastore_id, jobId=j)["jobProperties"]["jobStatus"] != "FAILED"
        for j in job_ids
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    whole = client.list_dicom_import_jobs(datastoreId=datastore_id, maxResults=50)["jobSummaries"]
    assert {j["jobId"] for j in whole} == set(job_ids)
    submitted = [j["submittedAt"] for j in whole]
    assert submitted == sorted(submitted, reverse=True)
    items, pages = collect(client.list_dicom_import_jobs, "jobSummaries", 2, datastoreId=datastore_id)
    assert [j["jobId"] for j in items] == [j["jobId"] for j in whole] and pages == 3
    failed, _ = collect(client.list_dicom_import_jobs, "jobSummaries", 2, datastoreId=datastore_id, jobStatus="FAILED")
    assert len(failed) == 5
    paged = client.get_paginator("list_dicom_import_jobs").paginate(
        datastoreId=datastore_id, PaginationConfig={"PageSize": 2}
    )
    assert len(paged.build_full_result()["jobSummaries"]) == 5
    assert_refuses_foreign_tokens(
        client.list_dicom_import_jobs,
        "jobSummaries",
        {"datastoreId": datastore_id},
        {"datastoreId": datastore_id, "jobStatus": "FAILED"},
    )
