"""The real thing: `python -m healthimaging_mcp` as a stdio subprocess, spoken to over JSON-RPC."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from healthimaging_mcp.local.service import LocalService
from tests.support.mcp_testkit import READ_TOOLS, error_of, ok, text_of
from tests.support.samples import SampleFacts
from tests.support.server_processes import child_env

pytestmark = pytest.mark.anyio


def server_params(*args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "healthimaging_mcp", *args], env=child_env())


async def test_endpoint_mode_over_stdio_lists_searches_and_reports_errors(
    sample_service: LocalService, sample_facts: SampleFacts
) -> None:
    params = server_params("--endpoint-url", sample_service.endpoint, "--region", "us-east-1")
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        tools = (await session.list_tools()).tools
        search = await session.call_tool("search_image_sets", {"patient_id": "PAT-ALICE-001", "max_results": 50})
        failed = await session.call_tool("get_image_set", {"image_set_id": "0" * 32})
        refused = await session.call_tool("delete_image_set", {"image_set_id": sample_facts.ct_image_set_id})
    assert init.server_info.name == "healthimaging" and init.server_info.version
    assert init.instructions and "read-only" in init.instructions
    assert {t.name for t in tools} == READ_TOOLS
    hits = ok(search)["image_sets"]
    assert sample_facts.ct_image_set_id in {h["image_set_id"] for h in hits}
    assert error_of(failed)["type"] == "not_found"
    assert "Unknown tool" in error_of(refused)["message"]


async def test_local_mode_answers_the_first_search_with_the_samples_and_keeps_its_port_closed(
    tmp_path: Path,
) -> None:
    """A fresh data dir: the first search waits for the seeding instead of answering "no image sets"; the
    embedded service accepts only this server's own signatures (no side door around read-only mode)."""
    params = server_params("--local", str(tmp_path / "local-data"), "--log-level", "INFO")
    log = tmp_path / "stderr.txt"
    started = time.perf_counter()
    with log.open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
            first_answer = time.perf_counter() - started
            with anyio.fail_after(60):
                first = await session.call_tool("search_image_sets", {"max_results": 50})
            endpoint = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log.read_text())
            assert endpoint, log.read_text()[-2000:]
            datastore_id, found = ok(first)["datastore_id"], ok(first)["image_sets"]
            intruder = boto3.client(
                "medical-imaging",
                endpoint_url=endpoint[1],
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
                config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}),
            )
            with pytest.raises(ClientError) as refused:
                intruder.delete_image_set(datastoreId=datastore_id, imageSetId=found[0]["image_set_id"])
            again = await session.call_tool("search_image_sets", {"max_results": 50})
            frame = await session.call_tool(
                "get_image_frame", {"image_set_id": found[0]["image_set_id"], "include_image": False, "max_size": 64}
            )
    print(f"\n--local: first tools/list answer {first_answer:.2f}s after process start")
    assert {t.name for t in tools} == READ_TOOLS
    assert first_answer < 10
    assert len(found) == 19  # the whole sample collection, on the very first call
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert len(ok(again)["image_sets"]) == 19  # nothing was deleted
    assert not frame.is_error, text_of(frame)


def jsonrpc(message_id: int | None, method: str, params: dict[str, Any] | None = None) -> str:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if message_id is not None:
        message["id"] = message_id
    if params is not None:
        message["params"] = params
    return json.dumps(message)


def test_stdout_carries_only_json_rpc(sample_service: LocalService) -> None:
    secret = "stdio-secret-4f9a7c"
    requests = [
        jsonrpc(
            1,
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
        ),
        jsonrpc(None, "notifications/initialized"),
        jsonrpc(2, "tools/list"),
        jsonrpc(3, "tools/call", {"name": "get_image_set", "arguments": {"image_set_id": "not-an-id"}}),
        jsonrpc(4, "tools/call", {"name": "list_datastores", "arguments": {}}),
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "healthimaging_mcp", "--endpoint-url", sample_service.endpoint, "--log-level", "DEBUG"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(AWS_REGION="us-east-1", AWS_SECRET_ACCESS_KEY=secret),
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("\n".join(requests) + "\n")
        process.stdin.flush()
        lines: list[str] = []
        answered: set[int] = set()
        while answered != {1, 2, 3, 4}:  # read until every request is answered, then hang up
            line = process.stdout.readline()
            assert line, "the server closed stdout early"
            lines.append(line)
            answered |= {json.loads(line).get("id")} & {1, 2, 3, 4}
        rest, stderr = process.communicate(timeout=30)  # closes stdin: the server must exit cleanly
    finally:
        watchdog.cancel()
    lines += rest.splitlines()
    messages = [json.loads(line) for line in lines if line.strip()]  # every stdout line is JSON
    assert all(m.get("jsonrpc") == "2.0" for m in messages)
    by_id = {m["id"]: m for m in messages if "id" in m}
    assert len(by_id[2]["result"]["tools"]) == len(READ_TOOLS)
    failed = by_id[3]["result"]
    assert failed["isError"] is True
    assert json.loads(failed["content"][0]["text"])["error"]["type"] == "validation_error"
    assert by_id[4]["result"]["structuredContent"]["datastores"]
    assert process.returncode == 0, stderr[-2000:]
    assert "DEBUG" in stderr and secret not in stderr  # logs go to stderr and never print credentials
