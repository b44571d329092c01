"""`--transport http`: streamable HTTP served by a real subprocess, usable directly and behind a proxy, and
closed to everyone else: loopback only unless explicitly opted out, DNS-rebinding protection always on."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from healthimaging_mcp.http_security import is_loopback
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.settings import Settings
from tests.support.mcp_testkit import READ_TOOLS, error_of, ok
from tests.support.samples import SampleFacts
from tests.support.server_processes import child_env, free_port, launch, stop

pytestmark = pytest.mark.anyio


@pytest.fixture
def http_server(sample_service: LocalService) -> Iterator[str]:
    port = free_port()
    args = ["--allowed-host", f"imaging.example:{port}", "--endpoint-url", sample_service.endpoint]
    process = launch(port, *args, "--region", "us-east-1")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


async def test_streamable_http_serves_the_tools(http_server: str, sample_facts: SampleFacts) -> None:
    async with Client(f"{http_server}/mcp") as client:
        tools = (await client.list_tools()).tools
        search = await client.call_tool("search_image_sets", {"patient_id": "PAT-ALICE-001", "max_results": 50})
        failed = await client.call_tool("get_image_set", {"image_set_id": "0" * 32})
    assert {t.name for t in tools} == READ_TOOLS
    assert sample_facts.ct_image_set_id in {h["image_set_id"] for h in ok(search)["image_sets"]}
    assert error_of(failed)["type"] == "not_found"


def status_of(port: int, host: str, *, address: str = "127.0.0.1", **headers: str) -> int:
    """The HTTP status of an MCP `initialize` POSTed to `address`:`port` with this Host header (and `headers`)."""
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        }
    )
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "Host": host,
        **{name.replace("_", "-"): value for name, value in headers.items()},
    }
    connection = http.client.HTTPConnection(address, port, timeout=10)
    try:
        connection.request("POST", "/mcp", body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_only_the_allowed_host_headers_are_served(http_server: str) -> None:
    port = int(http_server.rsplit(":", 1)[1])
    assert status_of(port, f"evil.example:{port}") == 421
    assert status_of(port, f"imaging.example:{port}") == 200
    assert status_of(port, f"127.0.0.1:{port}") == 200  # from this machine, loopback names still work
    # A remote client forwarded by a proxy on this machine may not claim to be local.
    assert status_of(port, f"127.0.0.1:{port}", X_Forwarded_For="203.0.113.9") == 421
    assert status_of(port, f"imaging.example:{port}", X_Forwarded_For="203.0.113.9") == 200


def test_beyond_loopback_is_refused_without_the_opt_out() -> None:
    command = [sys.executable, "-m", "healthimaging_mcp", "--transport", "http", "--host", "0.0.0.0"]
    command += ["--port", str(free_port())]
    finished = subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2
    assert "refusing --host 0.0.0.0" in finished.stderr and "no authentication" in finished.stderr
    assert "--insecure-bind-without-auth" in finished.stderr


@pytest.mark.parametrize(
    ("host", "refused"),
    [
        ("127.0.0.1", False),
        ("localhost", False),
        ("::1", False),
        ("127.0.0.2", False),
        ("0.0.0.0", True),
        ("::", True),
        ("192.168.1.20", True),
        ("imaging.example", True),  # names are not resolved: only literal loopback forms count
    ],
)
def test_http_binds_beyond_loopback_only_with_the_opt_out(host: str, refused: bool) -> None:
    env = {"HEALTHIMAGING_MCP_TRANSPORT": "http", "HEALTHIMAGING_MCP_HOST": host}
    problems = Settings.from_env(env).validate()
    assert bool(problems) is refused, problems
    opted_out = Settings.from_env({**env, "HEALTHIMAGING_MCP_INSECURE_BIND_WITHOUT_AUTH": "true"})
    assert opted_out.validate() == []


def test_loopback_forms() -> None:
    assert all(is_loopback(h) for h in ("localhost", "127.0.0.1", "127.9.9.9", "::1", "[::1]", "::ffff:127.0.0.1"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.0.2.2", "localhost.example", "", None))


def test_dns_rebinding_protection_on_any_loopback_address() -> None:
    """127.0.0.2 is loopback too; the SDK protects only 127.0.0.1/localhost/::1 by itself."""
    port = free_port()
    process = launch(port, "--host", "127.0.0.2", address="127.0.0.2")
    try:
        assert status_of(port, f"127.0.0.2:{port}", address="127.0.0.2") == 200
        assert status_of(port, f"localhost:{port}", address="127.0.0.2", Origin=f"http://localhost:{port}") == 200
        assert status_of(port, f"evil.example:{port}", address="127.0.0.2") == 421
        assert status_of(port, f"127.0.0.2:{port}", address="127.0.0.2", Origin="http://evil.example") == 403
    finally:
        stop(process)


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (the source address of a route), if there is one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if is_loopback(address) else address


@pytest.fixture
def exposed_server(tmp_path: Path, sample_service: LocalService) -> Iterator[tuple[int, Path]]:
    """On 0.0.0.0 through the environment's opt-out, with one allowed Host name."""
    port, log = free_port(), tmp_path / "stderr.txt"
    args = ["--host", "0.0.0.0", "--allowed-host", f"imaging.example:{port}", "--endpoint-url", sample_service.endpoint]
    process = launch(port, *args, stderr=log, HEALTHIMAGING_MCP_INSECURE_BIND_WITHOUT_AUTH="true")
    try:
        yield port, log
    finally:
        stop(process)


def test_the_opt_out_serves_beyond_loopback_with_a_warning(exposed_server: tuple[int, Path]) -> None:
    port, log = exposed_server
    assert "WARNING: serving HTTP on 0.0.0.0" in log.read_text() and "WITHOUT AUTHENTICATION" in log.read_text()
    assert status_of(port, f"imaging.example:{port}") == 200
    assert status_of(port, f"127.0.0.1:{port}") == 200
    assert status_of(port, f"evil.example:{port}") == 421
    assert status_of(port, f"imaging.example:{port}", Origin="http://evil.example") == 403
    remote = {"X_Forwarded_For": "203.0.113.9"}
    assert status_of(port, f"localhost:{port}", **remote) == 421
    assert status_of(port, f"imaging.example:{port}", Origin=f"http://127.0.0.1:{port}", **remote) == 403


def test_a_network_peer_cannot_claim_a_loopback_host(exposed_server: tuple[int, Path]) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to connect from")
    port, _ = exposed_server
    assert status_of(port, f"127.0.0.1:{port}", address=address) == 421
    assert status_of(port, f"[::1]:{port}", address=address) == 421
    assert status_of(port, f"imaging.example:{port}", address=address) == 200
