"""Write tools end to end: datastores, metadata updates and reverts, copies, tags (checked with plain boto3)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.service import LocalService
from tests.support.mcp_stores import WritableStore
from tests.support.mcp_testkit import MODES, assert_short_rendering, call, error_of, ok, page_through, text_of

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", MODES)
async def test_create_datastore_makes_a_usable_datastore(
    mode: str, fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    async with Client(server_for(fresh_service, allow_write=True), mode=mode) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        created = await call(
            client,
            "create_datastore",
            {
                "datastore_name": "research-2024",
                "lossless_storage_format": "JPEG_2000_LOSSLESS",
                "tags": {"team": "radiology"},
            },
        )
        datastore_id = ok(created)["datastore_id"]
        described = await call(client, "get_datastore", {"datastore_id": datastore_id})
        tags = await call(client, "list_tags_for_resource", {"resource_arn": ok(described)["arn"]})
    assert f"Datastore {datastore_id} created" in assert_short_rendering(created)
    # Write tools publish no output schema (read once; it would cost every conversation) yet answer structured.
    assert listed["create_datastore"].output_schema is None and ok(created)["status"]
    props = fresh_service.client().get_datastore(datastoreId=datastore_id)["datastoreProperties"]
    assert props["datastoreName"] == "research-2024"
    assert props["losslessStorageFormat"] == "JPEG_2000_LOSSLESS"
    assert ok(described)["lossless_storage_format"] == "JPEG_2000_LOSSLESS"
    assert ok(tags)["tags"] == {"team": "radiology"}


@pytest.mark.parametrize("mode", MODES)
async def test_update_sets_and_removes_attributes_then_reverts(
    mode: str, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    image_set_id, series_uid = store.image_set_ids[0], store.series_uids[0]
    original = store.metadata(image_set_id)
    assert original["Study"]["DICOM"].get("StudyDescription")
    async with Client(server_for(store.service, allow_write=True), mode=mode) as client:
        updated = await call(
            client,
            "update_image_set_metadata",
            {
                "image_set_id": image_set_id,
                "latest_version_id": "1",
                "set_attributes": {
                    "patient": {"PatientName": "CORRECTED^NAME"},
                    "series": {series_uid: {"SeriesDescription": "FIXED DESCRIPTION"}},
                },
                "remove_attributes": {"study": ["StudyDescription"]},
            },
        )
        reverted = await call(
            client,
            "update_image_set_metadata",
            {"image_set_id": image_set_id, "latest_version_id": "2", "revert_to_version_id": "1"},
        )
        mixed = await call(
            client,
            "update_image_set_metadata",
            {
                "image_set_id": image_set_id,
                "latest_version_id": "3",
                "revert_to_version_id": "1",
                "set_attributes": {"patient": {"PatientName": "X"}},
            },
        )
        versions, _ = await page_through(
            client, "list_image_set_versions", {"image_set_id": image_set_id, "max_results": 1}, "versions"
        )
    assert ok(updated)["done"] is True and ok(updated)["version_id"] == "2"
    assert text_of(updated).startswith("Update done") and "version 2" in text_of(updated)
    second = store.metadata(image_set_id, "2")
    assert second["Patient"]["DICOM"]["PatientName"] == "CORRECTED^NAME"
    assert second["Study"]["Series"][series_uid]["DICOM"]["SeriesDescription"] == "FIXED DESCRIPTION"
    assert "StudyDescription" not in second["Study"]["DICOM"]
    assert ok(reverted)["version_id"] == "3"
    third = store.metadata(image_set_id, "3")
    assert third["Patient"] == original["Patient"] and third["Study"]["DICOM"] == original["Study"]["DICOM"]
    assert error_of(mixed)["type"] == "validation_error"
    assert sorted(v["version_id"] for v in versions) == ["1", "2", "3"]


@pytest.mark.parametrize("mode", MODES)
async def test_remove_an_instance_with_confirmation(
    mode: str, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    image_set_id, removed = store.image_set_ids[0], store.sop_uids[0][0]
    async with Client(server_for(store.service, allow_write=True), mode=mode) as client:
        result = await call(
            client,
            "update_image_set_metadata",
            {
                "image_set_id": image_set_id,
                "latest_version_id": "1",
                "remove_instances": [removed],
                "confirm": image_set_id,
            },
        )
    assert ok(result)["done"] is True
    instances = store.metadata(image_set_id)["Study"]["Series"][store.series_uids[0]]["Instances"]
    assert set(instances) == set(store.sop_uids[0][1:])
    assert set(store.metadata(image_set_id, "1")["Study"]["Series"][store.series_uids[0]]["Instances"]) == set(
        store.sop_uids[0]
    )


@pytest.mark.parametrize("mode", MODES)
async def test_copy_splits_merges_and_promotes(
    mode: str, fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    store = WritableStore.create(fresh_service, seeds=(0, 1))
    (source, other), sop_uids = store.image_set_ids, store.sop_uids[0]
    async with Client(server_for(store.service, allow_write=True), mode=mode) as client:
        split = await call(
            client,
            "copy_image_set",
            {"source_image_set_id": source, "source_version_id": "1", "sop_instance_uids": sop_uids[:1]},
        )
        copy_id = ok(split)["destination_image_set_id"]
        merged = await call(
            client,
            "copy_image_set",
            {
                "source_image_set_id": copy_id,
                "source_version_id": "1",
                "destination_image_set_id": other,
                "destination_version_id": "1",
                "force": True,
            },
        )
        promoted = await call(
            client,
            "copy_image_set",
            {"source_image_set_id": copy_id, "source_version_id": "1", "promote_to_primary": True},
        )
        missing_version = await call(
            client,
            "copy_image_set",
            {"source_image_set_id": source, "source_version_id": "1", "destination_image_set_id": other},
        )
    assert ok(split)["done"] is True and copy_id not in (source, other)
    assert text_of(split).startswith("Copy done")
    copied = store.metadata(copy_id)["Study"]["Series"]
    assert [set(s["Instances"]) for s in copied.values()] == [{sop_uids[0]}]
    assert store.state(copy_id)["isPrimary"] is False
    assert ok(merged)["destination_image_set_id"] == other and ok(merged)["version_id"] == "2"
    merged_instances = {
        uid for series in store.metadata(other)["Study"]["Series"].values() for uid in series["Instances"]
    }
    assert sop_uids[0] in merged_instances
    promoted_id = ok(promoted)["destination_image_set_id"]
    assert ok(promoted)["done"] is True and store.state(promoted_id)["isPrimary"] is True
    assert error_of(missing_version)["type"] == "validation_error"


@pytest.mark.parametrize("mode", MODES)
async def test_tag_list_and_untag_an_image_set(
    mode: str, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    arn = store.state(store.image_set_ids[0])["imageSetArn"]
    async with Client(server_for(store.service, allow_write=True), mode=mode) as client:
        tagged = await call(client, "tag_resource", {"resource_arn": arn, "tags": {"project": "lung", "site": "A"}})
        untagged = await call(client, "untag_resource", {"resource_arn": arn, "tag_keys": ["site"]})
        listed = await call(client, "list_tags_for_resource", {"resource_arn": arn})
        reserved = await call(client, "tag_resource", {"resource_arn": arn, "tags": {"aws:owner": "me"}})
    assert ok(tagged)["tags"] == {"project": "lung", "site": "A"}
    assert "Tagged" in assert_short_rendering(tagged) and "project" in text_of(tagged)
    assert ok(untagged)["tags"] == {"project": "lung"} == ok(listed)["tags"]
    assert store.boto.list_tags_for_resource(resourceArn=arn)["tags"] == {"project": "lung"}
    error = error_of(reserved)
    assert error["type"] == "validation_error" and "aws:" in error["message"]


async def test_hard_throttled_writes_are_paced_instead_of_failing(
    store: WritableStore, server_for: Callable[..., MCPServer], caplog: pytest.LogCaptureFixture
) -> None:
    image_set_id = store.image_set_ids[0]
    server = server_for(store.service, allow_write=True, write_rate_per_second=2)  # AWS: 0.25/s; faster here
    caplog.set_level(logging.INFO, logger="healthimaging_mcp.aws.healthimaging")
    async with Client(server) as client:
        started = time.perf_counter()
        for version, description in (("1", "FIRST"), ("2", "SECOND"), ("3", "THIRD")):
            result = await call(
                client,
                "update_image_set_metadata",
                {
                    "image_set_id": image_set_id,
                    "latest_version_id": version,
                    "set_attributes": {"study": {"StudyDescription": description}},
                },
            )
            assert ok(result)["done"] is True
        elapsed = time.perf_counter() - started
    assert elapsed >= 1.0  # three calls at most 2 per second
    assert any(r.getMessage().startswith("paced update_image_set_metadata") for r in caplog.records)
    assert store.metadata(image_set_id)["Study"]["DICOM"]["StudyDescription"] == "THIRD"
