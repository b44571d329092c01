"""Shared fixtures: the local HealthImaging service over real HTTP, and moto's S3 in server mode."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from healthimaging_mcp.local.samples.seeding import SeedResult, seed_samples
from healthimaging_mcp.local.service import LocalService

# Never let a developer's real AWS configuration leak into the tests.
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


@pytest.fixture(scope="session")
def seeded_samples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalService, SeedResult]]:
    """A running local service seeded with the sample collection, and what the seeding made."""
    service = LocalService(tmp_path_factory.mktemp("sample-service"))
    seed = seed_samples(service.backend)
    with service:
        yield service, seed


@pytest.fixture(scope="session")
def sample_service(seeded_samples: tuple[LocalService, SeedResult]) -> LocalService:
    """The running local service with the sample collection; treat it as read-only."""
    return seeded_samples[0]


@pytest.fixture(scope="session")
def sample_seed(seeded_samples: tuple[LocalService, SeedResult]) -> SeedResult:
    return seeded_samples[1]


@pytest.fixture(scope="session")
def sample_datastore_id(sample_seed: SeedResult) -> str:
    return sample_seed.datastore_id


@pytest.fixture
def fresh_service(tmp_path: Path) -> Iterator[LocalService]:
    """An empty local service of its own, for tests that change data."""
    with LocalService(tmp_path / "service") as service:
        yield service


SLOW_WRITE_SECONDS = 0.5


@pytest.fixture
def slow_service(tmp_path: Path) -> Iterator[LocalService]:
    """An empty local service whose image set writes stay LOCKED for SLOW_WRITE_SECONDS, as HealthImaging's take
    time: what makes a caller wait for the final state."""
    with LocalService(tmp_path / "slow-service", write_seconds=SLOW_WRITE_SECONDS) as service:
        yield service


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Any]:
    """moto's S3 in server mode on a free port; AWS_ENDPOINT_URL_S3 points every S3 client at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    previous = os.environ.get("AWS_ENDPOINT_URL_S3")
    os.environ["AWS_ENDPOINT_URL_S3"] = endpoint
    try:
        yield boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    finally:
        if previous is None:
            os.environ.pop("AWS_ENDPOINT_URL_S3", None)
        else:
            os.environ["AWS_ENDPOINT_URL_S3"] = previous
        server.stop()
