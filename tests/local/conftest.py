"""Fixtures for the local-service conformance suite: boto3 clients and small writable datastores."""

from __future__ import annotations

from typing import Any

import pytest

from healthimaging_mcp.local.service import LocalService
from tests.support.local_kit import SPEC, Store, only, read_metadata
from tests.support.local_testdata import series


@pytest.fixture(scope="session")
def sample_client(sample_service: LocalService) -> Any:
    return sample_service.client()


@pytest.fixture(scope="session")
def sample_summaries(sample_client: Any, sample_datastore_id: str) -> list[dict[str, Any]]:
    """Every image set of the seeded sample datastore (search summaries)."""
    summaries: list[dict[str, Any]] = []
    for page in sample_client.get_paginator("search_image_sets").paginate(datastoreId=sample_datastore_id):
        summaries += page["imageSetsMetadataSummaries"]
    return summaries


@pytest.fixture(scope="session")
def sample_documents(
    sample_client: Any, sample_datastore_id: str, sample_summaries: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Image set id → its metadata document, for every sample image set."""
    return {
        s["imageSetId"]: read_metadata(sample_client, sample_datastore_id, s["imageSetId"]) for s in sample_summaries
    }


@pytest.fixture
def store(fresh_service: LocalService) -> Store:
    return Store(fresh_service)


@pytest.fixture
def loaded(store: Store) -> tuple[Store, str]:
    store.load(series(SPEC, 3))
    return store, only(store)
