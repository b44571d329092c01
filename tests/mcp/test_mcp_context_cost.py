"""What tools/list costs the model's context: read-only under 12,000 characters, with writes under 25,000."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.service import LocalService

pytestmark = pytest.mark.anyio


async def tools_list_size(server: MCPServer) -> tuple[int, dict[str, int]]:
    async with Client(server, mode="legacy") as client:
        tools = (await client.list_tools()).tools
    dumped = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]
    return len(json.dumps(dumped)), {t["name"]: len(json.dumps(t)) for t in dumped}


@pytest.mark.parametrize(("allow_write", "limit"), [(False, 12_000), (True, 25_000)])
async def test_tools_list_fits_the_context_budget(
    allow_write: bool, limit: int, sample_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    size, per_tool = await tools_list_size(server_for(sample_service, allow_write=allow_write))
    mode = "with writes" if allow_write else "read-only"
    biggest = ", ".join(f"{name} {chars}" for name, chars in sorted(per_tool.items(), key=lambda i: -i[1])[:4])
    print(f"\ntools/list {mode}: {size:,} characters for {len(per_tool)} tools (largest: {biggest})")
    assert size < limit
