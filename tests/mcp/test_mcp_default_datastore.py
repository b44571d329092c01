"""datastore_id may be omitted: the configured default, else the only ACTIVE datastore; never a guess."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.service import LocalService
from tests.support.mcp_stores import WritableStore
from tests.support.mcp_testkit import MODES, call, error_of, ok, text_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", MODES)
async def test_the_only_active_datastore_is_used_and_named(
    mode: str, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    async with Client(server_for(store.service), mode=mode) as client:
        result = await call(client, "search_image_sets")
    assert ok(result)["datastore_id"] == store.datastore_id
    assert f"in datastore {store.datastore_id}" in text_of(result)
    assert [h["image_set_id"] for h in ok(result)["image_sets"]] == store.image_set_ids


@pytest.mark.parametrize("mode", MODES)
async def test_two_active_datastores_must_be_chosen_between(
    mode: str, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    other = store.boto.create_datastore(datastoreName="second")["datastoreId"]
    async with Client(server_for(store.service), mode=mode) as client:
        ambiguous = await call(client, "search_image_sets")
        explicit = await call(client, "search_image_sets", {"datastore_id": other})
    error = error_of(ambiguous)
    assert error["type"] == "validation_error"
    assert store.datastore_id in error["message"] and other in error["message"]
    assert "second" in error["message"] and "datastore_id" in error["next_step"]
    assert ok(explicit) == {"datastore_id": other, "image_sets": []}


async def test_the_configured_default_wins(store: WritableStore, server_for: Callable[..., MCPServer]) -> None:
    other = store.boto.create_datastore(datastoreName="second")["datastoreId"]
    server = server_for(store.service, datastore_id=store.datastore_id)
    async with Client(server) as client:
        result = await call(client, "search_image_sets")
        jobs = await call(client, "list_dicom_import_jobs")
        datastore = await call(client, "get_datastore")
    assert ok(result)["datastore_id"] == store.datastore_id and ok(result)["image_sets"]
    assert ok(jobs)["datastore_id"] == store.datastore_id
    assert ok(datastore)["datastore_id"] == store.datastore_id != other


async def test_no_active_datastore_says_how_to_get_one(
    fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    async with Client(server_for(fresh_service)) as client:
        error = error_of(await call(client, "search_image_sets"))
    assert error["type"] == "not_found"
    assert "create_datastore" in error["next_step"]
