"""Read operations over the wire: response shapes and types exactly as botocore parses them."""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime
from typing import Any

import pytest

from healthimaging_mcp.local.service import LocalService
from tests.support.raw_http import raw_request

ID = re.compile(r"[0-9a-z]{32}")
IMAGE_SET_ARN = re.compile(r"arn:aws:medical-imaging:us-east-1:\d{12}:datastore/([0-9a-z]{32})/imageset/([0-9a-z]{32})")
WORKFLOW_STATUSES = {
    "CREATED", "COPIED", "COPYING", "COPYING_WITH_READ_ONLY_ACCESS", "COPY_FAILED", "UPDATING",
    "UPDATING_FOR_STUDY_CONSISTENCY", "UPDATED", "UPDATE_FAILED", "DELETING", "DELETED", "IMPORTING", "IMPORTED",
    "IMPORT_FAILED",
}  # fmt: skip
CONTENT_TYPES = {
    "1.2.840.10008.1.2.4.202": "image/jph",
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.91": "image/j2c",
    "1.2.840.10008.1.2.1": "application/octet-stream",
}


def _path(datastore_id: str, image_set_id: str, action: str) -> str:
    return f"/datastore/{datastore_id}/imageSet/{image_set_id}/{action}"


def _largest(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    return max(summaries, key=lambda s: s["DICOMTags"]["DICOMNumberOfStudyRelatedInstances"])


def test_search_summaries_have_the_model_types(sample_summaries: list[dict[str, Any]]) -> None:
    assert len(sample_summaries) == 19
    for summary in sample_summaries:
        assert ID.fullmatch(summary["imageSetId"])
        assert type(summary["version"]) is int and summary["version"] >= 1
        assert isinstance(summary["createdAt"], datetime) and isinstance(summary["updatedAt"], datetime)
        assert summary["storageTier"] == "FREQUENT_ACCESS"
        assert summary["isPrimary"] is True
        tags = summary["DICOMTags"]
        assert type(tags["DICOMNumberOfStudyRelatedInstances"]) is int
        assert type(tags["DICOMNumberOfStudyRelatedSeries"]) is int
        assert type(tags["DICOMSeriesNumber"]) is int
        assert tags["DICOMPatientId"].startswith("PAT-")
        assert re.fullmatch(r"\d{8}", tags["DICOMStudyDate"])
        assert "lastUpdatedAt" not in summary


def test_get_image_set_reports_version_strings_and_epoch_timestamps(
    sample_service: LocalService, sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    image_set_id = sample_summaries[0]["imageSetId"]
    parsed = sample_client.get_image_set(datastoreId=sample_datastore_id, imageSetId=image_set_id)
    assert parsed["versionId"] == "1"
    assert parsed["imageSetState"] == "ACTIVE"
    assert parsed["imageSetWorkflowStatus"] in WORKFLOW_STATUSES
    assert isinstance(parsed["createdAt"], datetime) and isinstance(parsed["updatedAt"], datetime)
    assert parsed["isPrimary"] is True
    arn = IMAGE_SET_ARN.fullmatch(parsed["imageSetArn"])
    assert arn is not None and arn.groups() == (sample_datastore_id, image_set_id)
    assert parsed["ResponseMetadata"]["RequestId"] == parsed["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

    raw = raw_request(sample_service.endpoint, "POST", _path(sample_datastore_id, image_set_id, "getImageSet"))
    body = raw.json()
    assert raw.status == 200 and raw.headers["content-type"] == "application/json"
    assert body["versionId"] == "1"
    assert isinstance(body["createdAt"], (int, float)) and not isinstance(body["createdAt"], bool)
    assert isinstance(body["updatedAt"], (int, float))


def test_image_set_metadata_is_gzip_json_with_both_headers(
    sample_service: LocalService, sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    image_set_id = _largest(sample_summaries)["imageSetId"]
    parsed = sample_client.get_image_set_metadata(datastoreId=sample_datastore_id, imageSetId=image_set_id)
    assert parsed["contentType"] == "application/json"
    assert parsed["contentEncoding"] == "gzip"
    blob = parsed["imageSetMetadataBlob"].read()
    assert blob[:2] == b"\x1f\x8b", "botocore hands over the body still compressed"
    document = json.loads(gzip.decompress(blob))
    assert document["SchemaVersion"] == "1.1"
    assert (document["DatastoreID"], document["ImageSetID"]) == (sample_datastore_id, image_set_id)
    assert set(document) == {"SchemaVersion", "DatastoreID", "ImageSetID", "Patient", "Study"}

    raw = raw_request(sample_service.endpoint, "POST", _path(sample_datastore_id, image_set_id, "getImageSetMetadata"))
    assert raw.status == 200
    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["content-encoding"] == "gzip"
    assert int(raw.headers["content-length"]) == len(raw.body) == len(blob)
    assert json.loads(gzip.decompress(raw.body)) == document


def test_image_frames_come_back_with_the_content_type_of_their_stored_syntax(
    sample_client: Any, sample_datastore_id: str, sample_documents: dict[str, dict[str, Any]]
) -> None:
    seen: set[str] = set()
    for image_set_id, document in sample_documents.items():
        for series in document["Study"]["Series"].values():
            for instance in series["Instances"].values():
                syntax = instance["StoredTransferSyntaxUID"]
                if syntax in seen:
                    continue
                seen.add(syntax)
                frame = instance["ImageFrames"][0]
                response = sample_client.get_image_frame(
                    datastoreId=sample_datastore_id,
                    imageSetId=image_set_id,
                    imageFrameInformation={"imageFrameId": frame["ID"]},
                )
                assert response["contentType"] == CONTENT_TYPES[syntax], syntax
                assert len(response["imageFrameBlob"].read()) == frame["FrameSizeInBytes"]
    assert seen == set(CONTENT_TYPES)


def test_list_image_set_versions_emits_the_capitalised_workflow_status(
    sample_service: LocalService, sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> None:
    image_set_id = sample_summaries[0]["imageSetId"]
    parsed = sample_client.list_image_set_versions(datastoreId=sample_datastore_id, imageSetId=image_set_id)
    (item,) = parsed["imageSetPropertiesList"]
    assert item["ImageSetWorkflowStatus"] in WORKFLOW_STATUSES
    assert item["versionId"] == "1" and item["imageSetId"] == image_set_id
    assert item["imageSetState"] == "ACTIVE" and item["isPrimary"] is True
    assert isinstance(item["createdAt"], datetime)

    raw = raw_request(sample_service.endpoint, "POST", _path(sample_datastore_id, image_set_id, "listImageSetVersions"))
    (raw_item,) = raw.json()["imageSetPropertiesList"]
    assert "ImageSetWorkflowStatus" in raw_item and "imageSetWorkflowStatus" not in raw_item


@pytest.mark.parametrize("host", ["runtime-localhost", "medical-imaging.us-east-1.amazonaws.com", "example.org:1"])
def test_the_host_header_does_not_matter(
    sample_service: LocalService, sample_datastore_id: str, sample_summaries: list[dict[str, Any]], host: str
) -> None:
    image_set_id = sample_summaries[0]["imageSetId"]
    data_plane = raw_request(
        sample_service.endpoint, "POST", _path(sample_datastore_id, image_set_id, "getImageSet"), host=host
    )
    control_plane = raw_request(sample_service.endpoint, "GET", f"/datastore/{sample_datastore_id}", host=host)
    assert data_plane.status == 200 and data_plane.json()["imageSetId"] == image_set_id
    assert control_plane.status == 200 and control_plane.json()["datastoreProperties"]["datastoreId"]


def test_boto3_configured_only_by_environment_reaches_the_service(
    sample_service: LocalService,
    sample_datastore_id: str,
    sample_summaries: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_MEDICAL_IMAGING", sample_service.endpoint)
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    client = boto3.session.Session().client("medical-imaging", region_name="us-east-1")
    assert client.get_datastore(datastoreId=sample_datastore_id)["datastoreProperties"]["datastoreName"] == "sample"
    image_set_id = sample_summaries[0]["imageSetId"]
    assert client.get_image_set(datastoreId=sample_datastore_id, imageSetId=image_set_id)["imageSetId"] == image_set_id


def test_unknown_routes_are_refused_with_a_json_error(sample_service: LocalService) -> None:
    raw = raw_request(sample_service.endpoint, "GET", "/no/such/route")
    assert raw.status == 404
    assert raw.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert "GET /no/such/route" in raw.json()["message"]
