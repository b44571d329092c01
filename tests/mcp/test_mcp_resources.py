"""MCP resources: the datastores, one datastore, and image set summaries through a URI template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import ReadResourceResult, TextResourceContents

from tests.support.local_kit import UNKNOWN_ID
from tests.support.mcp_testkit import MODES
from tests.support.samples import SampleFacts

pytestmark = pytest.mark.anyio


def json_of(result: ReadResourceResult) -> Any:
    (content,) = result.contents
    assert isinstance(content, TextResourceContents) and content.mime_type == "application/json"
    return json.loads(content.text)


@pytest.mark.parametrize("mode", MODES)
async def test_resources_and_templates_are_listed_and_readable(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    datastore_id, ct = sample_facts.datastore_id, sample_facts.ct_image_set_id
    async with Client(read_server, mode=mode) as client:
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
        datastores = json_of(await client.read_resource("healthimaging://datastores"))
        one = json_of(await client.read_resource(f"healthimaging://datastores/{datastore_id}"))
        summary = json_of(await client.read_resource(f"healthimaging://datastores/{datastore_id}/image-sets/{ct}"))
    assert [str(r.uri) for r in resources] == ["healthimaging://datastores"]
    assert {t.uri_template for t in templates} == {
        "healthimaging://datastores/{datastore_id}",
        "healthimaging://datastores/{datastore_id}/image-sets/{image_set_id}",
    }
    assert all(t.description and t.mime_type == "application/json" for t in templates)
    assert [d["datastore_id"] for d in datastores] == [datastore_id]
    assert one["datastore_id"] == datastore_id and one["status"] == "ACTIVE"
    assert summary["instance_count"] == 128
    assert summary["series"][0]["series_instance_uid"] == sample_facts.ct_series_uid


@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_image_set_resource_is_an_error_not_a_crash(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource(
                f"healthimaging://datastores/{sample_facts.datastore_id}/image-sets/{UNKNOWN_ID}"
            )
        assert "does not exist" in str(raised.value) and "Traceback" not in str(raised.value)
        listed = json_of(await client.read_resource("healthimaging://datastores"))
    assert listed
