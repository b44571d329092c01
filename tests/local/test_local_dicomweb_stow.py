"""STOW-RS on the local service: `dicomweb-client` stores, the import rules apply (merge into the primary
image set, conflicts to a non-primary one), per-instance failures answer 409, and the request limits hold."""

from __future__ import annotations

import http.client
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pydicom
import pytest
from dicomweb_client import DICOMwebClient
from pydicom.dataset import Dataset
from requests import HTTPError

from healthimaging_mcp.local.dicomweb.multipart import Part, encode
from tests.support.dicom_files import part10
from tests.support.dicomweb import dicomweb_client, first, values
from tests.support.local_kit import Store
from tests.support.local_testdata import NOT_DICOM, SeriesSpec, ct_instance, series
from tests.support.raw_http import RawResponse, raw_request

SPEC = SeriesSpec(key="stow")
CONFLICT = SeriesSpec(key="stow", patient_id="PAT-CONFLICT")
OTHER_STUDY = SeriesSpec(key="stow-other", study_key="study-other")
REFERENCED, FAILED, FAILURE_REASON, ERROR_COMMENT = "00081199", "00081198", "00081197", "00000902"
SOP_INSTANCE, RETRIEVE_URL = "00081155", "00081190"


@pytest.fixture
def client(store: Store) -> DICOMwebClient:
    return dicomweb_client(store.service, store.datastore_id)


def post(store: Store, path: str, body: bytes, content_type: str, **headers: str) -> RawResponse:
    return raw_request(
        store.service.endpoint,
        "POST",
        f"/datastore/{store.datastore_id}/{path}",
        body,
        headers={"Content-Type": content_type, **headers},
    )


def multipart(*datasets: Dataset | bytes) -> tuple[str, bytes]:
    parts = [Part("application/dicom", d if isinstance(d, bytes) else part10(d)) for d in datasets]
    return encode(parts, "application/dicom")


def referenced_uids(response: dict[str, Any] | Dataset) -> list[str]:
    if isinstance(response, Dataset):
        return [str(item.ReferencedSOPInstanceUID) for item in response.get("ReferencedSOPSequence", [])]
    return [first(item, SOP_INSTANCE) for item in values(response, REFERENCED)]


def test_stored_instances_are_searchable_retrievable_and_one_primary_image_set(
    store: Store, client: DICOMwebClient
) -> None:
    originals = series(SPEC, 3)
    response = client.store_instances(originals)
    assert referenced_uids(response) == [SPEC.sop_uid(n) for n in (1, 2, 3)]
    assert response.RetrieveURL.endswith(f"/studies/{SPEC.study_uid}")
    assert "FailedSOPSequence" not in response
    found = client.search_for_instances(SPEC.study_uid, SPEC.series_uid)
    assert [first(i, "00080018") for i in found] == [SPEC.sop_uid(n) for n in (1, 2, 3)]
    returned = client.retrieve_instance(SPEC.study_uid, SPEC.series_uid, SPEC.sop_uid(2))
    assert np.array_equal(returned.pixel_array, originals[1].pixel_array)
    (summary,) = store.search()
    assert summary["isPrimary"] is True and summary["version"] == 1
    assert summary["DICOMTags"]["DICOMNumberOfStudyRelatedInstances"] == 3


def test_a_second_store_merges_into_the_primary_image_set(store: Store, client: DICOMwebClient) -> None:
    client.store_instances(series(SPEC, 2))
    client.store_instances([ct_instance(SPEC, 2), ct_instance(SPEC, 3)], study_instance_uid=SPEC.study_uid)
    (summary,) = store.search()
    assert summary["version"] == 2 and summary["DICOMTags"]["DICOMNumberOfStudyRelatedInstances"] == 3


def test_conflicting_instances_go_to_a_non_primary_image_set_named_in_the_answer(
    store: Store, client: DICOMwebClient
) -> None:
    client.store_instances(series(SPEC, 1))
    response = client.store_instances(series(CONFLICT, 1, start=5))
    (non_primary,) = [s["imageSetId"] for s in store.search() if not s["isPrimary"]]
    url = response.ReferencedSOPSequence[0].RetrieveURL
    assert url.endswith(f"/instances/{CONFLICT.sop_uid(5)}?imageSetId={non_primary}")
    assert client.search_for_instances(search_filters={"PatientID": "PAT-CONFLICT"}) == []
    path = urlsplit(url)
    retrieved = raw_request(store.service.endpoint, "GET", f"{path.path}?{path.query}")
    assert retrieved.status == 200 and pydicom.dcmread(io.BytesIO(retrieved.body)).PatientID == "PAT-CONFLICT"


def test_one_file_without_multipart(store: Store) -> None:
    response = post(store, f"studies/{SPEC.study_uid}", part10(ct_instance(SPEC, 1)), "application/dicom")
    assert response.status == 200, response.body
    assert response.headers["content-type"] == "application/dicom+json"
    assert referenced_uids(response.json()) == [SPEC.sop_uid(1)]


def test_failed_instances_answer_409_with_reasons_and_the_others_are_stored(
    store: Store, client: DICOMwebClient
) -> None:
    content_type, body = multipart(ct_instance(SPEC, 1), ct_instance(OTHER_STUDY, 1), NOT_DICOM, ct_instance(SPEC, 2))
    response = post(store, f"studies/{SPEC.study_uid}", body, content_type)
    assert response.status == 409
    answer = response.json()
    assert referenced_uids(answer) == [SPEC.sop_uid(1), SPEC.sop_uid(2)]
    failed = values(answer, FAILED)
    assert [first(f, SOP_INSTANCE) for f in failed] == [OTHER_STUDY.sop_uid(1), None]
    assert [first(f, FAILURE_REASON) for f in failed] == [0xC000, 0xC000]
    assert f"not {SPEC.study_uid} of the request path" in first(failed[0], ERROR_COMMENT)
    assert "Not a DICOM Part 10 file" in first(failed[1], ERROR_COMMENT)
    assert client.search_for_studies(search_filters={"StudyInstanceUID": OTHER_STUDY.study_uid}) == []
    assert len(client.search_for_instances()) == 2
    with pytest.raises(HTTPError) as info:
        client.store_instances([ct_instance(OTHER_STUDY, 1)], study_instance_uid=SPEC.study_uid)
    assert info.value.response is not None and info.value.response.status_code == 409


def test_a_large_file_sent_chunked_and_unsigned_payload_is_stored(store: Store, client: DICOMwebClient) -> None:
    big = ct_instance(SPEC, 1, size=768)  # 1.2 MB: dicomweb-client streams it with chunked transfer encoding
    response = client.store_instances([big])
    assert referenced_uids(response) == [SPEC.sop_uid(1)]
    frames = client.retrieve_instance_frames(SPEC.study_uid, SPEC.series_uid, SPEC.sop_uid(1), [1])
    assert np.array_equal(np.frombuffer(frames[0], "<i2").reshape(768, 768), big.pixel_array)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "reason"),
    [
        ("application/json", b"{}", 415, "STOW-RS takes application/dicom"),
        ('multipart/related; type="application/dicom+json"; boundary=x', b"--x--", 415, "STOW-RS takes"),
        ('multipart/related; type="application/dicom"', b"--x--", 400, "no boundary"),
        ('multipart/related; type="application/dicom"; boundary=x', b"--x--\r\n", 400, "no part"),
        ('multipart/related; type="application/dicom"; boundary=x', b"--x\r\nContent-Type: app", 400, "cut short"),
    ],
)
def test_bodies_that_are_not_dicom_parts_are_refused(
    store: Store, content_type: str, body: bytes, status: int, reason: str
) -> None:
    response = post(store, "studies", body, content_type)
    assert response.status == status, response.body
    assert reason in response.json()["message"]


def test_only_post_stores(store: Store) -> None:
    response = raw_request(store.service.endpoint, "GET", f"/datastore/{store.datastore_id}/studies/{SPEC.study_uid}")
    assert response.status == 405 and "use POST" in response.json()["message"]


@pytest.fixture
def small_limit(store: Store) -> Iterator[Store]:
    app = store.service.app
    app.max_request_bytes = 1000
    yield store
    app.max_request_bytes = 1 << 30


def test_a_body_declared_too_large_is_refused_before_it_is_read(small_limit: Store) -> None:
    content_type, body = multipart(ct_instance(SPEC, 1))
    response = post(small_limit, "studies", body, content_type)
    assert response.status == 413 and "larger than 1,000 bytes" in response.json()["message"]
    assert small_limit.search() == []
    # Declared but not sent: the answer comes without waiting for the body.
    parts = urlsplit(small_limit.service.endpoint)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
    try:
        headers = {"Content-Type": "application/dicom", "Content-Length": "5000"}
        connection.request("POST", f"/datastore/{small_limit.datastore_id}/studies", body=b"DICM", headers=headers)
        assert connection.getresponse().status == 413
    finally:
        connection.close()


def test_a_chunked_body_is_cut_off_at_the_limit(small_limit: Store) -> None:
    parts = urlsplit(small_limit.service.endpoint)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            f"/datastore/{small_limit.datastore_id}/studies",
            body=iter([b"x" * 600, b"x" * 600]),
            headers={"Content-Type": "application/dicom"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == 413
    finally:
        connection.close()
