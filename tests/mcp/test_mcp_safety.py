"""Read-only by default; with writes enabled, destructive calls need the human's confirmation."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.service import LocalService
from tests.support.local_kit import UNKNOWN_ID
from tests.support.mcp_stores import WritableStore
from tests.support.mcp_testkit import (
    ELICIT_ACTIONS,
    MODES,
    READ_TOOLS,
    WRITE_TOOLS,
    Asker,
    ElicitAction,
    call,
    error_of,
    ok,
    text_of,
)
from tests.support.samples import SampleFacts

pytestmark = pytest.mark.anyio

DESTRUCTIVE_TOOLS = {"delete_datastore", "delete_image_set", "update_image_set_metadata", "change_image_sets"}
# What a person needs to judge a destruction of the 3-slice synthetic CT (WritableStore): who, which study, what.
CT_PATIENT = "patient DEMO^ALICE (PAT-ALICE-001)"
CT_STUDY = "study 'CT CHEST W CONTRAST' 2024-03-12"
CT_SERIES = "#2 CT 'AXIAL 2.5MM'"


def image_set_exists(store: WritableStore, image_set_id: str) -> bool:
    summaries = store.boto.search_image_sets(datastoreId=store.datastore_id)["imageSetsMetadataSummaries"]
    return image_set_id in {s["imageSetId"] for s in summaries}


@pytest.mark.parametrize("mode", MODES)
async def test_write_tools_are_absent_and_refused_by_default(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        refused = await call(client, "delete_image_set", {"image_set_id": sample_facts.ct_image_set_id})
        created = await call(client, "create_datastore", {"datastore_name": "nope"})
    assert names == READ_TOOLS and not names & WRITE_TOOLS
    for result in (refused, created):
        error = error_of(result)
        assert error["type"] == "validation_error"
        assert "Unknown tool" in error["message"] and "--allow-write" in error["next_step"]


@pytest.mark.parametrize("mode", MODES)
async def test_write_mode_offers_every_tool_with_honest_annotations(
    mode: str, sample_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    async with Client(server_for(sample_service, allow_write=True), mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == READ_TOOLS | WRITE_TOOLS
    for name, tool in tools.items():
        hints = tool.annotations
        assert hints is not None, name
        if name in READ_TOOLS:  # the spec ignores the other hints of read-only tools; openWorldHint defaults true
            assert hints.read_only_hint is True, name
            assert hints.destructive_hint in (None, False) and hints.open_world_hint in (None, True)
        else:  # write tools spell every hint out
            assert hints.read_only_hint is False, name
            assert hints.destructive_hint is (name in DESTRUCTIVE_TOOLS), name
            assert hints.open_world_hint is True and hints.idempotent_hint is not None
    hint = {name: tool.annotations.idempotent_hint for name, tool in tools.items() if tool.annotations}
    assert (hint["update_image_set_metadata"], hint["copy_image_set"], hint["tag_resource"]) == (False, False, True)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", ELICIT_ACTIONS)
async def test_delete_image_set_asks_the_user(
    mode: str, action: ElicitAction, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    image_set_id = store.image_set_ids[0]
    asker = Asker(action)
    server = server_for(store.service, allow_write=True)
    async with Client(server, mode=mode, elicitation_callback=asker) as client:
        # A `confirm` argument never replaces asking a user who can be asked.
        result = await call(client, "delete_image_set", {"image_set_id": image_set_id, "confirm": image_set_id})
    data = ok(result)
    assert asker.questions == [
        f"Permanently delete image set {image_set_id} (version 1, all versions): "
        f"{CT_PATIENT}, {CT_STUDY}, CT, 1 series, 3 instances?"
    ]
    assert data["done"] is (action == "accept")
    assert image_set_exists(store, image_set_id) is (action != "accept")
    if action == "accept":
        assert text_of(result) == f"Image set {image_set_id} deleted."
    else:
        assert text_of(result).startswith("Nothing was changed") and action in text_of(result)


@pytest.mark.parametrize("mode", MODES)
async def test_without_elicitation_the_confirm_argument_must_name_the_image_set(
    mode: str, fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    store = WritableStore.create(fresh_service, seeds=(0, 1))
    first, second = store.image_set_ids
    async with Client(server_for(store.service, allow_write=True), mode=mode) as client:
        missing = await call(client, "delete_image_set", {"image_set_id": first})
        other = await call(client, "delete_image_set", {"image_set_id": first, "confirm": second})
        assert image_set_exists(store, first) and image_set_exists(store, second)
        confirmed = await call(client, "delete_image_set", {"image_set_id": first, "confirm": first})
    assert ok(missing)["done"] is False
    assert "Nothing was changed" in text_of(missing) and f"confirm='{first}'" in text_of(missing)
    assert f"delete image set {first} (version 1, all versions): {CT_PATIENT}, {CT_STUDY}" in text_of(missing)
    assert ok(other)["done"] is False and "Nothing was changed" in text_of(other)
    assert ok(confirmed)["done"] is True
    assert not image_set_exists(store, first) and image_set_exists(store, second)


@pytest.mark.parametrize("mode", MODES)
async def test_delete_datastore_needs_confirmation(
    mode: str, fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    datastore_id = fresh_service.client().create_datastore(datastoreName="empty")["datastoreId"]
    declined, accepted = Asker("decline"), Asker("accept")
    server = server_for(fresh_service, allow_write=True)
    async with Client(server, mode=mode, elicitation_callback=declined) as client:
        kept = await call(client, "delete_datastore", {"datastore_id": datastore_id})
    status = fresh_service.client().get_datastore(datastoreId=datastore_id)["datastoreProperties"]["datastoreStatus"]
    assert ok(kept)["done"] is False and status == "ACTIVE"
    async with Client(server, mode=mode) as client:
        missing = await call(client, "delete_datastore", {"datastore_id": datastore_id})
    assert ok(missing)["done"] is False and f"confirm='{datastore_id}'" in text_of(missing)
    assert f"delete datastore {datastore_id} 'empty' (ACTIVE, created " in text_of(missing)
    assert "it holds no image sets" in text_of(missing)
    async with Client(server, mode=mode, elicitation_callback=accepted) as client:
        gone = await call(client, "delete_datastore", {"datastore_id": datastore_id})
    assert ok(gone)["done"] is True and "being deleted" in text_of(gone)
    assert len(declined.questions) == len(accepted.questions) == 1
    assert declined.questions[0].endswith("it holds no image sets?") and "'empty'" in declined.questions[0]
    listed = fresh_service.client().list_datastores(datastoreStatus="ACTIVE")["datastoreSummaries"]
    assert datastore_id not in {d["datastoreId"] for d in listed}


@pytest.mark.parametrize("mode", MODES)
async def test_updates_ask_only_when_they_remove_series_or_instances(
    mode: str, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    image_set_id, sop_uids = store.image_set_ids[0], store.sop_uids[0]
    asker = Asker("decline")
    server = server_for(store.service, allow_write=True)
    async with Client(server, mode=mode, elicitation_callback=asker) as client:
        renamed = await call(
            client,
            "update_image_set_metadata",
            {
                "image_set_id": image_set_id,
                "latest_version_id": "1",
                "set_attributes": {"study": {"StudyDescription": "RENAMED"}},
            },
        )
        assert asker.questions == []
        removal = await call(
            client,
            "update_image_set_metadata",
            {"image_set_id": image_set_id, "latest_version_id": "2", "remove_instances": [sop_uids[0]]},
        )
        whole_series = await call(
            client,
            "update_image_set_metadata",
            {"image_set_id": image_set_id, "latest_version_id": "2", "remove_series": [store.series_uids[0]]},
        )
    assert ok(renamed)["done"] is True and ok(renamed)["version_id"] == "2"
    facts = f"(earlier versions keep them): {CT_PATIENT}, study 'RENAMED' 2024-03-12, CT, 1 series, 3 instances?"
    assert asker.questions == [
        f"Remove 1 instance of series {CT_SERIES} from image set {image_set_id} at version 2 {facts}",
        f"Remove 1 series ({CT_SERIES}, 3 instances) from image set {image_set_id} at version 2 {facts}",
    ]
    assert ok(removal)["done"] is False and "Nothing was changed" in text_of(removal)
    assert ok(whole_series)["done"] is False
    state = store.state(image_set_id)
    assert state["versionId"] == "2"
    instances = store.metadata(image_set_id)["Study"]["Series"][store.series_uids[0]]["Instances"]
    assert set(instances) == set(sop_uids)


@pytest.mark.parametrize("mode", MODES)
async def test_deleting_a_datastore_that_holds_image_sets_says_so(
    mode: str, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    asker = Asker("decline")
    async with Client(server_for(store.service, allow_write=True), mode=mode, elicitation_callback=asker) as client:
        kept = await call(client, "delete_datastore", {"datastore_id": store.datastore_id})
    (question,) = asker.questions
    assert question.startswith(f"Permanently delete datastore {store.datastore_id} 'mcp-writes' (ACTIVE, created ")
    assert "it still holds 1 image set (HealthImaging refuses to delete a datastore that is not empty)?" in question
    assert ok(kept)["done"] is False and image_set_exists(store, store.image_set_ids[0])


@pytest.mark.parametrize("mode", MODES)
async def test_study_wide_removal_asks_and_says_which_image_sets_change(
    mode: str, fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    store = WritableStore.create(fresh_service, seeds=(0, 1))  # two series (image sets) of one study
    target, partner = store.image_set_ids
    server = server_for(store.service, allow_write=True)
    removal = {
        "image_set_id": target,
        "latest_version_id": "1",
        "remove_attributes": {"study": ["StudyDescription"]},
        "include_study_image_sets": True,
    }
    declined, accepted = Asker("decline"), Asker("accept")
    async with Client(server, mode=mode, elicitation_callback=declined) as client:
        refused = await call(client, "update_image_set_metadata", removal)
        # Study-wide changes that remove nothing still run without asking.
        renamed = await call(
            client,
            "update_image_set_metadata",
            {**removal, "remove_attributes": None, "set_attributes": {"study": {"StudyDescription": "CT CHEST"}}},
        )
    (question,) = declined.questions
    assert question == (
        f"Remove attributes StudyDescription from image set {target} at version 1, and the patient/study attributes "
        f"from the study's 1 other image set ({partner} (version 1, CT, 1 series, 3 instances)) "
        f"(earlier versions keep them): {CT_PATIENT}, {CT_STUDY}, CT, 1 series, 3 instances?"
    )
    assert ok(refused)["done"] is False and "Nothing was changed" in text_of(refused)
    assert ok(renamed)["done"] is True
    for image_set_id in (target, partner):  # the declined removal changed nothing; the rename reached both
        assert store.state(image_set_id)["versionId"] == "2"
        assert store.metadata(image_set_id)["Study"]["DICOM"]["StudyDescription"] == "CT CHEST"

    async with Client(server, mode=mode) as client:  # no elicitation: the refusal says what would go
        missing = await call(client, "update_image_set_metadata", {**removal, "latest_version_id": "2"})
    assert "Nothing was changed" in text_of(missing) and f"confirm='{target}'" in text_of(missing)
    assert f"Remove attributes StudyDescription from image set {target} at version 2" in text_of(missing)
    assert partner in text_of(missing) and "study 'CT CHEST' 2024-03-12" in text_of(missing)

    async with Client(server, mode=mode, elicitation_callback=accepted) as client:
        removed = await call(client, "update_image_set_metadata", {**removal, "latest_version_id": "2"})
    assert ok(removed)["done"] is True and len(accepted.questions) == 1
    for image_set_id in (target, partner):
        assert store.state(image_set_id)["versionId"] == "3"
        assert "StudyDescription" not in store.metadata(image_set_id)["Study"]["DICOM"]


@pytest.mark.parametrize("mode", MODES)
async def test_confirmations_name_the_patient_by_pseudonym_under_redaction(
    mode: str, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    image_set_id = store.image_set_ids[0]
    server = server_for(store.service, allow_write=True, redact_phi=True)
    asker = Asker("decline")
    async with Client(server, mode=mode, elicitation_callback=asker) as client:
        deletion = await call(client, "delete_image_set", {"image_set_id": image_set_id})
        removal = await call(
            client,
            "update_image_set_metadata",
            {"image_set_id": image_set_id, "latest_version_id": "1", "remove_instances": [store.sop_uids[0][0]]},
        )
        summary = await call(client, "get_image_set_metadata", {"image_set_id": image_set_id})
    async with Client(server, mode=mode) as client:
        missing = await call(client, "delete_image_set", {"image_set_id": image_set_id})
    patient = ok(summary)["summary"]["patient"]
    pseudonyms = f"patient {patient['name']} ({patient['id']}), {CT_STUDY}, CT, 1 series, 3 instances"
    assert re.fullmatch(r"NAME-[0-9A-F]{8,}", patient["name"]) and re.fullmatch(r"PATIENT-[0-9A-F]{8,}", patient["id"])
    assert len(asker.questions) == 2 and all(question.endswith(f"{pseudonyms}?") for question in asker.questions)
    assert pseudonyms in text_of(missing)
    for text in (*asker.questions, text_of(deletion), text_of(removal), text_of(missing)):
        assert "ALICE" not in text and "PAT-ALICE-001" not in text
    assert image_set_exists(store, image_set_id) and store.state(image_set_id)["versionId"] == "1"


@pytest.mark.parametrize("mode", MODES)
async def test_destroying_what_does_not_exist_is_not_found_without_asking(
    mode: str, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    asker = Asker("accept")
    async with Client(server_for(store.service, allow_write=True), mode=mode, elicitation_callback=asker) as client:
        image_set = await call(client, "delete_image_set", {"image_set_id": UNKNOWN_ID})
        datastore = await call(client, "delete_datastore", {"datastore_id": UNKNOWN_ID})
        series = await call(
            client,
            "update_image_set_metadata",
            {"image_set_id": store.image_set_ids[0], "latest_version_id": "1", "remove_series": ["1.2.3"]},
        )
    assert asker.questions == []
    assert (error_of(image_set)["type"], error_of(image_set)["tool"]) == ("not_found", "delete_image_set")
    assert error_of(datastore)["type"] == "not_found"
    assert error_of(series)["type"] == "validation_error" and "1.2.3" in error_of(series)["message"]
