"""UpdateImageSetMetadata: attribute changes, removals, reverts, force, study-wide updates; every version readable."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from tests.support.local_kit import OTHER_SERIES, SPEC, Store, frame_ids, only, updates
from tests.support.local_testdata import series


def test_update_writes_a_new_version_and_keeps_the_old_one(loaded: tuple[Store, str]) -> None:
    store, image_set_id = loaded
    sop = SPEC.sop_uid(1)
    response = store.update(
        image_set_id,
        "1",
        updateImageSetMetadataUpdates=updates(
            {
                "Patient": {"DICOM": {"PatientName": "RENAMED^PATIENT"}},
                "Study": {
                    "DICOM": {"StudyDescription": "UPDATED STUDY"},
                    "Series": {
                        SPEC.series_uid: {
                            "DICOM": {"SeriesDescription": "NEW SERIES TEXT"},
                            "Instances": {sop: {"DICOM": {"ImageComments": "checked"}}},
                        }
                    },
                },
            },
            {"Study": {"Series": {SPEC.series_uid: {"DICOM": {"BodyPartExamined": "CHEST"}}}}},
        ),
    )
    assert (response["latestVersionId"], response["imageSetState"], response["imageSetWorkflowStatus"]) == (
        "2",
        "LOCKED",
        "UPDATING",
    )
    assert (response["datastoreId"], response["imageSetId"]) == (store.datastore_id, image_set_id)
    assert isinstance(response["createdAt"], datetime) and isinstance(response["updatedAt"], datetime)

    current = store.image_set(image_set_id)
    assert (current["versionId"], current["imageSetState"], current["imageSetWorkflowStatus"]) == (
        "2",
        "ACTIVE",
        "UPDATED",
    )
    new, old = store.metadata(image_set_id), store.metadata(image_set_id, "1")
    assert new["Patient"]["DICOM"]["PatientName"] == "RENAMED^PATIENT"
    assert new["Study"]["DICOM"]["StudyDescription"] == "UPDATED STUDY"
    series_obj = new["Study"]["Series"][SPEC.series_uid]
    assert series_obj["DICOM"]["SeriesDescription"] == "NEW SERIES TEXT"
    assert "BodyPartExamined" not in series_obj["DICOM"]
    assert series_obj["Instances"][sop]["DICOM"]["ImageComments"] == "checked"
    assert old["Patient"]["DICOM"]["PatientName"] == "TEST^PATIENT"
    assert old["Study"]["Series"][SPEC.series_uid]["DICOM"]["BodyPartExamined"] == "CHEST"
    assert frame_ids(new) == frame_ids(old)
    (summary,) = store.search()
    assert summary["version"] == 2
    assert summary["DICOMTags"]["DICOMPatientName"] == "RENAMED^PATIENT"
    assert "DICOMSeriesBodyPart" not in summary["DICOMTags"]


def test_removing_an_instance_and_a_whole_series(loaded: tuple[Store, str]) -> None:
    store, image_set_id = loaded
    store.load(series(OTHER_SERIES, 1))
    other_id = only(store, OTHER_SERIES.series_uid)
    store.client.copy_image_set(
        datastoreId=store.datastore_id,
        sourceImageSetId=other_id,
        copyImageSetInformation={
            "sourceImageSet": {"latestVersionId": "1"},
            "destinationImageSet": {"imageSetId": image_set_id, "latestVersionId": "1"},
        },
    )
    assert set(store.metadata(image_set_id)["Study"]["Series"]) == {SPEC.series_uid, OTHER_SERIES.series_uid}

    removed_sop = SPEC.sop_uid(2)
    store.update(
        image_set_id,
        "2",
        force=True,
        updateImageSetMetadataUpdates=updates(
            removable={"Study": {"Series": {SPEC.series_uid: {"Instances": {removed_sop: {}}}}}}
        ),
    )
    instances = store.metadata(image_set_id)["Study"]["Series"][SPEC.series_uid]["Instances"]
    assert sorted(instances) == sorted([SPEC.sop_uid(1), SPEC.sop_uid(3)])
    store.update(
        image_set_id,
        "3",
        force=True,
        updateImageSetMetadataUpdates=updates(removable={"Study": {"Series": {OTHER_SERIES.series_uid: {}}}}),
    )
    final = store.metadata(image_set_id)
    assert list(final["Study"]["Series"]) == [SPEC.series_uid]
    (summary,) = [s for s in store.search() if s["imageSetId"] == image_set_id]
    assert summary["DICOMTags"]["DICOMNumberOfStudyRelatedInstances"] == 2
    assert summary["DICOMTags"]["DICOMNumberOfStudyRelatedSeries"] == 1
    assert removed_sop in store.metadata(image_set_id, "2")["Study"]["Series"][SPEC.series_uid]["Instances"]


def test_revert_creates_a_new_version_equal_to_the_old_one(loaded: tuple[Store, str]) -> None:
    store, image_set_id = loaded
    store.update(image_set_id, "1", updateImageSetMetadataUpdates=updates({"Patient": {"DICOM": {"PatientSex": "F"}}}))
    reverted = store.update(image_set_id, "2", updateImageSetMetadataUpdates={"revertToVersionId": "1"})
    assert reverted["latestVersionId"] == "3"
    assert store.metadata(image_set_id, "3") == store.metadata(image_set_id, "1")
    assert store.metadata(image_set_id, "2")["Patient"]["DICOM"]["PatientSex"] == "F"
    versions = store.client.list_image_set_versions(datastoreId=store.datastore_id, imageSetId=image_set_id)
    items = versions["imageSetPropertiesList"]
    assert [v["versionId"] for v in items] == ["3", "2", "1"]
    assert [v["ImageSetWorkflowStatus"] for v in items] == ["UPDATED", "UPDATED", "CREATED"]
    assert all(v["imageSetState"] == "ACTIVE" for v in items)
    assert "updatedAt" not in items[2] and items[0]["updatedAt"] >= items[1]["updatedAt"]
    assert len({v["createdAt"] for v in items}) == 1
    for version in ("1", "2", "3"):
        assert store.image_set(image_set_id, version)["versionId"] == version
        assert store.metadata(image_set_id, version)["ImageSetID"] == image_set_id
    with pytest.raises(store.client.exceptions.ResourceNotFoundException):
        store.update(image_set_id, "3", updateImageSetMetadataUpdates={"revertToVersionId": "9"})
    with pytest.raises(store.client.exceptions.ValidationException):
        store.update(
            image_set_id, "3", includeStudyImageSets=True, updateImageSetMetadataUpdates={"revertToVersionId": "1"}
        )


def test_identifying_attributes_and_private_tags_need_force(loaded: tuple[Store, str]) -> None:
    store, image_set_id = loaded
    sop = SPEC.sop_uid(1)
    new_uid = "1.2.826.0.1.3680043.8.498.4242"
    uid_change = updates({"Study": {"Series": {SPEC.series_uid: {"DICOM": {"SeriesInstanceUID": new_uid}}}}})
    private = updates(
        {
            "Study": {
                "Series": {
                    SPEC.series_uid: {
                        "Instances": {sop: {"DICOM": {"00091001": "VENDOR"}, "DICOMVRs": {"00091001": "LO"}}}
                    }
                }
            }
        }
    )
    for change in (uid_change, private):
        with pytest.raises(store.client.exceptions.ValidationException) as info:
            store.update(image_set_id, "1", updateImageSetMetadataUpdates=change)
        assert "force" in info.value.response["Error"]["Message"]
    store.update(image_set_id, "1", force=True, updateImageSetMetadataUpdates=private)
    instance = store.metadata(image_set_id)["Study"]["Series"][SPEC.series_uid]["Instances"][sop]
    assert instance["DICOM"]["00091001"] == "VENDOR" and instance["DICOMVRs"]["00091001"] == "LO"
    store.update(image_set_id, "2", force=True, updateImageSetMetadataUpdates=uid_change)
    assert list(store.metadata(image_set_id)["Study"]["Series"]) == [new_uid]
    assert store.image_set(image_set_id)["overrides"] == {"forced": True}
    assert "overrides" not in store.image_set(image_set_id, "1")
    (latest, *_rest) = store.client.list_image_set_versions(datastoreId=store.datastore_id, imageSetId=image_set_id)[
        "imageSetPropertiesList"
    ]
    assert latest["overrides"] == {"forced": True}
    equal = {"operator": "EQUAL", "values": [{"DICOMSeriesInstanceUID": new_uid}]}
    assert [s["imageSetId"] for s in store.search(filters=[equal])] == [image_set_id]


def test_concurrent_updates_of_one_version_let_exactly_one_win(loaded: tuple[Store, str]) -> None:
    store, image_set_id = loaded

    def attempt(index: int) -> str:
        client = store.service.client()
        change = updates({"Patient": {"DICOM": {"PatientName": f"RACE^{index}"}}})
        try:
            client.update_image_set_metadata(
                datastoreId=store.datastore_id,
                imageSetId=image_set_id,
                latestVersionId="1",
                updateImageSetMetadataUpdates=change,
            )
        except client.exceptions.ConflictException:
            return "conflict"
        return "won"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    assert sorted(outcomes) == ["conflict"] * 5 + ["won"]
    assert store.image_set(image_set_id)["versionId"] == "2"


def test_include_study_image_sets_updates_every_primary_image_set_of_the_study(loaded: tuple[Store, str]) -> None:
    store, image_set_id = loaded
    store.load(series(OTHER_SERIES, 1))
    other_id = only(store, OTHER_SERIES.series_uid)
    store.update(
        image_set_id,
        "1",
        includeStudyImageSets=True,
        updateImageSetMetadataUpdates=updates({"Study": {"DICOM": {"StudyDescription": "WHOLE STUDY"}}}),
    )
    for target in (image_set_id, other_id):
        assert store.image_set(target)["versionId"] == "2"
        assert store.metadata(target)["Study"]["DICOM"]["StudyDescription"] == "WHOLE STUDY"
    store.update(
        image_set_id,
        "2",
        updateImageSetMetadataUpdates=updates({"Study": {"DICOM": {"StudyDescription": "ONE SERIES ONLY"}}}),
    )
    assert store.metadata(other_id)["Study"]["DICOM"]["StudyDescription"] == "WHOLE STUDY"
    # Series-level parts of a study-wide update apply to the target image set only.
    store.update(
        image_set_id,
        "3",
        includeStudyImageSets=True,
        updateImageSetMetadataUpdates=updates(
            {
                "Patient": {"DICOM": {"PatientName": "STUDY^WIDE"}},
                "Study": {"Series": {SPEC.series_uid: {"DICOM": {"SeriesDescription": "TARGET ONLY"}}}},
            }
        ),
    )
    changed, other = store.metadata(image_set_id), store.metadata(other_id)
    assert changed["Study"]["Series"][SPEC.series_uid]["DICOM"]["SeriesDescription"] == "TARGET ONLY"
    assert changed["Patient"]["DICOM"]["PatientName"] == other["Patient"]["DICOM"]["PatientName"] == "STUDY^WIDE"
    assert store.image_set(other_id)["versionId"] == "3"
