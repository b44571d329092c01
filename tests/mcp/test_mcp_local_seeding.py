"""`--local` while the sample data is still being imported: calls say how far it is instead of "nothing found"."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest
from mcp import Client

from healthimaging_mcp.run import local_runtime
from healthimaging_mcp.server import build_server
from healthimaging_mcp.settings import Settings
from tests.support.mcp_testkit import error_of, ok

pytestmark = pytest.mark.anyio


async def test_calls_without_waiting_say_the_samples_are_still_loading(tmp_path: Path) -> None:
    settings = Settings(local_data_dir=tmp_path / "data", local_seed_wait_seconds=0)
    messages: list[str] = []
    with local_runtime(settings) as runtime:
        async with Client(build_server(runtime.settings, runtime)) as client:
            with anyio.fail_after(60):
                while True:
                    result = await client.call_tool("search_image_sets", {"max_results": 50})
                    if not result.is_error:
                        break
                    error = error_of(result)
                    assert error["type"] == "service_error" and error["next_step"] == "Call again in a few seconds."
                    messages.append(error["message"])
                    await anyio.sleep(0.02)
    assert messages, "the first call came while the samples were loading: it must not answer at once"
    assert all("sample data is still loading" in m for m in messages)
    progress = [int(m[1]) for m in (re.search(r"\((\d+) of 19 image sets imported\)", m) for m in messages) if m]
    assert progress and progress == sorted(progress)  # how far it is, counting up
    assert len(ok(result)["image_sets"]) == 19
