"""`healthimaging-mcp demo`: a real MCP client session (stdio) against `--local`, printed as a transcript."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, ImageContent, TextContent

from .local.backend import LocalBackend
from .local.config import LocalConfig
from .local.samples.seeding import seed_samples


def _text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def _show(title: str, body: str, limit: int = 30) -> None:
    lines = body.splitlines()
    shown = lines[:limit] + ([f"… ({len(lines) - limit} more lines)"] if len(lines) > limit else [])
    print(f"\n▶ {title}")
    print(textwrap.indent("\n".join(shown), "  "))


async def _session(data_dir: Path) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "healthimaging_mcp", "--local", str(data_dir)],
        env={k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")},
    )
    started = time.perf_counter()
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        tools = (await session.list_tools()).tools
        elapsed = time.perf_counter() - started
        _show(
            f"initialize + tools/list ({elapsed:.1f}s from process start)",
            f"server {init.server_info.name} {init.server_info.version}, protocol {init.protocol_version}\n"
            f"{len(tools)} tools (read-only mode): " + ", ".join(t.name for t in tools),
        )

        async def call(name: str, arguments: dict[str, Any], limit: int = 30) -> CallToolResult:
            result = await session.call_tool(name, arguments)
            label = f"{name} {json.dumps(arguments)}" if arguments else name
            body = _text(result)
            images = [b for b in result.content if isinstance(b, ImageContent)]
            if images:
                body += f"\n[+ {len(images)} image ({images[0].mime_type}, {len(images[0].data) * 3 // 4:,} bytes)]"
            _show(label + ("  → ERROR" if result.is_error else ""), body, limit)
            return result

        await call("list_datastores", {})
        page = await call("search_image_sets", {"patient_id": "PAT-ALICE-001", "max_results": 10})
        hits = (page.structured_content or {}).get("image_sets", [])
        cts = [h for h in hits if h.get("modality") == "CT"] or hits
        ct = max(cts, key=lambda h: h.get("instance_count") or 0) if cts else None
        if ct is not None:
            await call("get_image_set_metadata", {"image_set_id": ct["image_set_id"]})
            await call(
                "get_image_frame",
                {"image_set_id": ct["image_set_id"], "window": "lung", "save_as": "demo-middle-slice-lung.png"},
            )
        first = await call("search_image_sets", {"max_results": 4, "sort_by": "study_date"})
        token = (first.structured_content or {}).get("next_token")
        if token:
            await call("search_image_sets", {"max_results": 4, "sort_by": "study_date", "next_token": token})
        await call("get_image_set", {"image_set_id": "not-an-id"}, limit=5)


def run_demo(data_dir: Path | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="healthimaging-demo-") as scratch:
        folder = data_dir or Path(scratch)
        backend = LocalBackend(LocalConfig(folder))
        try:
            print(f"Local HealthImaging data in {folder}: " + seed_samples(backend).describe())
        finally:
            backend.close()
        anyio.run(_session, folder)
        print(f"\nImages saved by the demo are in {folder / 'exports'}" if data_dir else "")
    return 0
