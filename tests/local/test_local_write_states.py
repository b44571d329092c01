"""Image set writes take time, as HealthImaging's do: LOCKED (UPDATING, COPYING, DELETING) until they complete."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from healthimaging_mcp.local.service import LocalService
from tests.support.local_kit import SPEC, Store, expect_error, frame_ids, only, update_document
from tests.support.local_testdata import series

WRITE_SECONDS = 0.6


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[tuple[Store, str]]:
    """A service whose image set writes stay LOCKED for WRITE_SECONDS, with one 3-instance image set."""
    with LocalService(tmp_path / "slow", write_seconds=WRITE_SECONDS) as service:
        store = Store(service)
        store.load(series(SPEC, 3))
        yield store, only(store)


def state(store: Store, image_set_id: str, **extra: Any) -> tuple[str, str, str]:
    found = store.image_set(image_set_id, **extra)
    return found["versionId"], found["imageSetState"], found["imageSetWorkflowStatus"]


def rename(store: Store, image_set_id: str, version: str, name: str = "RENAMED") -> dict[str, Any]:
    updates = {
        "DICOMUpdates": {"updatableAttributes": update_document({"Study": {"DICOM": {"StudyDescription": name}}})}
    }
    return store.update(image_set_id, version, updateImageSetMetadataUpdates=updates)


def wait_past_the_write() -> None:
    time.sleep(WRITE_SECONDS + 0.2)


def test_an_update_stays_locked_until_it_completes_and_refuses_other_writes(slow: tuple[Store, str]) -> None:
    store, image_set_id = slow
    response = rename(store, image_set_id, "1")
    assert (response["latestVersionId"], response["imageSetState"], response["imageSetWorkflowStatus"]) == (
        "2",
        "LOCKED",
        "UPDATING",
    )
    assert state(store, image_set_id) == ("2", "LOCKED", "UPDATING")
    listed = store.client.list_image_set_versions(datastoreId=store.datastore_id, imageSetId=image_set_id)
    assert [(v["versionId"], v["imageSetState"]) for v in listed["imageSetPropertiesList"]] == [
        ("2", "LOCKED"),
        ("1", "ACTIVE"),
    ]
    error = expect_error("ConflictException", rename, store, image_set_id, "2", "AGAIN")
    assert "LOCKED" in error.response["Error"]["Message"]
    expect_error(
        "ConflictException", store.client.delete_image_set, datastoreId=store.datastore_id, imageSetId=image_set_id
    )
    wait_past_the_write()
    assert state(store, image_set_id) == ("2", "ACTIVE", "UPDATED")
    assert store.metadata(image_set_id)["Study"]["DICOM"]["StudyDescription"] == "RENAMED"
    assert rename(store, image_set_id, "2", "AGAIN")["latestVersionId"] == "3"


def test_a_copy_locks_source_and_destination_while_the_source_stays_readable(slow: tuple[Store, str]) -> None:
    store, source_id = slow
    response = store.client.copy_image_set(
        datastoreId=store.datastore_id,
        sourceImageSetId=source_id,
        copyImageSetInformation={"sourceImageSet": {"latestVersionId": "1"}},
    )
    destination_id = response["destinationImageSetProperties"]["imageSetId"]
    assert state(store, destination_id) == ("1", "LOCKED", "COPYING")
    assert state(store, source_id) == ("1", "LOCKED", "COPYING_WITH_READ_ONLY_ACCESS")
    assert store.metadata(source_id)["ImageSetID"] == source_id  # reads go on
    expect_error("ConflictException", rename, store, source_id, "1")
    wait_past_the_write()
    assert state(store, destination_id) == ("1", "ACTIVE", "COPIED")
    assert state(store, source_id) == ("1", "ACTIVE", "CREATED")


def test_a_deletion_is_in_progress_then_gone_with_its_data(slow: tuple[Store, str]) -> None:
    store, image_set_id = slow
    frames = frame_ids(store.metadata(image_set_id))
    blobs_before = store.service.backend.blobs.keys()
    response = store.client.delete_image_set(datastoreId=store.datastore_id, imageSetId=image_set_id)
    assert (response["imageSetState"], response["imageSetWorkflowStatus"]) == ("LOCKED", "DELETING")
    assert state(store, image_set_id) == ("1", "LOCKED", "DELETING")
    assert [s["imageSetId"] for s in store.search()] == [image_set_id]
    expect_error(
        "ConflictException", store.client.delete_image_set, datastoreId=store.datastore_id, imageSetId=image_set_id
    )
    wait_past_the_write()
    gone = store.image_set(image_set_id)
    assert (gone["imageSetState"], gone["imageSetWorkflowStatus"]) == ("DELETED", "DELETED")
    assert store.search() == []
    expect_error("ResourceNotFoundException", store.frame, image_set_id, frames[0])
    assert len(store.service.backend.blobs.keys()) < len(blobs_before)


def test_a_write_in_progress_when_the_service_stops_completes_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "restarted"
    with LocalService(data, write_seconds=WRITE_SECONDS) as service:
        store = Store(service)
        store.load(series(SPEC, 2))
        image_set_id = only(store)
        rename(store, image_set_id, "1")
        datastore_id = store.datastore_id
    wait_past_the_write()
    with LocalService(data) as service:
        found = service.client().get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)
    assert (found["versionId"], found["imageSetState"], found["imageSetWorkflowStatus"]) == ("2", "ACTIVE", "UPDATED")
