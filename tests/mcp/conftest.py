"""Fixtures for the MCP behaviour suite: servers built on the shared local services, sample facts."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp_testkit import WritableStore, settings_for

from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.server import HealthImagingServer, build_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class SampleFacts:
    """What the seeded sample datastore holds, read with plain boto3."""

    datastore_id: str
    summaries: list[dict[str, Any]]
    ct_image_set_id: str  # the 128-slice synthetic chest CT
    ct_series_uid: str
    ct_document: dict[str, Any]

    @property
    def image_set_ids(self) -> set[str]:
        return {s["imageSetId"] for s in self.summaries}

    def ct_instances(self) -> list[tuple[int, str, str]]:
        """(instance number, SOP instance UID, image frame ID) of the CT, by instance number."""
        series = self.ct_document["Study"]["Series"][self.ct_series_uid]["Instances"]
        rows = [(int(i["DICOM"]["InstanceNumber"]), uid, i["ImageFrames"][0]["ID"]) for uid, i in series.items()]
        return sorted(rows)


@pytest.fixture(scope="session")
def sample_facts(sample_service: LocalService, sample_datastore_id: str) -> SampleFacts:
    client = sample_service.client()
    summaries: list[dict[str, Any]] = []
    for page in client.get_paginator("search_image_sets").paginate(datastoreId=sample_datastore_id):
        summaries += page["imageSetsMetadataSummaries"]
    ct = max(summaries, key=lambda s: s["DICOMTags"].get("DICOMNumberOfStudyRelatedInstances", 0))
    response = client.get_image_set_metadata(datastoreId=sample_datastore_id, imageSetId=ct["imageSetId"])
    document = json.loads(gzip.decompress(response["imageSetMetadataBlob"].read()))
    return SampleFacts(
        datastore_id=sample_datastore_id,
        summaries=summaries,
        ct_image_set_id=ct["imageSetId"],
        ct_series_uid=ct["DICOMTags"]["DICOMSeriesInstanceUID"],
        ct_document=document,
    )


@pytest.fixture(scope="session")
def output_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp-output")


@pytest.fixture(scope="session")
def read_server(sample_service: LocalService, output_root: Path) -> HealthImagingServer:
    """A read-only server on the sample datastore, shared by the tests that only read."""
    return build_server(settings_for(sample_service.endpoint, output_root))


@pytest.fixture
def server_for(tmp_path: Path) -> Callable[..., HealthImagingServer]:
    """Build a server for any service with overridden settings (output folder: this test's tmp_path)."""

    def build(service: LocalService | str, **overrides: Any) -> HealthImagingServer:
        endpoint = service if isinstance(service, str) else service.endpoint
        overrides.setdefault("output_dir", tmp_path / "out")
        return build_server(settings_for(endpoint, **overrides))

    return build


@pytest.fixture
def store(fresh_service: LocalService) -> WritableStore:
    """A fresh service with one datastore and one 3-slice CT image set."""
    return WritableStore.create(fresh_service)
