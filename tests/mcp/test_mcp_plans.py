"""Bulk changes as plans through MCP: plan (nothing changes) → one confirmation → paced apply → report → undo.

The service's writes take time here (slow_service: LOCKED for a moment, as HealthImaging's do), so applying
waits for the real intermediate states."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.service import LocalService
from tests.support.local_kit import read_metadata
from tests.support.mcp_stores import PATIENT, PatientArchive, WritableStore
from tests.support.mcp_testkit import ELICIT_ACTIONS, MODES, Asker, ElicitAction, call, error_of, ok, text_of

pytestmark = pytest.mark.anyio

KEY = "p1" * 32  # a replica secret is at least 32 bytes


@pytest.fixture
def archive(slow_service: LocalService) -> PatientArchive:
    return PatientArchive(slow_service)


@pytest.fixture
def writer(server_for: Callable[..., MCPServer], archive: PatientArchive) -> Callable[..., MCPServer]:
    """A write-mode server on the archive (quota raised so tests run quickly), with a plan key."""

    def build(**overrides: Any) -> MCPServer:
        settings: dict[str, Any] = {"allow_write": True, "write_rate_per_second": 20, "state_key": KEY, **overrides}
        return server_for(archive.service, **settings)

    return build


RENAME = {"patient_id": PATIENT, "set_attributes": {"PatientName": "ARCHIVE^CORRECTED"}}


async def plan_of(client: Client, arguments: dict[str, Any]) -> dict[str, Any]:
    return ok(await call(client, "change_image_sets", arguments))


@pytest.mark.parametrize("mode", MODES)
async def test_a_plan_shows_every_image_set_before_and_after_and_changes_nothing(
    mode: str, archive: PatientArchive, writer: Callable[..., MCPServer]
) -> None:
    before = archive.versions()
    async with Client(writer(), mode=mode) as client:
        result = await call(client, "change_image_sets", RENAME)
    planned = ok(result)
    assert archive.versions() == before and len(before) == 6
    assert planned["state"] == "planned" and planned["counts"] == {"planned": 6}
    assert {row["image_set_id"] for row in planned["image_sets"]} == set(before)
    for row in planned["image_sets"]:
        assert row["version"] == 1
        assert row["changes"] == [
            {"keyword": "PatientName", "value": {"before": "DEMO^ARCHIVE", "after": "ARCHIVE^CORRECTED"}}
        ]
    assert re.fullmatch(r"plan-[0-9a-f]{10}", planned["plan_id"])
    assert planned["plan"].startswith("hip1.") and "CORRECTED" not in planned["plan"] and PATIENT not in planned["plan"]
    text = text_of(result)
    assert "nothing changed yet" in text and 'PatientName: "DEMO^ARCHIVE" → "ARCHIVE^CORRECTED"' in text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", ELICIT_ACTIONS)
async def test_applying_asks_the_user_once_for_the_whole_plan(
    mode: str, action: ElicitAction, archive: PatientArchive, writer: Callable[..., MCPServer]
) -> None:
    asker = Asker(action)
    progress: list[float] = []

    async def record(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with Client(writer(), mode=mode, elicitation_callback=asker) as client:
        planned = await plan_of(client, RENAME)
        result = await call(client, "change_image_sets", {"plan": planned["plan"]}, progress_callback=record)
    (question,) = asker.questions
    assert question.startswith(
        f"Apply plan {planned['plan_id']}: set PatientName to 'ARCHIVE^CORRECTED' in 6 image sets"
    )
    assert "of patient DEMO^ARCHIVE (PAT-ARCHIVE-004), 2 studies ('2023-01-15 CT FOLLOW-UP 1'; " in question
    assert "6 write(s) paced at 20/s" in question and "HealthImaging keeps the earlier versions readable" in question
    answer = ok(result)
    versions = archive.versions()
    if action == "accept":
        assert answer["state"] == "complete" and answer["counts"] == {"done": 6}
        assert set(versions.values()) == {"2"}
        assert {archive.patient_name(image_set_id) for image_set_id in versions} == {"ARCHIVE^CORRECTED"}
        assert {row["new_version"] for row in answer["image_sets"]} == {"2"}
        assert progress == [1, 2, 3, 4, 5, 6]
    else:
        assert answer["state"] == "not_applied" and answer["counts"] == {"pending": 6}
        assert set(versions.values()) == {"1"} and progress == []
        assert text_of(result).startswith("Nothing was changed") and action in text_of(result)


@pytest.mark.parametrize("mode", MODES)
async def test_without_elicitation_the_confirm_argument_must_name_the_plan(
    mode: str, archive: PatientArchive, writer: Callable[..., MCPServer]
) -> None:
    async with Client(writer(), mode=mode) as client:
        planned = await plan_of(client, RENAME)
        missing = await call(client, "change_image_sets", {"plan": planned["plan"]})
        wrong = await call(client, "change_image_sets", {"plan": planned["plan"], "confirm": "plan-0000000000"})
        assert set(archive.versions().values()) == {"1"}
        applied = await call(client, "change_image_sets", {"plan": planned["plan"], "confirm": planned["plan_id"]})
        again = await call(client, "change_image_sets", {"plan": planned["plan"]})  # a report: nothing left to ask
    assert f"call again with confirm='{planned['plan_id']}'" in text_of(missing)
    assert "in 6 image sets of patient DEMO^ARCHIVE" in text_of(missing)
    assert ok(wrong)["state"] == "not_applied"
    assert ok(applied)["state"] == "complete" and set(archive.versions().values()) == {"2"}
    assert ok(again)["state"] == "complete" and ok(again)["counts"] == {"done": 6}


async def test_writes_are_paced_at_the_write_quota(archive: PatientArchive, writer: Callable[..., MCPServer]) -> None:
    async with Client(writer(write_rate_per_second=4)) as client:
        planned = await plan_of(client, RENAME)
        started = time.monotonic()
        applied = await call(client, "change_image_sets", {"plan": planned["plan"], "confirm": planned["plan_id"]})
        seconds = time.monotonic() - started
    assert ok(applied)["counts"] == {"done": 6}
    assert seconds >= 5 / 4  # six writes, 0.25 s apart
    updated = sorted(state["updatedAt"].timestamp() for state in archive.image_sets().values())
    gaps = [later - earlier for earlier, later in pairwise(updated)]
    assert min(gaps) >= 0.2  # spaced by the pacer (the clock of the service rounds to the millisecond)


@pytest.mark.parametrize("mode", MODES)
async def test_a_stale_plan_is_refused_and_changes_nothing(
    mode: str, archive: PatientArchive, writer: Callable[..., MCPServer]
) -> None:
    async with Client(writer(), mode=mode) as client:
        planned = await plan_of(client, RENAME)
        touched = next(iter(archive.versions()))
        archive.boto.update_image_set_metadata(
            datastoreId=archive.datastore_id,
            imageSetId=touched,
            latestVersionId="1",
            updateImageSetMetadataUpdates={
                "DICOMUpdates": {
                    "updatableAttributes": b'{"SchemaVersion":1.1,"Study":{"DICOM":{"StudyDescription":"X"}}}'
                }
            },
        )
        time.sleep(0.7)  # the slow service's write completes
        refused = await call(client, "change_image_sets", {"plan": planned["plan"], "confirm": planned["plan_id"]})
        replanned = await plan_of(client, RENAME)
    error = error_of(refused)
    assert error["type"] == "conflict" and "changed since this plan was made" in error["message"]
    assert "nothing was changed" in error["message"] and "new plan" in error["next_step"]
    versions = archive.versions()
    assert versions.pop(touched) == "2" and set(versions.values()) == {"1"}
    assert {row["version"] for row in replanned["image_sets"] if row["image_set_id"] == touched} == {2}


async def test_bad_plans_get_typed_errors_and_change_nothing(
    archive: PatientArchive,
    writer: Callable[..., MCPServer],
    fresh_service: LocalService,
    server_for: Callable[..., MCPServer],
) -> None:
    before = archive.versions()
    async with Client(writer()) as client:
        planned = await plan_of(client, RENAME)
        handle = planned["plan"]
        tampered = handle[:-6] + ("A" if handle[-6] != "A" else "B") + handle[-5:]
        results = {
            "tampered": await call(client, "change_image_sets", {"plan": tampered, "confirm": planned["plan_id"]}),
            "truncated": await call(client, "change_image_sets", {"plan": handle[:40]}),
            "other datastore": await call(client, "change_image_sets", {"plan": handle, "datastore_id": "f" * 32}),
            "unknown patient": await call(client, "change_image_sets", {**RENAME, "patient_id": "NOBODY"}),
            "empty plan": await call(
                client, "change_image_sets", {"patient_id": PATIENT, "set_attributes": {"PatientName": "DEMO^ARCHIVE"}}
            ),
            "no change": await call(client, "change_image_sets", {"patient_id": PATIENT}),
            "too many": await call(client, "change_image_sets", {**RENAME, "max_image_sets": 5}),
            "instance level": await call(
                client, "change_image_sets", {"patient_id": PATIENT, "set_attributes": {"InstanceNumber": "7"}}
            ),
            "mixed": await call(client, "change_image_sets", {"plan": handle, "erase": True}),
        }
        allowed = await plan_of(client, {**RENAME, "max_image_sets": 6})
    async with Client(writer(state_key="a2" * 32)) as client:
        results["other key"] = await call(client, "change_image_sets", {"plan": handle})
    expected = {"unknown patient": "not_found"}
    for name, result in results.items():
        assert error_of(result)["type"] == expected.get(name, "validation_error"), name
    assert "changed, cut short, or made by a server with another key" in error_of(results["tampered"])["message"]
    assert f"made for datastore {archive.datastore_id}" in error_of(results["other datastore"])["message"]
    assert "max_image_sets=6" in error_of(results["too many"])["next_step"]
    assert allowed["counts"] == {"planned": 6}
    assert archive.versions() == before


@pytest.mark.parametrize("mode", MODES)
async def test_undo_is_a_plan_that_reverts_each_image_set(
    mode: str, archive: PatientArchive, writer: Callable[..., MCPServer]
) -> None:
    async with Client(writer(), mode=mode) as client:
        planned = await plan_of(client, RENAME)
        ok(await call(client, "change_image_sets", {"plan": planned["plan"], "confirm": planned["plan_id"]}))
        later = next(iter(archive.versions()))  # someone changes one image set after the plan: it stays as it is
        archive.boto.update_image_set_metadata(
            datastoreId=archive.datastore_id,
            imageSetId=later,
            latestVersionId="2",
            updateImageSetMetadataUpdates={"revertToVersionId": "2"},
        )
        time.sleep(0.7)
        undo = await plan_of(client, {"undo": planned["plan"]})
        assert {row["image_set_id"] for row in undo["image_sets"]} == set(archive.versions()) - {later}
        asked = await call(client, "change_image_sets", {"plan": undo["plan"]})
        reverted = ok(await call(client, "change_image_sets", {"plan": undo["plan"], "confirm": undo["plan_id"]}))
    assert "Undo: revert 5 image sets" in text_of(asked)
    assert reverted["state"] == "complete" and reverted["counts"] == {"done": 5}
    for image_set_id, version in archive.versions().items():
        assert (version, archive.patient_name(image_set_id)) == (
            ("3", "ARCHIVE^CORRECTED") if image_set_id == later else ("3", "DEMO^ARCHIVE")
        )


async def test_series_removal_and_in_place_deidentification(
    archive: PatientArchive, writer: Callable[..., MCPServer]
) -> None:
    asker = Asker("accept")
    async with Client(writer(), elicitation_callback=asker) as client:
        removal = await plan_of(client, {"patient_id": PATIENT, "remove_series": [archive.series_uids[1]]})
        removed = ok(await call(client, "change_image_sets", {"plan": removal["plan"]}))
        image_set_ids = set(archive.versions())  # found by patient ID, which de-identification replaces
        deid = await plan_of(client, {"patient_id": PATIENT, "deidentify": True})
        deidentified = ok(await call(client, "change_image_sets", {"plan": deid["plan"]}))
    assert removal["counts"] == {"planned": 1} and removed["state"] == "complete"
    assert "remove 1 series in 1 image set" in asker.questions[0]
    changes = {c["keyword"]: c["value"] for c in deid["image_sets"][0]["changes"]}
    assert changes["PatientName"]["before"] == "DEMO^ARCHIVE" and re.fullmatch(
        r"DEID\^[0-9A-F]{12}", changes["PatientName"]["after"]
    )
    assert changes["StudyDescription"]["after"] is None  # removed, as the profile says
    assert "(with the identifying values) until the image sets are deleted" in asker.questions[1]
    assert deidentified["state"] == "complete"
    names = {archive.patient_name(image_set_id) for image_set_id in image_set_ids}
    assert len(names) == 1 and names.pop() == changes["PatientName"]["after"]  # one pseudonym for the patient


async def test_plans_under_redaction_show_pseudonyms(archive: PatientArchive, writer: Callable[..., MCPServer]) -> None:
    asker = Asker("decline")
    async with Client(writer(redact_phi=True), elicitation_callback=asker) as client:
        overview = ok(await call(client, "get_overview", {"patient_id": PATIENT}))
        pseudonym = overview["patient"]["id"]
        planned = await call(client, "change_image_sets", {**RENAME, "patient_id": pseudonym})
        await call(client, "change_image_sets", {"plan": ok(planned)["plan"]})
    for text in (text_of(planned), *asker.questions):
        assert "ARCHIVE" not in text and PATIENT not in text, text
    assert re.search(r"of patient NAME-[0-9A-F]{8,} \(PATIENT-[0-9A-F]{8,}\)", asker.questions[0])
    assert re.search(r"set PatientName to 'NAME-[0-9A-F]{8,}'", asker.questions[0])


def documents_of(boto: Any, datastore_id: str, image_set_ids: Any) -> dict[str, dict[str, Any]]:
    """Image set ID → its latest metadata document."""
    return {image_set_id: read_metadata(boto, datastore_id, image_set_id) for image_set_id in image_set_ids}


@pytest.mark.parametrize("mode", MODES)
async def test_a_study_scope_plan_corrects_the_accession_number_of_that_study_only(
    mode: str, archive: PatientArchive, writer: Callable[..., MCPServer]
) -> None:
    before = archive.versions()
    documents = documents_of(archive.boto, archive.datastore_id, before)
    study_of = {image_set_id: document["Study"]["DICOM"] for image_set_id, document in documents.items()}
    uid = next(s["StudyInstanceUID"] for s in study_of.values() if s["AccessionNumber"] == "ACA00001")
    in_study = {image_set_id for image_set_id, study in study_of.items() if study["StudyInstanceUID"] == uid}
    correction = {"study_instance_uid": uid, "set_attributes": {"AccessionNumber": "ACA00001-FIXED"}}
    asker = Asker("accept")
    async with Client(writer(), mode=mode, elicitation_callback=asker) as client:
        planned = await call(client, "change_image_sets", correction)
        unchanged_while_planned = archive.versions()
        applied = ok(await call(client, "change_image_sets", {"plan": ok(planned)["plan"]}))
    assert unchanged_while_planned == before and len(in_study) == 2 and len(before) == 6
    plan = ok(planned)
    assert {row["image_set_id"] for row in plan["image_sets"]} == in_study and plan["counts"] == {"planned": 2}
    for row in plan["image_sets"]:
        assert row["changes"] == [
            {"keyword": "AccessionNumber", "value": {"before": "ACA00001", "after": "ACA00001-FIXED"}}
        ]
    assert "set AccessionNumber to 'ACA00001-FIXED' in 2 image sets" in text_of(planned)
    assert 'AccessionNumber: "ACA00001" → "ACA00001-FIXED"' in text_of(planned)
    (question,) = asker.questions
    assert question.startswith(f"Apply plan {plan['plan_id']}: set AccessionNumber to 'ACA00001-FIXED' in 2 image sets")
    assert applied["state"] == "complete" and applied["counts"] == {"done": 2}
    assert {row["image_set_id"]: row["new_version"] for row in applied["image_sets"]} == dict.fromkeys(in_study, "2")
    after = documents_of(archive.boto, archive.datastore_id, before)
    versions = archive.versions()
    for image_set_id, document in after.items():
        if image_set_id in in_study:
            assert versions[image_set_id] == "2"
            assert document["Study"]["DICOM"]["AccessionNumber"] == "ACA00001-FIXED"
            document["Study"]["DICOM"]["AccessionNumber"] = "ACA00001"  # the only difference
        else:
            assert versions[image_set_id] == "1"
        assert document == documents[image_set_id], image_set_id


@pytest.mark.parametrize("mode", MODES)
async def test_a_plan_removing_instances_changes_only_the_image_set_holding_them(
    mode: str, fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    store = WritableStore.create(fresh_service, seeds=(0, 1), slices=3)  # two series of DEMO^ALICE's CT study
    holder, other = store.image_set_ids
    removed, kept = store.sop_uids[0][1], [store.sop_uids[0][0], store.sop_uids[0][2]]
    before = documents_of(store.boto, store.datastore_id, store.image_set_ids)
    asker = Asker("accept")
    server = server_for(fresh_service, allow_write=True, write_rate_per_second=20, state_key=KEY)
    async with Client(server, mode=mode, elicitation_callback=asker) as client:
        planned = await call(
            client, "change_image_sets", {"patient_id": "PAT-ALICE-001", "remove_instances": [removed]}
        )
        applied = ok(await call(client, "change_image_sets", {"plan": ok(planned)["plan"]}))
    plan = ok(planned)
    assert plan["counts"] == {"planned": 1}
    (row,) = plan["image_sets"]
    assert row["image_set_id"] == holder and row["version"] == 1
    assert row["changes"] == [{"keyword": "instance", "value": {"before": removed, "after": None}}]
    assert "remove 1 instance(s) in 1 image set" in text_of(planned)
    (question,) = asker.questions
    assert question.startswith(f"Apply plan {plan['plan_id']}: remove 1 instance(s) in 1 image set")
    assert applied["state"] == "complete" and applied["counts"] == {"done": 1}
    assert [(r["image_set_id"], r["new_version"]) for r in applied["image_sets"]] == [(holder, "2")]
    assert store.state(holder)["versionId"] == "2" and store.state(other)["versionId"] == "1"
    after = documents_of(store.boto, store.datastore_id, store.image_set_ids)
    (series,) = after[holder]["Study"]["Series"].values()
    assert sorted(series["Instances"]) == sorted(kept)
    (series_before,) = before[holder]["Study"]["Series"].values()
    del series_before["Instances"][removed]
    assert after[holder] == before[holder]  # only that instance is gone
    assert after[other] == before[other]
