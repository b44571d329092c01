"""An apply interrupted by killing the server process resumes, in a new process, from the plan handle alone:
it finishes every image set once, neither repeating a write nor skipping one."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from healthimaging_mcp.local.service import LocalService
from tests.support.mcp_stores import PATIENT, PatientArchive
from tests.support.mcp_testkit import ok, text_of
from tests.support.server_processes import child_env

pytestmark = pytest.mark.anyio

# Runs the server after writing its process ID to the file named by the first argument.
SERVER = (
    "import os, sys\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "from healthimaging_mcp.cli import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def server(service: LocalService, pid_file: Path) -> StdioServerParameters:
    env = child_env(HEALTHIMAGING_MCP_STATE_KEY="resume-key-" + "0" * 32, HEALTHIMAGING_MCP_WRITE_RATE="4")
    arguments = ["--endpoint-url", service.endpoint, "--region", "us-east-1", "--allow-write"]
    return StdioServerParameters(command=sys.executable, args=["-c", SERVER, str(pid_file), *arguments], env=env)


async def test_an_apply_killed_midway_resumes_without_repeating_or_skipping(
    slow_service: LocalService, tmp_path: Path
) -> None:
    archive = PatientArchive(slow_service)
    pid_file = tmp_path / "server.pid"
    first_progress: list[float] = []
    killed = anyio.Event()

    async def kill_after_two(progress: float, total: float | None, message: str | None) -> None:
        first_progress.append(progress)
        if progress >= 2 and not killed.is_set():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the server process this test started
            killed.set()

    planned: dict[str, Any] = {}
    with anyio.move_on_after(60):
        try:
            async with stdio_client(server(slow_service, pid_file)) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                planned = ok(
                    await s.call_tool(
                        "change_image_sets", {"patient_id": PATIENT, "set_attributes": {"PatientName": "RESUMED^NAME"}}
                    )
                )
                arguments = {"plan": planned["plan"], "confirm": planned["plan_id"]}

                async def run_plan() -> None:
                    await s.call_tool("change_image_sets", arguments, progress_callback=kill_after_two)

                async with anyio.create_task_group() as group:
                    group.start_soon(run_plan)
                    await killed.wait()
                    group.cancel_scope.cancel()
        except Exception:  # the connection dies with the server
            pass
    assert killed.is_set() and planned
    interrupted = archive.versions()
    done_before = sum(1 for version in interrupted.values() if version == "2")
    assert 2 <= done_before < 6 and set(interrupted.values()) <= {"1", "2"}

    resumed_progress: list[float] = []

    async def record(progress: float, total: float | None, message: str | None) -> None:
        resumed_progress.append(progress)

    second = server(slow_service, tmp_path / "second.pid")
    async with stdio_client(second) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        asked = await session.call_tool("change_image_sets", {"plan": planned["plan"]})
        resumed = await session.call_tool(
            "change_image_sets", {"plan": planned["plan"], "confirm": planned["plan_id"]}, progress_callback=record
        )
    assert f"({done_before} of 6 already done)" in text_of(asked)
    assert ok(resumed)["state"] == "complete" and ok(resumed)["counts"] == {"done": 6}
    versions = archive.versions()
    assert set(versions.values()) == {"2"}  # each image set written exactly once: none skipped, none at version 3
    assert {archive.patient_name(image_set_id) for image_set_id in versions} == {"RESUMED^NAME"}
    assert resumed_progress == list(range(done_before + 1, 7))  # only what was left
