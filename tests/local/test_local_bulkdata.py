"""Binary values over 1 MiB, as HealthImaging keeps them: outside the image set metadata, served by DICOMweb as
BulkDataURIs and inside Part 10 instances, kept by updates and copies, purged with the last image set.

Real boto3 and real HTTP against `LocalService`; DICOMweb through the independent `dicomweb-client`."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset

from healthimaging_mcp.local.service import LocalService
from tests.support.dicomweb import dicomweb_client, dicomweb_get
from tests.support.local_kit import SPEC, Store, updates
from tests.support.local_testdata import SeriesSpec, series
from tests.support.raw_http import RawResponse

LARGE = bytes(range(256)) * (2 * 1024 * 1024 // 256)  # 2 MiB private OB: kept outside the metadata
SMALL = bytes(range(255, -1, -1)) * 400  # 100 KiB private OB: inline, as on HealthImaging
LARGE_KEY, SMALL_KEY = "00191010", "00191011"
OTHER_PATIENT = SeriesSpec(patient_id="PAT-OTHER")  # the same series and SOP UIDs, another patient


def with_private_values(ds: Dataset, large: bytes = LARGE) -> Dataset:
    block = ds.private_block(0x0019, "HIMCP BULK", create=True)
    block.add_new(0x10, "OB", large)
    block.add_new(0x11, "OB", SMALL)
    return ds


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Store]:
    with LocalService(tmp_path) as service:
        store = Store(service)
        report = store.load([with_private_values(ds) for ds in series(SPEC, 2)])
        assert not report.failures, report.failures
        yield store


def image_set_id(store: Store) -> str:
    (summary,) = store.search()
    found: str = summary["imageSetId"]
    return found


def instance_path(number: int, suffix: str = "") -> str:
    return f"studies/{SPEC.study_uid}/series/{SPEC.series_uid}/instances/{SPEC.sop_uid(number)}{suffix}"


def get(store: Store, path: str, image_set: str | None = None, **kwargs: Any) -> RawResponse:
    params = {"imageSetId": image_set} if image_set else None
    return dicomweb_get(store.service, store.datastore_id, path, params, **kwargs)


def stored_blobs(store: Store) -> set[str]:
    return store.service.backend.blobs.keys()


def served_large_value(store: Store, number: int = 1, image_set: str | None = None) -> bytes:
    """The large value as WADO-RS serves it: the BulkDataURI of the metadata, then that URI's bytes."""
    metadata = get(store, instance_path(number, "/metadata"), image_set)
    assert metadata.status == 200, metadata.body
    (instance,) = metadata.json()
    assert "InlineBinary" not in instance[LARGE_KEY]
    uri = instance[LARGE_KEY]["BulkDataURI"]
    assert uri.endswith(
        instance_path(number, f"/bulkdata/{LARGE_KEY}") + (f"?imageSetId={image_set}" if image_set else "")
    )
    response = get(store, uri.split(f"/datastore/{store.datastore_id}/", 1)[1].split("?")[0], image_set)
    assert response.status == 200 and response.headers["content-type"] == "application/octet-stream"
    return response.body


def test_the_large_value_is_out_of_the_image_set_metadata_yet_served_as_bulk_data(store: Store) -> None:
    document = store.metadata(image_set_id(store))
    instance = document["Study"]["Series"][SPEC.series_uid]["Instances"][SPEC.sop_uid(2)]
    assert base64.b64decode(instance["DICOM"][SMALL_KEY]) == SMALL
    assert LARGE_KEY not in instance["DICOM"]
    client = dicomweb_client(store.service, store.datastore_id)
    metadata = client.retrieve_instance_metadata(SPEC.study_uid, SPEC.series_uid, SPEC.sop_uid(2))
    assert metadata[SMALL_KEY] == {"vr": "OB", "InlineBinary": base64.b64encode(SMALL).decode()}
    assert set(metadata[LARGE_KEY]) == {"vr", "BulkDataURI"} and metadata[LARGE_KEY]["vr"] == "OB"
    assert client.retrieve_bulkdata(metadata[LARGE_KEY]["BulkDataURI"]) == [LARGE]
    assert served_large_value(store, 2) == LARGE
    series_metadata = client.retrieve_series_metadata(SPEC.study_uid, SPEC.series_uid)
    assert all("BulkDataURI" in instance[LARGE_KEY] for instance in series_metadata)


def test_a_part10_instance_carries_both_values_byte_exact(store: Store) -> None:
    client = dicomweb_client(store.service, store.datastore_id)
    returned = client.retrieve_instance(SPEC.study_uid, SPEC.series_uid, SPEC.sop_uid(1))
    assert returned[0x00191010].value == LARGE and returned[0x00191010].VR == "OB"
    assert returned[0x00191011].value == SMALL
    raw = get(store, instance_path(1), headers={"Accept": "application/dicom; transfer-syntax=*"})
    assert raw.status == 200
    assert pydicom.dcmread(io.BytesIO(raw.body))[0x00191010].value == LARGE


def test_an_update_keeps_the_large_values_of_the_instances_it_keeps(store: Store) -> None:
    image_set = image_set_id(store)
    renamed = updates({"Patient": {"DICOM": {"PatientName": "RENAMED^PATIENT"}}})
    assert store.update(image_set, "1", updateImageSetMetadataUpdates=renamed)["latestVersionId"] == "2"
    assert served_large_value(store, 1) == LARGE
    removal = updates(removable={"Study": {"Series": {SPEC.series_uid: {"Instances": {SPEC.sop_uid(2): {}}}}}})
    store.update(image_set, "2", updateImageSetMetadataUpdates=removal)
    assert served_large_value(store, 1) == LARGE
    assert get(store, instance_path(2, f"/bulkdata/{LARGE_KEY}")).status == 404


def test_a_copy_carries_the_large_values_and_the_last_delete_purges_their_blob(store: Store) -> None:
    source = image_set_id(store)
    copy = store.client.copy_image_set(
        datastoreId=store.datastore_id,
        sourceImageSetId=source,
        copyImageSetInformation={"sourceImageSet": {"latestVersionId": "1"}},
    )
    destination = copy["destinationImageSetProperties"]["imageSetId"]
    assert served_large_value(store, 1, destination) == LARGE
    client = dicomweb_client(store.service, store.datastore_id)
    returned = client.retrieve_instance(
        SPEC.study_uid, SPEC.series_uid, SPEC.sop_uid(2), additional_params={"imageSetId": destination}
    )
    assert returned[0x00191010].value == LARGE

    blob = hashlib.sha256(LARGE).hexdigest()
    assert blob in stored_blobs(store)
    store.client.delete_image_set(datastoreId=store.datastore_id, imageSetId=source)
    assert blob in stored_blobs(store)  # the copy still refers to it
    assert served_large_value(store, 1, destination) == LARGE
    store.client.delete_image_set(datastoreId=store.datastore_id, imageSetId=destination)
    assert blob not in stored_blobs(store)


def test_a_reimported_instance_replaces_its_large_values(store: Store) -> None:
    blob = hashlib.sha256(LARGE).hexdigest()
    store.load(series(SPEC, 1))  # the first instance again, without private values
    assert get(store, instance_path(1, f"/bulkdata/{LARGE_KEY}")).status == 404
    assert served_large_value(store, 2) == LARGE
    assert blob in stored_blobs(store)  # the second instance still refers to it
    store.load(series(SPEC, 1, start=2))
    assert get(store, instance_path(2, f"/bulkdata/{LARGE_KEY}")).status == 404
    assert blob not in stored_blobs(store)


def test_stow_keeps_large_values_too(tmp_path: Any) -> None:
    with LocalService(tmp_path) as service:
        store = Store(service)
        client = dicomweb_client(service, store.datastore_id)
        client.store_instances([with_private_values(ds) for ds in series(SPEC, 1)])
        assert served_large_value(store, 1) == LARGE


def test_a_copy_into_an_image_set_replaces_the_large_values_of_the_instances_it_copies(tmp_path: Any) -> None:
    other = LARGE[::-1]
    with LocalService(tmp_path) as service:
        store = Store(service)
        (primary,) = store.load([with_private_values(ds) for ds in series(SPEC, 1)]).image_sets
        (conflicting,) = store.load([with_private_values(ds, other) for ds in series(OTHER_PATIENT, 1)]).image_sets
        assert not conflicting.is_primary
        store.client.copy_image_set(
            datastoreId=store.datastore_id,
            sourceImageSetId=conflicting.image_set_id,
            copyImageSetInformation={
                "sourceImageSet": {"latestVersionId": "1"},
                "destinationImageSet": {"imageSetId": primary.image_set_id, "latestVersionId": "1"},
            },
            force=True,
        )
        assert store.image_set(primary.image_set_id)["imageSetWorkflowStatus"] == "COPIED"
        assert served_large_value(store, 1) == other
        assert hashlib.sha256(LARGE).hexdigest() not in stored_blobs(store)  # nothing refers to it any more
