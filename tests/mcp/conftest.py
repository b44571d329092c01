"""Fixtures for the MCP behaviour suite: servers built on the shared local services, sample facts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.server import HealthImagingServer, build_server
from tests.support.mcp_stores import WritableStore
from tests.support.mcp_testkit import settings_for
from tests.support.samples import SampleFacts, read_sample_facts


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sample_facts(sample_service: LocalService, sample_datastore_id: str) -> SampleFacts:
    return read_sample_facts(sample_service, sample_datastore_id)


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
