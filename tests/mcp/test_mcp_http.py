"""`--transport http`: streamable HTTP served by a real subprocess, usable directly and behind a proxy."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from mcp import Client
from mcp_testkit import READ_TOOLS, error_of, ok
from test_mcp_stdio import child_env

from healthimaging_mcp.local.service import LocalService

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def http_server(sample_service: LocalService) -> Iterator[str]:
    port = free_port()
    args = ["--transport", "http", "--port", str(port), "--allowed-host", f"imaging.example:{port}"]
    args += ["--endpoint-url", sample_service.endpoint, "--region", "us-east-1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "healthimaging_mcp", *args],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError(f"no HTTP listener: {process.stderr.read().decode() if process.stderr else ''}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_streamable_http_serves_the_tools(http_server: str, sample_facts) -> None:
    async with Client(f"{http_server}/mcp") as client:
        tools = (await client.list_tools()).tools
        search = await client.call_tool("search_image_sets", {"patient_id": "PAT-ALICE-001", "max_results": 50})
        failed = await client.call_tool("get_image_set", {"image_set_id": "0" * 32})
    assert {t.name for t in tools} == READ_TOOLS
    assert sample_facts.ct_image_set_id in {h["image_set_id"] for h in ok(search)["image_sets"]}
    assert error_of(failed)["type"] == "not_found"


def post_status(port: int, host_header: str) -> int:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "Host": host_header,
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/mcp", body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_only_the_allowed_host_headers_are_served(http_server: str) -> None:
    port = int(http_server.rsplit(":", 1)[1])
    assert post_status(port, f"evil.example:{port}") == 421
    assert post_status(port, f"imaging.example:{port}") != 421
