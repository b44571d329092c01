"""CopyImageSet and DeleteImageSet: new and existing destinations, subsets, promotion to primary, deletion."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.support.local_kit import SPEC, Store, frame_ids, only, updates
from tests.support.local_testdata import SeriesSpec, ct_instance, series


def test_copy_to_a_new_image_set_carries_metadata_and_frames(loaded: tuple[Store, str]) -> None:
    store, source_id = loaded
    response = store.client.copy_image_set(
        datastoreId=store.datastore_id,
        sourceImageSetId=source_id,
        copyImageSetInformation={"sourceImageSet": {"latestVersionId": "1"}},
    )
    source, destination = response["sourceImageSetProperties"], response["destinationImageSetProperties"]
    assert response["datastoreId"] == store.datastore_id
    assert (source["imageSetId"], source["latestVersionId"]) == (source_id, "1")
    assert (source["imageSetState"], source["imageSetWorkflowStatus"]) == ("LOCKED", "COPYING_WITH_READ_ONLY_ACCESS")
    assert (destination["imageSetState"], destination["imageSetWorkflowStatus"]) == ("LOCKED", "COPYING")
    assert destination["imageSetId"] != source_id and destination["latestVersionId"] == "1"
    assert destination["imageSetArn"].endswith("/imageset/" + destination["imageSetId"])
    assert isinstance(destination["createdAt"], datetime)

    copied = store.image_set(destination["imageSetId"])
    assert (copied["imageSetState"], copied["imageSetWorkflowStatus"]) == ("ACTIVE", "COPIED")
    assert copied["isPrimary"] is False
    assert store.image_set(source_id)["imageSetState"] == "ACTIVE"
    original, copy = store.metadata(source_id), store.metadata(destination["imageSetId"])
    assert copy["ImageSetID"] == destination["imageSetId"]
    assert copy["Study"] == original["Study"] and copy["Patient"] == original["Patient"]
    for frame_id in frame_ids(original):
        assert (
            store.frame(destination["imageSetId"], frame_id)["imageFrameBlob"].read()
            == store.frame(source_id, frame_id)["imageFrameBlob"].read()
        )


def test_copy_a_subset_into_an_existing_image_set(loaded: tuple[Store, str]) -> None:
    store, source_id = loaded
    subset = SeriesSpec(key="series-a")  # same series, a fourth instance imported on its own after a conflict
    store.load(series(SeriesSpec(patient_id="PAT-OTHER"), 1, start=4))
    side_id = only(store, subset.series_uid, primary=False)
    first = store.client.copy_image_set(
        datastoreId=store.datastore_id,
        sourceImageSetId=source_id,
        copyImageSetInformation={
            "sourceImageSet": {
                "latestVersionId": "1",
                "DICOMCopies": {
                    "copiableAttributes": json.dumps(
                        {
                            "SchemaVersion": "1.1",
                            "Study": {"Series": {SPEC.series_uid: {"Instances": {SPEC.sop_uid(1): {}}}}},
                        }
                    )
                },
            }
        },
    )
    subset_id = first["destinationImageSetProperties"]["imageSetId"]
    assert list(store.metadata(subset_id)["Study"]["Series"][SPEC.series_uid]["Instances"]) == [SPEC.sop_uid(1)]
    # A mismatch is accepted and then fails the way the service fails it: a COPY_FAILED version with a message.
    failed = store.client.copy_image_set(
        datastoreId=store.datastore_id,
        sourceImageSetId=side_id,
        copyImageSetInformation={
            "sourceImageSet": {"latestVersionId": "1"},
            "destinationImageSet": {"imageSetId": subset_id, "latestVersionId": "1"},
        },
    )
    assert failed["destinationImageSetProperties"]["latestVersionId"] == "2"
    attempt = store.image_set(subset_id)
    assert (attempt["versionId"], attempt["imageSetState"], attempt["imageSetWorkflowStatus"]) == (
        "2",
        "ACTIVE",
        "COPY_FAILED",
    )
    assert "PatientID" in attempt["message"] and attempt["message"].startswith("INVALID_REQUEST")
    assert store.metadata(subset_id, "2")["Study"] == store.metadata(subset_id, "1")["Study"]
    (listed, *_rest) = store.client.list_image_set_versions(datastoreId=store.datastore_id, imageSetId=subset_id)[
        "imageSetPropertiesList"
    ]
    assert (listed["ImageSetWorkflowStatus"], listed["message"]) == ("COPY_FAILED", attempt["message"])
    into = store.client.copy_image_set(
        datastoreId=store.datastore_id,
        sourceImageSetId=side_id,
        force=True,
        copyImageSetInformation={
            "sourceImageSet": {"latestVersionId": "1"},
            "destinationImageSet": {"imageSetId": subset_id, "latestVersionId": "2"},
        },
    )
    assert into["destinationImageSetProperties"]["latestVersionId"] == "3"
    merged = store.metadata(subset_id)
    assert sorted(merged["Study"]["Series"][SPEC.series_uid]["Instances"]) == sorted([SPEC.sop_uid(1), SPEC.sop_uid(4)])
    assert merged["Patient"]["DICOM"]["PatientID"] == "PAT-T-001", "force keeps the destination's attributes"
    assert store.image_set(subset_id)["overrides"] == {"forced": True}


def test_promote_to_primary_merges_a_fixed_non_primary_image_set(loaded: tuple[Store, str]) -> None:
    store, primary_id = loaded
    store.load(series(SeriesSpec(patient_id="PAT-TYPO"), 1, start=4))
    side_id = only(store, SPEC.series_uid, primary=False)
    store.update(
        side_id, "1", updateImageSetMetadataUpdates=updates({"Patient": {"DICOM": {"PatientID": "PAT-T-001"}}})
    )
    promoted = store.client.copy_image_set(
        datastoreId=store.datastore_id,
        sourceImageSetId=side_id,
        promoteToPrimary=True,
        copyImageSetInformation={"sourceImageSet": {"latestVersionId": "2"}},
    )
    destination = promoted["destinationImageSetProperties"]
    assert (destination["imageSetId"], destination["latestVersionId"]) == (primary_id, "2")
    assert store.image_set(primary_id)["isPrimary"] is True
    instances = store.metadata(primary_id)["Study"]["Series"][SPEC.series_uid]["Instances"]
    assert sorted(instances) == sorted(SPEC.sop_uid(n) for n in (1, 2, 3, 4))
    primaries = store.search(filters=[{"operator": "EQUAL", "values": [{"isPrimary": True}]}])
    assert [s["imageSetId"] for s in primaries] == [primary_id]


def test_promote_to_primary_without_a_primary_creates_one(store: Store) -> None:
    store.load(series(SPEC, 1))
    primary_id = only(store)
    store.load(series(SeriesSpec(patient_id="PAT-OTHER"), 1, start=2))
    side_id = only(store, primary=False)
    store.client.delete_image_set(datastoreId=store.datastore_id, imageSetId=primary_id)
    promoted = store.client.copy_image_set(
        datastoreId=store.datastore_id,
        sourceImageSetId=side_id,
        promoteToPrimary=True,
        copyImageSetInformation={"sourceImageSet": {"latestVersionId": "1"}},
    )
    new_id = promoted["destinationImageSetProperties"]["imageSetId"]
    assert new_id not in (primary_id, side_id)
    assert store.image_set(new_id)["isPrimary"] is True


def test_promoting_the_primary_image_set_itself_is_refused(loaded: tuple[Store, str]) -> None:
    store, primary_id = loaded
    with pytest.raises(store.client.exceptions.ValidationException):
        store.client.copy_image_set(
            datastoreId=store.datastore_id,
            sourceImageSetId=primary_id,
            promoteToPrimary=True,
            copyImageSetInformation={"sourceImageSet": {"latestVersionId": "1"}},
        )
    primaries = store.search(filters=[{"operator": "EQUAL", "values": [{"isPrimary": True}]}])
    assert [s["imageSetId"] for s in primaries] == [primary_id]


def test_delete_image_set_removes_it_and_its_frames(loaded: tuple[Store, str]) -> None:
    store, image_set_id = loaded
    frames = frame_ids(store.metadata(image_set_id))
    blobs_before = store.service.backend.blobs.keys()
    response = store.client.delete_image_set(datastoreId=store.datastore_id, imageSetId=image_set_id)
    assert (response["imageSetState"], response["imageSetWorkflowStatus"]) == ("LOCKED", "DELETING")
    assert (response["datastoreId"], response["imageSetId"]) == (store.datastore_id, image_set_id)

    gone = store.image_set(image_set_id)
    assert (gone["imageSetState"], gone["imageSetWorkflowStatus"]) == ("DELETED", "DELETED")
    assert isinstance(gone["deletedAt"], datetime)
    not_found = store.client.exceptions.ResourceNotFoundException
    with pytest.raises(not_found):
        store.metadata(image_set_id)
    with pytest.raises(not_found):
        store.frame(image_set_id, frames[0])
    with pytest.raises(not_found):
        store.client.list_image_set_versions(datastoreId=store.datastore_id, imageSetId=image_set_id)
    with pytest.raises(not_found):
        store.update(image_set_id, "1", updateImageSetMetadataUpdates={"revertToVersionId": "1"})
    assert store.search() == []
    assert len(store.service.backend.blobs.keys()) < len(blobs_before) - len(frames)
    again = store.client.delete_image_set(datastoreId=store.datastore_id, imageSetId=image_set_id)
    assert again["imageSetState"] == "DELETED"
    store.client.delete_datastore(datastoreId=store.datastore_id)


def test_a_copy_of_more_than_1000_frames_exceeds_the_quota(store: Store) -> None:
    store.load([ct_instance(SeriesSpec(key="many-frames"), 1, size=2, frames=1001)])
    (summary,) = store.search()
    with pytest.raises(store.client.exceptions.ServiceQuotaExceededException) as info:
        store.client.copy_image_set(
            datastoreId=store.datastore_id,
            sourceImageSetId=summary["imageSetId"],
            copyImageSetInformation={"sourceImageSet": {"latestVersionId": "1"}},
        )
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 402
    assert "1001" in info.value.response["Error"]["Message"]
