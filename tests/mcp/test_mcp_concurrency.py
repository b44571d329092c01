"""Concurrent tool calls run concurrently: blocking AWS calls never stall the server's event loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.service import LocalService
from tests.support.latency_proxy import LatencyProxy
from tests.support.mcp_testkit import MODES, call, ok
from tests.support.samples import SampleFacts

pytestmark = pytest.mark.anyio

CALLS = 16


@pytest.fixture
def slow_endpoint(sample_service: LocalService) -> Iterator[str]:
    """The sample service behind a proxy adding 10 ms per request, as the network to AWS would."""
    proxy = LatencyProxy(sample_service.endpoint, delay=0.01)
    yield proxy.endpoint
    proxy.close()


def workload(sample_facts: SampleFacts) -> list[tuple[str, dict[str, Any]]]:
    """16 calls mixing metadata reads of every image set and searches."""
    ids = sorted(sample_facts.image_set_ids)
    calls: list[tuple[str, dict[str, Any]]] = []
    for index in range(CALLS):
        if index % 2:
            calls.append(("search_image_sets", {"patient_id": ["PAT-ALICE-001", "PAT-BOB-002"][index % 4 // 2]}))
        else:
            calls.append(("get_image_set_metadata", {"image_set_id": ids[index % len(ids)]}))
    return calls


@pytest.mark.parametrize("mode", MODES)
async def test_sixteen_concurrent_calls_all_succeed_and_beat_sequential_calls(
    mode: str, slow_endpoint: str, sample_facts: SampleFacts, server_for: Callable[..., MCPServer]
) -> None:
    # No metadata cache, so both runs do the same AWS work.
    server = server_for(slow_endpoint, metadata_cache_entries=0)
    calls = workload(sample_facts)
    results: dict[int, Any] = {}
    async with Client(server, mode=mode) as client:
        await call(client, "list_datastores")  # warm up: the client, the default datastore
        started = time.perf_counter()
        for name, arguments in calls:
            ok(await call(client, name, arguments))
        sequential = time.perf_counter() - started

        async def one(index: int, name: str, arguments: dict[str, Any]) -> None:
            results[index] = await call(client, name, arguments)

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for index, (name, arguments) in enumerate(calls):
                group.start_soon(one, index, name, arguments)
        concurrent = time.perf_counter() - started
    assert len(results) == CALLS
    for index, (name, arguments) in enumerate(calls):
        data = ok(results[index])
        if name == "get_image_set_metadata":
            assert data["image_set_id"] == arguments["image_set_id"]
        else:
            assert {h["patient_id"] for h in data["image_sets"]} == {arguments["patient_id"]}
    print(f"\n{mode}: {CALLS} calls sequential {sequential * 1000:.0f} ms, concurrent {concurrent * 1000:.0f} ms")
    assert concurrent < sequential * 0.9
