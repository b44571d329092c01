"""Write tools wait for HealthImaging's asynchronous writes to finish (LOCKED → ACTIVE or DELETED) and say how
they ended."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.service import LocalService
from tests.support.mcp_stores import WritableStore
from tests.support.mcp_testkit import MODES, call, ok, text_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", MODES)
async def test_update_copy_and_delete_report_the_final_state(
    mode: str, slow_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    store = WritableStore.create(slow_service)
    image_set_id = store.image_set_ids[0]
    async with Client(server_for(slow_service, allow_write=True), mode=mode) as client:
        started = time.monotonic()
        updated = await call(
            client,
            "update_image_set_metadata",
            {
                "image_set_id": image_set_id,
                "latest_version_id": "1",
                "set_attributes": {"study": {"StudyDescription": "S9"}},
            },
        )
        update_seconds = time.monotonic() - started
        copied = await call(client, "copy_image_set", {"source_image_set_id": image_set_id, "source_version_id": "2"})
        copy_id = ok(copied)["destination_image_set_id"]
        deleted = await call(client, "delete_image_set", {"image_set_id": copy_id, "confirm": copy_id})
    assert update_seconds >= slow_service.backend.config.write_seconds > 0
    assert (ok(updated)["done"], ok(updated)["state"], ok(updated)["workflow_status"]) == (True, "ACTIVE", "UPDATED")
    assert "is now version 2 (UPDATED)" in text_of(updated)
    assert (ok(copied)["done"], ok(copied)["workflow_status"]) == (True, "COPIED")
    assert (ok(deleted)["done"], ok(deleted)["state"]) == (True, "DELETED")
    assert store.state(image_set_id)["imageSetState"] == "ACTIVE"  # the copy's source is writable again
