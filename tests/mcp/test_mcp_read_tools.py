"""The read-only tools against the seeded sample datastore, through an MCP client session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.service import LocalService
from tests.support.mcp_testkit import MODES, READ_TOOLS, assert_short_rendering, call, ok, page_through, text_of
from tests.support.samples import SampleFacts

pytestmark = pytest.mark.anyio


PICTURE_TOOLS = {"get_image_frame", "get_series_montage", "measure_image", "view_series"}
"""Read tools answering with a picture and its caption: they publish no output schema (the caption says it all)."""


@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_publishes_an_input_schema_and_data_tools_their_output(
    mode: str, read_server: MCPServer
) -> None:
    async with Client(read_server, mode=mode) as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == READ_TOOLS
    for tool in tools:
        assert tool.description and len(tool.description) < 400, tool.name
        assert tool.input_schema["type"] == "object"
        if tool.name in PICTURE_TOOLS:
            assert tool.output_schema is None, tool.name
        else:
            assert tool.output_schema is not None and tool.output_schema["type"] == "object", tool.name
        assert "pattern" not in str(tool.input_schema), tool.name  # patterns are checked, not published
        hints = tool.annotations
        assert hints is not None, tool.name
        # Only readOnlyHint is sent: the spec ignores the other hints of a read-only tool.
        assert hints.read_only_hint is True, tool.name
        assert hints.destructive_hint is None and hints.open_world_hint is None, tool.name


@pytest.mark.parametrize("mode", MODES)
async def test_list_datastores_shows_the_sample_datastore(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        result = await call(client, "list_datastores")
    data = ok(result)
    (datastore,) = data["datastores"]
    assert datastore["datastore_id"] == sample_facts.datastore_id
    assert datastore["status"] == "ACTIVE"
    assert datastore["created_at"].endswith("Z")
    text = assert_short_rendering(result)
    assert sample_facts.datastore_id in text and "No more results" in text


@pytest.mark.parametrize("mode", MODES)
async def test_get_datastore_uses_the_only_active_datastore_and_says_so(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        implicit = await call(client, "get_datastore")
        explicit = await call(client, "get_datastore", {"datastore_id": sample_facts.datastore_id})
    assert ok(implicit) == ok(explicit)
    assert ok(implicit)["lossless_storage_format"] == "HTJ2K"
    assert ok(implicit)["arn"].endswith(f"datastore/{sample_facts.datastore_id}")
    assert sample_facts.datastore_id in assert_short_rendering(implicit)


@pytest.mark.parametrize("mode", MODES)
async def test_search_by_patient_finds_only_that_patients_image_sets(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    expected = {s["imageSetId"] for s in sample_facts.summaries if s["DICOMTags"]["DICOMPatientId"] == "PAT-BOB-002"}
    async with Client(read_server, mode=mode) as client:
        result = await call(client, "search_image_sets", {"patient_id": "PAT-BOB-002", "max_results": 50})
    data = ok(result)
    assert data["datastore_id"] == sample_facts.datastore_id
    assert {h["image_set_id"] for h in data["image_sets"]} == expected
    assert all(h["patient_id"] == "PAT-BOB-002" for h in data["image_sets"])
    text = assert_short_rendering(result)
    assert text.startswith(f"{len(expected)} image set(s) in datastore {sample_facts.datastore_id}")


@pytest.mark.parametrize("mode", MODES)
async def test_search_pages_through_all_nineteen_image_sets(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        hits, pages = await page_through(client, "search_image_sets", {"max_results": 2}, "image_sets")
    ids = [h["image_set_id"] for h in hits]
    assert len(ids) == len(set(ids)) == 19
    assert set(ids) == sample_facts.image_set_ids
    assert pages == 10


async def test_search_by_study_date_range_and_sort(read_server: MCPServer, sample_facts: SampleFacts) -> None:
    in_2024 = {s["imageSetId"] for s in sample_facts.summaries if s["DICOMTags"]["DICOMStudyDate"].startswith("2024")}
    async with Client(read_server) as client:
        result = await call(
            client,
            "search_image_sets",
            {
                "study_date_from": "2024-01-01",
                "study_date_to": "2024-12-31",
                "sort_by": "study_date",
                "sort_order": "asc",
                "max_results": 50,
            },
        )
        by_study = await call(client, "search_image_sets", {"study_instance_uid": _ct_study_uid(sample_facts)})
    hits = ok(result)["image_sets"]
    assert {h["image_set_id"] for h in hits} == in_2024
    dates = [h["study_date"] for h in hits]
    assert dates == sorted(dates)
    assert sample_facts.ct_image_set_id in {h["image_set_id"] for h in ok(by_study)["image_sets"]}


def _ct_study_uid(sample_facts: SampleFacts) -> str:
    return str(sample_facts.ct_document["Study"]["DICOM"]["StudyInstanceUID"])


@pytest.mark.parametrize("mode", MODES)
async def test_get_image_set_reports_state_and_version(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        result = await call(client, "get_image_set", {"image_set_id": sample_facts.ct_image_set_id})
        versions = await call(client, "list_image_set_versions", {"image_set_id": sample_facts.ct_image_set_id})
    data = ok(result)
    assert data["image_set_id"] == sample_facts.ct_image_set_id
    assert (data["version_id"], data["state"], data["is_primary"]) == ("1", "ACTIVE", True)
    assert data["arn"].endswith(f"imageset/{sample_facts.ct_image_set_id}")
    assert "version 1: ACTIVE" in assert_short_rendering(result)
    history = ok(versions)
    assert [v["version_id"] for v in history["versions"]] == ["1"]
    assert "newest first" in assert_short_rendering(versions)


@pytest.mark.parametrize("mode", MODES)
async def test_tags_and_import_jobs_of_the_sample_datastore(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    arn = f"arn:aws:medical-imaging:us-east-1:123456789012:datastore/{sample_facts.datastore_id}"
    async with Client(read_server, mode=mode) as client:
        datastore = ok(await call(client, "get_datastore"))
        tags = await call(client, "list_tags_for_resource", {"resource_arn": datastore["arn"]})
        jobs = await call(client, "list_dicom_import_jobs")
        malformed = await call(client, "list_tags_for_resource", {"resource_arn": arn.replace("datastore", "bucket")})
    assert ok(tags) == {"resource_arn": datastore["arn"], "tags": {}}
    assert "Tags of" in assert_short_rendering(tags)
    assert ok(jobs)["datastore_id"] == sample_facts.datastore_id
    assert isinstance(ok(jobs)["jobs"], list)
    assert malformed.is_error


async def test_list_datastores_pages_to_the_end_and_filters_by_status(
    fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    boto = fresh_service.client()
    created = {boto.create_datastore(datastoreName=f"ds-{i}")["datastoreId"] for i in range(3)}
    async with Client(server_for(fresh_service)) as client:
        listed, pages = await page_through(client, "list_datastores", {"max_results": 1}, "datastores")
        deleted = await call(client, "list_datastores", {"status": "DELETED"})
    assert {d["datastore_id"] for d in listed} == created
    assert pages == 3
    assert ok(deleted)["datastores"] == []
    assert "0 datastore(s)" in text_of(deleted)
