"""Client errors: validation, unknown resources and conflicts, as modelled boto3 exceptions with the model's status."""

from __future__ import annotations

from typing import Any

import pytest

from healthimaging_mcp.local.http.routes import service_model
from healthimaging_mcp.local.service import LocalService
from tests.support.local_kit import UNKNOWN_ID, Store, expect_error, strict_client, update_document
from tests.support.local_testdata import SeriesSpec, series
from tests.support.raw_http import raw_request

DATASTORE_ARN = "arn:aws:medical-imaging:us-east-1:000000000000:datastore/" + UNKNOWN_ID
IMAGE_SET = {"datastoreId": "BAD", "imageSetId": UNKNOWN_ID}
# One call per operation whose datastore id (or ARN, or name) breaks the model's pattern.
BAD_CALLS: dict[str, dict[str, Any]] = {
    "CreateDatastore": {"datastoreName": "no spaces allowed"},
    "GetDatastore": {"datastoreId": "BAD"},
    "ListDatastores": {"maxResults": 51},
    "DeleteDatastore": {"datastoreId": "BAD"},
    "StartDICOMImportJob": {
        "datastoreId": "BAD",
        "dataAccessRoleArn": "arn:aws:iam::123456789012:role/ImportRole",
        "inputS3Uri": "s3://bucket/in/",
        "outputS3Uri": "s3://bucket/out/",
    },
    "GetDICOMImportJob": {"datastoreId": "BAD", "jobId": "abc"},
    "ListDICOMImportJobs": {"datastoreId": "BAD"},
    "SearchImageSets": {"datastoreId": "BAD"},
    "GetImageSet": IMAGE_SET,
    "GetImageSetMetadata": IMAGE_SET,
    "GetImageFrame": {**IMAGE_SET, "imageFrameInformation": {"imageFrameId": UNKNOWN_ID}},
    "ListImageSetVersions": IMAGE_SET,
    "UpdateImageSetMetadata": {
        **IMAGE_SET,
        "latestVersionId": "1",
        "updateImageSetMetadataUpdates": {"revertToVersionId": "1"},
    },
    "CopyImageSet": {
        "datastoreId": "BAD",
        "sourceImageSetId": UNKNOWN_ID,
        "copyImageSetInformation": {"sourceImageSet": {"latestVersionId": "1"}},
    },
    "DeleteImageSet": IMAGE_SET,
    "TagResource": {"resourceArn": "arn:bad", "tags": {"k": "v"}},
    "UntagResource": {"resourceArn": "arn:bad", "tagKeys": ["k"]},
    "ListTagsForResource": {"resourceArn": "arn:bad"},
}


def _method(client: Any, operation: str) -> Any:
    name = next(name for name, api in client.meta.method_to_api_mapping.items() if api == operation)
    return getattr(client, name)


@pytest.fixture(scope="module")
def raw_sample_client(sample_service: LocalService) -> Any:
    return strict_client(sample_service)


def test_every_operation_covers_the_whole_model() -> None:
    assert set(BAD_CALLS) == set(service_model().operation_names)


@pytest.mark.parametrize("operation", sorted(BAD_CALLS))
def test_every_operation_refuses_bad_input_with_a_modelled_validation_exception(
    raw_sample_client: Any, operation: str
) -> None:
    call = _method(raw_sample_client, operation)
    error = expect_error("ValidationException", call, **BAD_CALLS[operation])
    assert isinstance(error, raw_sample_client.exceptions.ValidationException)
    allowed = {shape.name for shape in service_model().operation_model(operation).error_shapes}
    assert "ValidationException" in allowed
    assert "failed to satisfy constraint" in error.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("GetDatastore", {"datastoreId": UNKNOWN_ID}),
        ("DeleteDatastore", {"datastoreId": UNKNOWN_ID}),
        ("ListDICOMImportJobs", {"datastoreId": UNKNOWN_ID}),
        ("GetDICOMImportJob", {"datastoreId": UNKNOWN_ID, "jobId": "abc"}),
        ("SearchImageSets", {"datastoreId": UNKNOWN_ID}),
        ("GetImageSet", {"datastoreId": UNKNOWN_ID, "imageSetId": UNKNOWN_ID}),
        ("ListTagsForResource", {"resourceArn": DATASTORE_ARN}),
        ("TagResource", {"resourceArn": DATASTORE_ARN, "tags": {"k": "v"}}),
        ("UntagResource", {"resourceArn": DATASTORE_ARN, "tagKeys": ["k"]}),
    ],
)
def test_unknown_datastores_are_not_found(raw_sample_client: Any, operation: str, params: dict[str, Any]) -> None:
    error = expect_error("ResourceNotFoundException", _method(raw_sample_client, operation), **params)
    assert isinstance(error, raw_sample_client.exceptions.ResourceNotFoundException)


def test_unknown_image_set_version_frame_and_job_are_not_found(
    raw_sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    client, datastore_id = raw_sample_client, sample_datastore_id
    image_set_id = sample_summaries[0]["imageSetId"]
    message = expect_error(
        "ResourceNotFoundException", client.get_image_set, datastoreId=datastore_id, imageSetId=UNKNOWN_ID
    ).response["Error"]["Message"]
    assert UNKNOWN_ID in message
    expect_error(
        "ResourceNotFoundException",
        client.get_image_set_metadata,
        datastoreId=datastore_id,
        imageSetId=image_set_id,
        versionId="99",
    )
    expect_error(
        "ResourceNotFoundException",
        client.get_image_set,
        datastoreId=datastore_id,
        imageSetId=image_set_id,
        versionId="99",
    )
    expect_error(
        "ResourceNotFoundException",
        client.get_image_frame,
        datastoreId=datastore_id,
        imageSetId=image_set_id,
        imageFrameInformation={"imageFrameId": UNKNOWN_ID},
    )
    expect_error("ResourceNotFoundException", client.get_dicom_import_job, datastoreId=datastore_id, jobId="abc123")
    image_set_arn = client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)["imageSetArn"]
    expect_error(
        "ResourceNotFoundException",
        client.list_tags_for_resource,
        resourceArn=image_set_arn.replace(image_set_id, UNKNOWN_ID),
    )


@pytest.mark.parametrize("max_results", [0, 51])
@pytest.mark.parametrize("operation", ["list_datastores", "list_dicom_import_jobs", "search_image_sets"])
def test_max_results_outside_1_to_50_is_invalid(
    raw_sample_client: Any, sample_datastore_id: str, operation: str, max_results: int
) -> None:
    params: dict[str, Any] = {"maxResults": max_results}
    if operation != "list_datastores":
        params["datastoreId"] = sample_datastore_id
    error = expect_error("ValidationException", getattr(raw_sample_client, operation), **params)
    assert "maxResults" in error.response["Error"]["Message"]


def test_max_results_outside_1_to_50_is_invalid_for_versions(
    raw_sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    expect_error(
        "ValidationException",
        raw_sample_client.list_image_set_versions,
        datastoreId=sample_datastore_id,
        imageSetId=sample_summaries[0]["imageSetId"],
        maxResults=51,
    )


def test_bad_enums_are_invalid(raw_sample_client: Any, sample_datastore_id: str) -> None:
    error = expect_error("ValidationException", raw_sample_client.list_datastores, datastoreStatus="READY")
    assert "ACTIVE" in error.response["Error"]["Message"]
    expect_error(
        "ValidationException",
        raw_sample_client.list_dicom_import_jobs,
        datastoreId=sample_datastore_id,
        jobStatus="DONE",
    )
    expect_error(
        "ValidationException",
        raw_sample_client.search_image_sets,
        datastoreId=sample_datastore_id,
        searchCriteria={"sort": {"sortField": "DICOMPatientId", "sortOrder": "ASC"}},
    )
    expect_error("ValidationException", raw_sample_client.create_datastore, losslessStorageFormat="PNG")


@pytest.mark.parametrize(
    ("criteria", "hint"),
    [
        (
            {
                "filters": [
                    {"operator": "EQUAL", "values": [{"DICOMPatientId": "a"}]},
                    {"operator": "EQUAL", "values": [{"DICOMStudyId": "b"}]},
                    {"operator": "EQUAL", "values": [{"DICOMAccessionNumber": "c"}]},
                ]
            },
            "filters",
        ),
        (
            {"filters": [{"operator": "BETWEEN", "values": [{"DICOMPatientId": "a"}, {"DICOMPatientId": "z"}]}]},
            "BETWEEN",
        ),
        ({"filters": [{"operator": "EQUAL", "values": [{"DICOMPatientId": "a", "DICOMStudyId": "b"}]}]}, "exactly one"),
        ({"filters": [{"operator": "LIKE", "values": [{"DICOMPatientId": "a"}]}]}, "operator"),
        ({"filters": [{"operator": "BETWEEN", "values": [{"createdAt": 10}]}]}, "two values"),
        (
            {"filters": [{"operator": "BETWEEN", "values": [{"createdAt": 20}, {"createdAt": 10}]}]},
            "lowerBound",
        ),
        (
            {
                "filters": [
                    {
                        "operator": "BETWEEN",
                        "values": [
                            {"DICOMStudyDateAndTime": {"DICOMStudyDate": "2024"}},
                            {"DICOMStudyDateAndTime": {"DICOMStudyDate": "20250101"}},
                        ],
                    }
                ]
            },
            "YYYYMMDD",
        ),
    ],
)
def test_invalid_search_criteria_are_refused(
    raw_sample_client: Any, sample_datastore_id: str, criteria: dict[str, Any], hint: str
) -> None:
    error = expect_error(
        "ValidationException",
        raw_sample_client.search_image_sets,
        datastoreId=sample_datastore_id,
        searchCriteria=criteria,
    )
    assert hint in error.response["Error"]["Message"]


def test_update_documents_must_be_valid(loaded: tuple[Store, str]) -> None:
    store, image_set_id = loaded
    client = strict_client(store.service)
    common = {"datastoreId": store.datastore_id, "imageSetId": image_set_id, "latestVersionId": "1"}
    both = {"DICOMUpdates": {"updatableAttributes": update_document({})}, "revertToVersionId": "1"}
    expect_error("ValidationException", client.update_image_set_metadata, **common, updateImageSetMetadataUpdates=both)
    error = expect_error(
        "ValidationException",
        client.update_image_set_metadata,
        **common,
        updateImageSetMetadataUpdates={"DICOMUpdates": {"updatableAttributes": b"this is not json"}},
    )
    assert "JSON" in error.response["Error"]["Message"]
    unknown_series = update_document({"Study": {"Series": {"1.2.3.4": {"DICOM": {"SeriesDescription": "X"}}}}})
    error = expect_error(
        "ValidationException",
        client.update_image_set_metadata,
        **common,
        updateImageSetMetadataUpdates={"DICOMUpdates": {"updatableAttributes": unknown_series}},
    )
    assert "1.2.3.4" in error.response["Error"]["Message"]
    raw = raw_request(
        store.service.endpoint,
        "POST",
        f"/datastore/{store.datastore_id}/imageSet/{image_set_id}/updateImageSetMetadata?latestVersion=1",
        b'{"DICOMUpdates": {"updatableAttributes": "***not base64***"}}',
    )
    assert raw.status == 400 and raw.headers["x-amzn-errortype"] == "ValidationException"
    assert "base64" in raw.json()["message"]
    assert store.image_set(image_set_id)["versionId"] == "1", "failed updates leave no version behind"


def test_stale_versions_conflict_on_update_and_copy(loaded: tuple[Store, str]) -> None:
    store, image_set_id = loaded
    client = store.client
    store.load(series(SeriesSpec(key="series-b"), 1))
    other = next(s["imageSetId"] for s in store.search() if s["imageSetId"] != image_set_id)
    update = {"DICOMUpdates": {"updatableAttributes": update_document({"Patient": {"DICOM": {"PatientName": "A^B"}}})}}
    store.update(image_set_id, "1", updateImageSetMetadataUpdates=update)
    error = expect_error(
        "ConflictException",
        store.update,
        image_set_id,
        "1",
        updateImageSetMetadataUpdates=update,
    )
    assert isinstance(error, client.exceptions.ConflictException)
    assert "version 2" in error.response["Error"]["Message"]
    expect_error(
        "ConflictException",
        client.copy_image_set,
        datastoreId=store.datastore_id,
        sourceImageSetId=image_set_id,
        copyImageSetInformation={"sourceImageSet": {"latestVersionId": "1"}},
    )
    expect_error(
        "ConflictException",
        client.copy_image_set,
        datastoreId=store.datastore_id,
        sourceImageSetId=other,
        copyImageSetInformation={
            "sourceImageSet": {"latestVersionId": "1"},
            "destinationImageSet": {"imageSetId": image_set_id, "latestVersionId": "1"},
        },
    )


def test_deleting_a_datastore_that_holds_image_sets_conflicts(loaded: tuple[Store, str]) -> None:
    store, _ = loaded
    error = expect_error("ConflictException", store.client.delete_datastore, datastoreId=store.datastore_id)
    assert "image set" in error.response["Error"]["Message"]
    assert (
        store.client.get_datastore(datastoreId=store.datastore_id)["datastoreProperties"]["datastoreStatus"] == "ACTIVE"
    )


def test_a_client_token_reused_with_other_parameters_conflicts(fresh_service: LocalService) -> None:
    client = fresh_service.client()
    client.create_datastore(datastoreName="first", clientToken="token-1")
    expect_error("ConflictException", client.create_datastore, datastoreName="second", clientToken="token-1")
