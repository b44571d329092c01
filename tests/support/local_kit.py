"""Helpers for the local-service conformance suite: boto3 clients, metadata reads, small writable datastores."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydicom.dataset import Dataset

from healthimaging_mcp.local.imports.batch import ImportReport, Loader
from healthimaging_mcp.local.service import LocalService
from tests.support.dicom_files import part10
from tests.support.local_testdata import SeriesSpec

UNKNOWN_ID = "0" * 32
SPEC = SeriesSpec()
OTHER_SERIES = SeriesSpec(key="series-b", series_number=2)
STATUS = {
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
    "ConflictException": 409,
    "AccessDeniedException": 403,
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 402,
    "InternalServerException": 500,
    "NotAcceptableException": 406,
    # AWS's front door (authentication), outside the operation models:
    "MissingAuthenticationTokenException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "IncompleteSignatureException": 403,
}


def strict_client(service: LocalService, **config: Any) -> Any:
    """A client that sends whatever it is given (no client-side validation) and never retries."""
    return service.client(parameter_validation=False, retries={"total_max_attempts": 1}, **config)


def read_metadata(client: Any, datastore_id: str, image_set_id: str, version: str | None = None) -> dict[str, Any]:
    extra = {"versionId": version} if version else {}
    response = client.get_image_set_metadata(datastoreId=datastore_id, imageSetId=image_set_id, **extra)
    document: dict[str, Any] = json.loads(gzip.decompress(response["imageSetMetadataBlob"].read()))
    return document


def update_document(document: dict[str, Any]) -> bytes:
    """An updatable/removable attributes document as boto3 takes it (bytes; boto3 base64-encodes them)."""
    return json.dumps({"SchemaVersion": 1.1, **document}).encode()


class Store:
    """One fresh service with one datastore; data goes in through the local import convenience."""

    def __init__(self, service: LocalService, **create: Any) -> None:
        self.service = service
        self.client = service.client()
        self.datastore_id: str = self.client.create_datastore(datastoreName="conformance", **create)["datastoreId"]

    def load(self, datasets: Iterable[Dataset], prefix: str = "in") -> ImportReport:
        files: list[tuple[str, Loader]] = [
            (f"{prefix}/{ds.SOPInstanceUID}.dcm", partial(part10, ds)) for ds in datasets
        ]
        return self.service.backend.import_files(self.datastore_id, files)

    def search(self, **criteria: Any) -> list[dict[str, Any]]:
        summaries: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("search_image_sets")
        extra = {"searchCriteria": criteria} if criteria else {}
        for page in paginator.paginate(datastoreId=self.datastore_id, **extra):
            summaries += page["imageSetsMetadataSummaries"]
        return summaries

    def image_set(self, image_set_id: str, version: str | None = None) -> dict[str, Any]:
        extra = {"versionId": version} if version else {}
        response: dict[str, Any] = self.client.get_image_set(
            datastoreId=self.datastore_id, imageSetId=image_set_id, **extra
        )
        return response

    def metadata(self, image_set_id: str, version: str | None = None) -> dict[str, Any]:
        return read_metadata(self.client, self.datastore_id, image_set_id, version)

    def frame(self, image_set_id: str, frame_id: str) -> dict[str, Any]:
        response: dict[str, Any] = self.client.get_image_frame(
            datastoreId=self.datastore_id, imageSetId=image_set_id, imageFrameInformation={"imageFrameId": frame_id}
        )
        return response

    def update(self, image_set_id: str, version: str, **kwargs: Any) -> dict[str, Any]:
        response: dict[str, Any] = self.client.update_image_set_metadata(
            datastoreId=self.datastore_id, imageSetId=image_set_id, latestVersionId=version, **kwargs
        )
        return response


def expect_error(code: str, call: Any, *args: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    error = info.value
    assert error.response["Error"]["Code"] == code, error.response["Error"]
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == STATUS[code]
    assert len(error.response["Error"]["Message"]) > 10
    return error


def updates(updatable: dict[str, Any] | None = None, removable: dict[str, Any] | None = None) -> dict[str, Any]:
    dicom: dict[str, bytes] = {}
    if updatable is not None:
        dicom["updatableAttributes"] = update_document(updatable)
    if removable is not None:
        dicom["removableAttributes"] = update_document(removable)
    return {"DICOMUpdates": dicom}


def only(store: Store, series_uid: str = SPEC.series_uid, primary: bool = True) -> str:
    image_set_id: str = next(
        s["imageSetId"]
        for s in store.search()
        if s["DICOMTags"]["DICOMSeriesInstanceUID"] == series_uid and s["isPrimary"] is primary
    )
    return image_set_id


def frame_ids(document: dict[str, Any]) -> list[str]:
    return [
        frame["ID"]
        for series_obj in document["Study"]["Series"].values()
        for instance in series_obj["Instances"].values()
        for frame in instance["ImageFrames"]
    ]
