"""What tools/list costs the model's context: read-only under 15,000 characters, with writes under 26,000; the
tools that see like a radiologist and the whole-patient tools within their shares; an MCP Apps host's model sees
the same list (the viewer's app-only tools are the host's). Patterns, and the output schemas of write tools and
picture answers, are not published (tools/schemas.py, tools/registry.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.apps.visibility import app_only
from healthimaging_mcp.local.service import LocalService

pytestmark = pytest.mark.anyio


async def tools_list_size(server: MCPServer, *, apps_host: bool = False) -> tuple[int, dict[str, int]]:
    """Characters of the tools/list array (for an MCP Apps host: of the tools its model sees) and per tool."""
    extensions = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})] if apps_host else []
    async with Client(server, mode="legacy", extensions=extensions) as client:
        tools = (await client.list_tools()).tools
    dumped = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools if not app_only(t)]
    return len(json.dumps(dumped)), {t["name"]: len(json.dumps(t)) for t in dumped}


@pytest.mark.parametrize(("allow_write", "limit"), [(False, 15_000), (True, 26_000)])
async def test_tools_list_fits_the_context_budget(
    allow_write: bool, limit: int, sample_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    size, per_tool = await tools_list_size(server_for(sample_service, allow_write=allow_write))
    mode = "with writes" if allow_write else "read-only"
    biggest = ", ".join(f"{name} {chars}" for name, chars in sorted(per_tool.items(), key=lambda i: -i[1])[:4])
    print(f"\ntools/list {mode}: {size:,} characters for {len(per_tool)} tools (largest: {biggest})")
    assert size < limit


async def test_an_apps_hosts_model_sees_the_same_list(
    sample_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    server = server_for(sample_service)
    plain, _ = await tools_list_size(server)
    hosted, per_tool = await tools_list_size(server, apps_host=True)
    async with Client(server, extensions=[advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]) as client:
        everything = [
            t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in (await client.list_tools()).tools
        ]
    print(
        f"\nApps host: {hosted:,} characters its model sees, {len(json.dumps(everything)):,} listed with app-only tools"
    )
    assert hosted == plain < 15_000
    assert "view_series" in per_tool and not any(name.startswith("viewer_") for name in per_tool)


READ_ONLY_BEFORE_PLANES = 11_889  # read-only tools/list before planes, measurements and comparisons came
PLANES_SHARE = 1_700  # what they may add (other read-only tools share the rest of the 15,000)
TOOLS_WITH_PLANES = {
    "list_datastores",
    "get_datastore",
    "search_image_sets",
    "get_image_set",
    "list_image_set_versions",
    "get_image_set_metadata",
    "get_image_frame",
    "get_series_montage",
    "measure_image",
    "get_dicom_import_job",
    "list_dicom_import_jobs",
    "list_tags_for_resource",
}


async def test_planes_and_measurements_stay_within_their_share_of_the_budget(
    sample_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    _, per_tool = await tools_list_size(server_for(sample_service))
    # The tools/list array of just these tools: each tool's JSON plus ", " between them and the brackets.
    size = sum(per_tool[name] for name in TOOLS_WITH_PLANES) + 2 * len(TOOLS_WITH_PLANES)
    print(f"\nread-only tools/list without tools added later: {size:,} characters")
    assert size <= READ_ONLY_BEFORE_PLANES + PLANES_SHARE


WHOLE_PATIENT_READ_TOOLS = ("get_overview", "export_dicom")
"""The read-only tools of whole-patient work (issue 10): together they may add at most 1,500 characters."""


async def test_whole_patient_tools_stay_within_their_share(
    sample_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    _, per_tool = await tools_list_size(server_for(sample_service))
    share = sum(per_tool[name] for name in WHOLE_PATIENT_READ_TOOLS)
    print(f"\nwhole-patient read-only tools: {share:,} characters")
    assert share <= 1_500
