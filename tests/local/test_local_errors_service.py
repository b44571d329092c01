"""Service-side errors: access denied, throttling, quotas, internal errors, and only the errors each model lists."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from healthimaging_mcp.local.service import LocalService
from tests.support.local_kit import UNKNOWN_ID, Store, expect_error, strict_client, update_document
from tests.support.local_testdata import SeriesSpec, series
from tests.support.raw_http import raw_request


def test_unsigned_requests_are_refused_by_the_front_door(sample_service: LocalService) -> None:
    raw = raw_request(sample_service.endpoint, "GET", "/datastore", sign=False)
    assert raw.status == 403
    assert raw.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert "Missing Authentication Token" in raw.json()["message"]
    bogus = raw_request(sample_service.endpoint, "GET", "/datastore", sign=False, headers={"Authorization": "Bearer x"})
    assert bogus.status == 403 and bogus.headers["x-amzn-errortype"] == "IncompleteSignatureException"


@pytest.mark.parametrize("dicomweb", [False, True], ids=["native", "dicomweb"])
def test_a_credential_scope_of_another_service_is_refused(
    sample_service: LocalService, sample_datastore_id: str, dicomweb: bool
) -> None:
    path = f"/datastore/{sample_datastore_id}" + ("/studies" if dicomweb else "")
    right = raw_request(sample_service.endpoint, "GET", path)
    wrong = raw_request(sample_service.endpoint, "GET", path, service="s3")
    assert right.status == 200
    assert (wrong.status, wrong.headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    assert wrong.json()["message"] == "Credential should be scoped to correct service: 'medical-imaging'."


def test_with_credentials_only_the_right_key_and_secret_are_accepted(tmp_path: Any) -> None:
    with LocalService(tmp_path / "signed", credentials={"AKIDLOCAL": "right-secret"}) as service:
        good = service.client(aws_access_key_id="AKIDLOCAL", aws_secret_access_key="right-secret")
        datastore_id = good.create_datastore(datastoreName="signed")["datastoreId"]
        arn = good.get_datastore(datastoreId=datastore_id)["datastoreProperties"]["datastoreArn"]
        good.tag_resource(resourceArn=arn, tags={"team": "imaging", "a+b:c/d=e": "v w"})  # encoded ARN path
        good.untag_resource(resourceArn=arn, tagKeys=["a+b:c/d=e", "x.y_z"])  # signed repeated query keys
        assert good.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "imaging"}
        wrong_secret = strict_client(service, aws_access_key_id="AKIDLOCAL", aws_secret_access_key="wrong")
        error = expect_error("InvalidSignatureException", wrong_secret.list_datastores)
        assert "signature" in error.response["Error"]["Message"]
        unknown_key = strict_client(service, aws_access_key_id="AKIDOTHER", aws_secret_access_key="right-secret")
        error = expect_error("UnrecognizedClientException", unknown_key.get_datastore, datastoreId=datastore_id)
        assert "security token" in error.response["Error"]["Message"]

        path = f"/datastore/{datastore_id}"
        signed = raw_request(service.endpoint, "GET", path, access_key="AKIDLOCAL", secret="right-secret")
        assert signed.status == 200
        other_host = raw_request(
            service.endpoint, "GET", path, access_key="AKIDLOCAL", secret="right-secret", host="runtime-localhost"
        )
        assert other_host.status == 200, "a signature over another Host header is still a valid signature"
        mismatched = raw_request(
            service.endpoint, "GET", path, access_key="AKIDLOCAL", secret="right-secret", signed_path="/datastore"
        )
        assert (mismatched.status, mismatched.headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
        stale = raw_request(service.endpoint, "GET", "/datastore", sign=False, headers=_stale_auth())
        assert (stale.status, stale.headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
        assert "expired" in stale.json()["message"]


def _stale_auth() -> dict[str, str]:
    return {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20240101/us-east-1/medical-imaging/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        "X-Amz-Date": "20240101T000000Z",
    }


def test_access_denied_is_the_modelled_exception(
    sample_service: LocalService, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    client = strict_client(sample_service)
    sample_service.faults.add("GetImageSet", "AccessDeniedException", message="User is not authorized to GetImageSet")
    error = expect_error(
        "AccessDeniedException",
        client.get_image_set,
        datastoreId=sample_datastore_id,
        imageSetId=sample_summaries[0]["imageSetId"],
    )
    assert isinstance(error, client.exceptions.AccessDeniedException)


def test_throttled_writes_are_refused_with_429(tmp_path: Any) -> None:
    with LocalService(tmp_path / "throttled", throttle=True) as service:
        store = Store(service)
        store.load(series(SeriesSpec(), 1))
        (summary,) = store.search()
        client = strict_client(service)
        update = {
            "DICOMUpdates": {"updatableAttributes": update_document({"Patient": {"DICOM": {"PatientName": "X"}}})}
        }
        client.update_image_set_metadata(
            datastoreId=store.datastore_id,
            imageSetId=summary["imageSetId"],
            latestVersionId="1",
            updateImageSetMetadataUpdates=update,
        )
        error = expect_error(
            "ThrottlingException",
            client.update_image_set_metadata,
            datastoreId=store.datastore_id,
            imageSetId=summary["imageSetId"],
            latestVersionId="2",
            updateImageSetMetadataUpdates=update,
        )
        assert isinstance(error, client.exceptions.ThrottlingException)
        copy = {
            "datastoreId": store.datastore_id,
            "sourceImageSetId": summary["imageSetId"],
            "copyImageSetInformation": {"sourceImageSet": {"latestVersionId": "2"}},
        }
        client.copy_image_set(**copy)  # each write operation has its own burst of one
        expect_error("ThrottlingException", client.copy_image_set, **copy)
        # With retries botocore backs off and tries again; at 0.25 TPS it still reports the throttle.
        patient = service.client(retries={"mode": "standard", "total_max_attempts": 2})
        with pytest.raises(patient.exceptions.ThrottlingException) as info:
            patient.copy_image_set(**copy)
        assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 1
        # botocore's default retries ride out the throttle of a faster operation.
        retrying = service.client()
        responses = [retrying.list_datastores() for _ in range(12)]
        assert all(r["datastoreSummaries"] for r in responses)
        assert any(r["ResponseMetadata"]["RetryAttempts"] > 0 for r in responses)


def test_the_eleventh_datastore_exceeds_the_quota(fresh_service: LocalService) -> None:
    client = fresh_service.client()
    for index in range(10):
        client.create_datastore(datastoreName=f"store-{index}")
    error = expect_error("ServiceQuotaExceededException", client.create_datastore, datastoreName="one-too-many")
    assert isinstance(error, client.exceptions.ServiceQuotaExceededException)
    assert "10" in error.response["Error"]["Message"]


def test_injected_faults_arrive_as_internal_server_errors(
    sample_service: LocalService, sample_datastore_id: str
) -> None:
    client = strict_client(sample_service)
    sample_service.faults.add("GetDatastore", "InternalServerException", message="Injected failure for the test")
    error = expect_error("InternalServerException", client.get_datastore, datastoreId=sample_datastore_id)
    assert isinstance(error, client.exceptions.InternalServerException)
    assert client.get_datastore(datastoreId=sample_datastore_id)["datastoreProperties"]
    # botocore retries 500s by default, so a one-off fault is invisible to a default client.
    sample_service.faults.add("GetDatastore", "InternalServerException")
    recovered = sample_service.client().get_datastore(datastoreId=sample_datastore_id)
    assert recovered["ResponseMetadata"]["RetryAttempts"] == 1


def test_operations_raise_only_the_errors_their_model_lists(
    sample_service: LocalService, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    client = strict_client(sample_service)
    image_set_id = sample_summaries[0]["imageSetId"]
    sample_service.faults.add("GetImageSet", "NotAcceptableException")
    expect_error(
        "InternalServerException", client.get_image_set, datastoreId=sample_datastore_id, imageSetId=image_set_id
    )
    sample_service.faults.add("ListDatastores", "ConflictException")
    expect_error("InternalServerException", client.list_datastores)
    sample_service.faults.add("GetImageFrame", "NotAcceptableException")
    error = expect_error(
        "NotAcceptableException",
        client.get_image_frame,
        datastoreId=sample_datastore_id,
        imageSetId=image_set_id,
        imageFrameInformation={"imageFrameId": UNKNOWN_ID},
    )
    assert isinstance(error, client.exceptions.NotAcceptableException)


def test_error_bodies_follow_the_rest_json_format(sample_service: LocalService) -> None:
    raw = raw_request(sample_service.endpoint, "GET", f"/datastore/{uuid.uuid4().hex}")
    assert raw.status == 404
    assert raw.headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert raw.headers["content-type"] == "application/json"
    assert set(raw.json()) == {"message"}
    assert raw.headers["x-amzn-requestid"]
