"""Malformed JSON-RPC gets the error the JSON-RPC 2.0 spec prescribes, over stdio and streamable HTTP, never silence."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.server_processes import child_env, free_port

# Nothing listens here: these tests never get as far as HealthImaging.
OFFLINE = "http://127.0.0.1:9"
SERVER = [sys.executable, "-m", "healthimaging_mcp", "--endpoint-url", OFFLINE, "--region", "us-east-1"]
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}

# (message as sent, JSON-RPC error code, id of the answer)
MALFORMED: list[tuple[str, int, Any]] = [
    ("this is not json", -32700, None),
    ('{"jsonrpc": "2.0", "id": 10, "method": "tools/list"', -32700, None),
    ('[{"jsonrpc": "2.0", "id": 11, "method": "tools/list"}]', -32600, None),
    ("[]", -32600, None),
    ('"tools/list"', -32600, None),
    ('{"jsonrpc": "2.0", "id": 12, "method": "tools/list", "params": [1, 2]}', -32600, 12),
    ('{"id": 13, "method": "tools/list"}', -32600, 13),
    ('{"jsonrpc": "1.0", "id": "fourteen", "method": "tools/list"}', -32600, "fourteen"),
    ('{"jsonrpc": "2.0", "id": {"n": 15}, "method": "tools/list"}', -32600, None),
    ('{"jsonrpc": "2.0", "id": null, "method": "ping"}', -32600, None),
    ('{"jsonrpc": "2.0", "id": 16.5, "method": "ping"}', -32600, None),
    ('{"jsonrpc": "2.0", "id": true, "method": "ping"}', -32600, None),
    ('{"jsonrpc": "2.0", "id": 17, "method": 5}', -32600, 17),
    ('{"jsonrpc": "2.0", "id": 18}', -32600, 18),
]


def test_malformed_lines_over_stdio_are_answered_and_the_server_keeps_serving() -> None:
    nan_call = (
        '{"jsonrpc": "2.0", "id": 90, "method": "tools/call", "params": {"name": "get_image_frame", "arguments": '
        '{"image_set_id": "' + "0" * 32 + '", "window_center": NaN, "window_width": 400}}}'
    )
    lines = [json.dumps(INITIALIZE), json.dumps(INITIALIZED), *(sent for sent, _, _ in MALFORMED), nan_call]
    lines.append(json.dumps({"jsonrpc": "2.0", "id": 99, "method": "ping"}))
    process = subprocess.Popen(
        SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env()
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("\n".join(lines) + "\n")
        process.stdin.flush()
        answers: list[dict[str, Any]] = []
        while not {90, 99} <= {a.get("id") for a in answers}:
            line = process.stdout.readline()
            assert line, "the server closed stdout early"
            answers.append(json.loads(line))
        process.communicate(timeout=30)
    finally:
        watchdog.cancel()
    assert process.returncode == 0
    errors = [a for a in answers if "error" in a]
    assert [(e["error"]["code"], e["id"]) for e in errors] == [(code, ids) for _, code, ids in MALFORMED]
    assert all(e["jsonrpc"] == "2.0" and e["error"]["message"] for e in errors)
    (nan_answer,) = [a for a in answers if a.get("id") == 90]
    error = json.loads(nan_answer["result"]["content"][0]["text"])["error"]
    assert error["type"] == "validation_error" and "window_center:" in error["message"]


@pytest.fixture
def http_port() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [*SERVER, "--transport", "http", "--port", str(port)],
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
        raise AssertionError("no HTTP listener")
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def post(port: int, body: str, headers: dict[str, str] | None = None) -> tuple[int, str, str | None]:
    """(status, body, session id) of a POST to /mcp."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "POST",
            "/mcp",
            body=body,
            headers={"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
            | (headers or {}),
        )
        response = connection.getresponse()
        return response.status, response.read().decode(), response.getheader("mcp-session-id")
    finally:
        connection.close()


@pytest.mark.parametrize("protocol", ["2025-06-18", "2026-07-28"])
def test_malformed_posts_over_http_are_answered_with_the_json_rpc_error(http_port: int, protocol: str) -> None:
    headers = {"mcp-protocol-version": protocol}
    if protocol == "2025-06-18":  # a handshake-era session, as the Inspector and older clients hold
        status, _, session = post(http_port, json.dumps(INITIALIZE))
        assert status == 200 and session
        headers["mcp-session-id"] = session
        post(http_port, json.dumps(INITIALIZED), headers)
    for sent, code, answer_id in MALFORMED:
        status, body, _ = post(http_port, sent, headers)
        answer = json.loads(body)
        assert (status, answer["error"]["code"], answer["id"]) == (400, code, answer_id), (sent, body)
    if protocol == "2025-06-18":
        status, body, _ = post(http_port, json.dumps({"jsonrpc": "2.0", "id": 99, "method": "ping"}), headers)
        assert status == 200 and '"id":99' in body
