"""Datastores: lifecycle, idempotent creation, lossless storage format, ARNs, and tags on datastores and image sets."""

from __future__ import annotations

import re
import zlib
from datetime import datetime
from urllib.parse import quote

import numpy as np
import pytest
from botocore.exceptions import ClientError

from healthimaging_mcp.imaging.codecs import decode_frame
from healthimaging_mcp.imaging.dataset_pixels import iter_frames
from healthimaging_mcp.local.service import LocalService
from tests.support.local_kit import Store, strict_client
from tests.support.local_testdata import SeriesSpec, series
from tests.support.raw_http import raw_request

DATASTORE_ARN = re.compile(r"arn:aws:medical-imaging:(?P<region>[a-z0-9-]+):\d{12}:datastore/(?P<id>[0-9a-z]{32})")


def test_datastore_lifecycle_from_creating_to_deleted(fresh_service: LocalService) -> None:
    client = fresh_service.client()
    created = client.create_datastore(datastoreName="life-cycle")
    assert created["datastoreStatus"] == "CREATING"
    assert re.fullmatch(r"[0-9a-z]{32}", created["datastoreId"])
    assert set(created) - {"ResponseMetadata"} == {"datastoreId", "datastoreStatus"}
    props = client.get_datastore(datastoreId=created["datastoreId"])["datastoreProperties"]
    assert props["datastoreStatus"] == "ACTIVE"
    assert props["datastoreName"] == "life-cycle"
    assert props["losslessStorageFormat"] == "HTJ2K"
    assert isinstance(props["createdAt"], datetime) and isinstance(props["updatedAt"], datetime)
    match = DATASTORE_ARN.fullmatch(props["datastoreArn"])
    assert match and match["id"] == created["datastoreId"] and match["region"] == "us-east-1"
    (summary,) = client.list_datastores()["datastoreSummaries"]
    assert set(summary) == {"datastoreId", "datastoreName", "datastoreStatus", "datastoreArn", "createdAt", "updatedAt"}

    deleted = client.delete_datastore(datastoreId=created["datastoreId"])
    assert (deleted["datastoreId"], deleted["datastoreStatus"]) == (created["datastoreId"], "DELETING")
    assert (
        client.get_datastore(datastoreId=created["datastoreId"])["datastoreProperties"]["datastoreStatus"] == "DELETED"
    )
    assert client.list_datastores(datastoreStatus="ACTIVE")["datastoreSummaries"] == []
    assert [d["datastoreStatus"] for d in client.list_datastores(datastoreStatus="DELETED")["datastoreSummaries"]] == [
        "DELETED"
    ]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.search_image_sets(datastoreId=created["datastoreId"])


def test_the_arn_carries_the_callers_region(fresh_service: LocalService) -> None:
    client = fresh_service.client(region="eu-west-1")
    datastore_id = client.create_datastore(datastoreName="dublin")["datastoreId"]
    arn = client.get_datastore(datastoreId=datastore_id)["datastoreProperties"]["datastoreArn"]
    match = DATASTORE_ARN.fullmatch(arn)
    assert match is not None and match["region"] == "eu-west-1"


def test_create_datastore_is_idempotent_per_client_token(fresh_service: LocalService) -> None:
    client = fresh_service.client()
    first = client.create_datastore(datastoreName="once", clientToken="same-token")
    again = client.create_datastore(datastoreName="once", clientToken="same-token")
    assert again["datastoreId"] == first["datastoreId"]
    assert len(client.list_datastores()["datastoreSummaries"]) == 1
    other = client.create_datastore(datastoreName="once")  # boto3 fills in a fresh token
    assert other["datastoreId"] != first["datastoreId"]


def test_optional_datastore_properties_are_kept(fresh_service: LocalService) -> None:
    client = fresh_service.client()
    kms = "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"
    lam = "arn:aws:lambda:us-east-1:123456789012:function:authorizer"
    datastore_id = client.create_datastore(datastoreName="keys", kmsKeyArn=kms, lambdaAuthorizerArn=lam)["datastoreId"]
    props = client.get_datastore(datastoreId=datastore_id)["datastoreProperties"]
    assert (props["kmsKeyArn"], props["lambdaAuthorizerArn"]) == (kms, lam)


@pytest.mark.parametrize(
    ("storage_format", "stored_syntax", "content_type"),
    [
        (None, "1.2.840.10008.1.2.4.202", "image/jph"),
        ("JPEG_2000_LOSSLESS", "1.2.840.10008.1.2.4.90", "image/j2c"),
    ],
)
def test_frames_are_stored_in_the_datastores_lossless_format(
    fresh_service: LocalService, storage_format: str | None, stored_syntax: str, content_type: str
) -> None:
    store = Store(fresh_service, **({"losslessStorageFormat": storage_format} if storage_format else {}))
    props = store.client.get_datastore(datastoreId=store.datastore_id)["datastoreProperties"]
    assert props["losslessStorageFormat"] == (storage_format or "HTJ2K")
    sources = series(SeriesSpec(), 2, frames=2)
    store.load(sources)
    (summary,) = store.search()
    document = store.metadata(summary["imageSetId"])
    instances = document["Study"]["Series"][SeriesSpec().series_uid]["Instances"]
    for source in sources:
        instance = instances[source.SOPInstanceUID]
        assert instance["StoredTransferSyntaxUID"] == stored_syntax
        for expected, frame in zip(iter_frames(source), instance["ImageFrames"], strict=True):
            response = store.frame(summary["imageSetId"], frame["ID"])
            assert response["contentType"] == content_type
            pixels = decode_frame(response["imageFrameBlob"].read(), stored_syntax)
            assert pixels.dtype == expected.dtype and np.array_equal(pixels, expected)
            (checksum,) = frame["PixelDataChecksumFromBaseToFullResolution"]
            assert checksum["Checksum"] == zlib.crc32(np.ascontiguousarray(pixels).tobytes())


def test_tags_on_datastores_and_image_sets(fresh_service: LocalService) -> None:
    store = Store(fresh_service, tags={"project": "conformance"})
    client = store.client
    store.load(series(SeriesSpec(), 1))
    (summary,) = store.search()
    datastore_arn = client.get_datastore(datastoreId=store.datastore_id)["datastoreProperties"]["datastoreArn"]
    image_set_arn = store.image_set(summary["imageSetId"])["imageSetArn"]
    assert image_set_arn == f"{datastore_arn}/imageset/{summary['imageSetId']}"

    assert client.list_tags_for_resource(resourceArn=datastore_arn)["tags"] == {"project": "conformance"}
    assert client.list_tags_for_resource(resourceArn=image_set_arn)["tags"] == {}
    assert set(client.tag_resource(resourceArn=image_set_arn, tags={"a": "1", "b": "2", "c": ""})) == {
        "ResponseMetadata"
    }
    client.tag_resource(resourceArn=image_set_arn, tags={"a": "one"})
    assert client.list_tags_for_resource(resourceArn=image_set_arn)["tags"] == {"a": "one", "b": "2", "c": ""}
    client.untag_resource(resourceArn=image_set_arn, tagKeys=["b", "c", "not-there"])
    assert client.list_tags_for_resource(resourceArn=image_set_arn)["tags"] == {"a": "one"}
    assert client.list_tags_for_resource(resourceArn=datastore_arn)["tags"] == {"project": "conformance"}


def test_the_tag_path_carries_the_whole_arn_percent_encoded(fresh_service: LocalService) -> None:
    store = Store(fresh_service, tags={"k": "v"})
    arn = store.client.get_datastore(datastoreId=store.datastore_id)["datastoreProperties"]["datastoreArn"]
    encoded = quote(arn, safe="")
    assert "%2F" in encoded and "%3A" in encoded
    response = raw_request(fresh_service.endpoint, "GET", f"/tags/{encoded}")
    assert response.status == 200 and response.json() == {"tags": {"k": "v"}}
    untag = raw_request(fresh_service.endpoint, "DELETE", f"/tags/{encoded}?tagKeys=k&tagKeys=other")
    assert untag.status == 200
    assert store.client.list_tags_for_resource(resourceArn=arn)["tags"] == {}


def test_tag_keys_and_counts_are_validated(fresh_service: LocalService) -> None:
    store = Store(fresh_service)
    client = strict_client(fresh_service)
    arn = client.get_datastore(datastoreId=store.datastore_id)["datastoreProperties"]["datastoreArn"]
    with pytest.raises(client.exceptions.ValidationException):
        client.tag_resource(resourceArn=arn, tags={"aws:reserved": "x"})
    with pytest.raises(client.exceptions.ValidationException) as info:
        client.tag_resource(resourceArn=arn, tags={f"key{i}": "v" for i in range(51)})
    assert "50" in info.value.response["Error"]["Message"]
    other_region = arn.replace("us-east-1", "us-west-2")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_tags_for_resource(resourceArn=other_region)


def test_tags_of_deleted_resources_are_gone(fresh_service: LocalService) -> None:
    store = Store(fresh_service)
    client = store.client
    store.load(series(SeriesSpec(), 1))
    (summary,) = store.search()
    image_set_arn = store.image_set(summary["imageSetId"])["imageSetArn"]
    client.tag_resource(resourceArn=image_set_arn, tags={"k": "v"})
    client.delete_image_set(datastoreId=store.datastore_id, imageSetId=summary["imageSetId"])
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_tags_for_resource(resourceArn=image_set_arn)
    datastore_arn = image_set_arn.split("/imageset/")[0]
    client.delete_datastore(datastoreId=store.datastore_id)
    with pytest.raises(ClientError) as info:
        client.tag_resource(resourceArn=datastore_arn, tags={"k": "v"})
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
