"""Stateless operation: two server processes on two ports, as replicas behind a load balancer that sends each
request elsewhere. A client alternating between them completes a session under the 2026-07-28 protocol,
including a destructive call confirmed by the user whose retry lands on the other replica (the request state
is sealed with the key the replicas share), and a handshake-era client is served too (--stateless-http)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult

from tests.support.mcp_stores import WritableStore
from tests.support.mcp_testkit import READ_TOOLS, WRITE_TOOLS, ok
from tests.support.server_processes import free_port, launch, stop

pytestmark = pytest.mark.anyio


class Alternating(httpx2.AsyncBaseTransport):
    """Sends request i to ports[i % len(ports)]: a load balancer without sticky sessions."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.sent: list[int] = []
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[len(self.sent) % len(self.ports)]
        self.sent.append(port)
        request.url = request.url.copy_with(port=port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextmanager
def replicas(store: WritableStore, tmp_path: Path, state_key: str | None) -> Iterator[list[tuple[int, Path]]]:
    """Two replicas on the same service, each with its own audit log; `state_key` shared when given."""
    started: list[tuple[int, Path, Any]] = []
    try:
        for name in ("a", "b"):
            port, audit = free_port(), tmp_path / f"audit-{name}.jsonl"
            args = ["--endpoint-url", store.service.endpoint, "--region", "us-east-1", "--allow-write"]
            args += ["--stateless-http", "--audit-log", str(audit)]
            shared = {"HEALTHIMAGING_MCP_STATE_KEY": state_key} if state_key else {}  # else one key per process
            started.append((port, audit, launch(port, *args, stderr=None, **shared)))
        yield [(port, audit) for port, audit, _ in started]
    finally:
        for _, _, process in started:
            stop(process)


async def accept(context: Any, params: Any) -> ElicitResult:
    return ElicitResult(action="accept", content={"confirm": True})


def alternating_client(ports: list[int], mode: str) -> tuple[Client, Alternating]:
    transport = Alternating(ports)
    http_client = httpx2.AsyncClient(transport=transport, timeout=httpx2.Timeout(30, read=120))
    url = f"http://127.0.0.1:{ports[0]}/mcp"
    return Client(
        streamable_http_client(url, http_client=http_client), mode=mode, elicitation_callback=accept
    ), transport


def audited(audit: Path) -> list[tuple[str, str]]:
    return [(line["tool"], line["outcome"]) for line in map(json.loads, audit.read_text().splitlines())]


async def test_a_session_alternating_between_replicas_completes(store: WritableStore, tmp_path: Path) -> None:
    image_set_id = store.image_set_ids[0]
    with replicas(store, tmp_path, state_key=secrets.token_hex(32)) as served:
        client, transport = alternating_client([port for port, _ in served], "auto")
        async with client:
            assert client.protocol_version == "2026-07-28"
            tools = {tool.name for tool in (await client.list_tools()).tools}
            found = ok(await client.call_tool("search_image_sets", {"datastore_id": store.datastore_id}))
            metadata = await client.call_tool(
                "get_image_set_metadata", {"datastore_id": store.datastore_id, "image_set_id": image_set_id}
            )
            deleted = await client.call_tool(
                "delete_image_set", {"datastore_id": store.datastore_id, "image_set_id": image_set_id}
            )
    assert tools == READ_TOOLS | WRITE_TOOLS
    assert {hit["image_set_id"] for hit in found["image_sets"]} == {image_set_id}
    assert not metadata.is_error
    assert ok(deleted)["image_set_id"] == image_set_id
    assert not [s for s in store.boto.search_image_sets(datastoreId=store.datastore_id)["imageSetsMetadataSummaries"]]
    assert set(transport.sent) == {port for port, _ in served}  # both replicas answered
    lines = [audited(audit) for _, audit in served]
    asked = [i for i, replica in enumerate(lines) if ("delete_image_set", "input_required") in replica]
    done = [i for i, replica in enumerate(lines) if ("delete_image_set", "ok") in replica]
    assert len(asked) == 1 and len(done) == 1 and asked != done  # asked by one replica, done by the other


async def test_without_a_shared_key_a_confirmation_cannot_cross_replicas(store: WritableStore, tmp_path: Path) -> None:
    image_set_id = store.image_set_ids[0]
    with replicas(store, tmp_path, state_key=None) as served:
        client, _ = alternating_client([port for port, _ in served], "auto")
        async with client:
            with pytest.raises(MCPError, match="Invalid or expired requestState"):
                await client.call_tool(
                    "delete_image_set", {"datastore_id": store.datastore_id, "image_set_id": image_set_id}
                )
    assert store.state(image_set_id)["imageSetState"] == "ACTIVE"  # nothing was deleted


async def test_a_handshake_era_client_is_served_by_alternating_replicas(store: WritableStore, tmp_path: Path) -> None:
    with replicas(store, tmp_path, state_key=secrets.token_hex(32)) as served:
        client, transport = alternating_client([port for port, _ in served], "legacy")
        async with client:
            assert client.protocol_version == "2025-11-25"
            found = ok(await client.call_tool("search_image_sets", {"datastore_id": store.datastore_id}))
            versions = ok(
                await client.call_tool(
                    "list_image_set_versions",
                    {"image_set_id": store.image_set_ids[0], "datastore_id": store.datastore_id},
                )
            )
    assert {hit["image_set_id"] for hit in found["image_sets"]} == set(store.image_set_ids)
    assert versions["versions"]
    assert set(transport.sent) == {port for port, _ in served}
