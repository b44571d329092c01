"""`--audit-log`: one JSON line per tool call, saying who called which tool on which datastore and image sets,
how it ended and how long it took, and never anything about the patient."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.server import build_server
from tests.support.local_kit import UNKNOWN_ID
from tests.support.mcp_stores import PATIENT, PatientArchive
from tests.support.mcp_testkit import MODES, call, ok, settings_for, text_of
from tests.support.sample_phi import sample_identifiers

pytestmark = pytest.mark.anyio


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def study_of(sample_facts: Any, description: str) -> tuple[str, set[str]]:
    """The StudyInstanceUID of the sample study described so, and its primary image sets."""
    members = [s for s in sample_facts.summaries if s["DICOMTags"].get("DICOMStudyDescription") == description]
    uid = members[0]["DICOMTags"]["DICOMStudyInstanceUID"]
    return uid, {s["imageSetId"] for s in members if s.get("isPrimary") is not False}


@pytest.mark.parametrize("mode", MODES)
async def test_one_line_per_call_naming_what_was_touched_and_no_patient_data(
    sample_service: LocalService, sample_facts: Any, tmp_path: Path, mode: str
) -> None:
    audit = tmp_path / "audit.jsonl"
    settings = settings_for(sample_service.endpoint, tmp_path / "out", audit_log=str(audit), allow_write=True)
    server = build_server(settings)  # write mode for change_image_sets: its plans are made, never applied here
    ct = sample_facts.ct_image_set_id
    study_uid, study_sets = study_of(sample_facts, "MR BRAIN WO CONTRAST")
    rename = {"patient_id": "PAT-ALICE-001", "set_attributes": {"PatientName": "DEMO^ALICE^CORRECTED"}}
    reads: list[tuple[str, dict[str, Any]]] = [
        ("list_datastores", {}),
        ("search_image_sets", {"patient_id": "PAT-ALICE-001", "max_results": 50}),
        ("get_image_set_metadata", {"image_set_id": ct}),
        ("get_image_frame", {"image_set_id": ct, "max_size": 64}),
        ("get_overview", {"patient_id": "PAT-ALICE-001"}),
        ("export_dicom", {"study_instance_uid": study_uid, "destination": f"audit-{mode}"}),
        ("change_image_sets", rename),
    ]
    refused: list[tuple[str, dict[str, Any]]] = [
        ("get_image_set", {"image_set_id": UNKNOWN_ID}),
        ("search_image_sets", {"patient_name": "DEMO^BOB", "birth_date": "19550927"}),  # refused arguments
        ("no_such_tool", {"patient_id": "PAT-CAROL-003"}),
    ]
    async with Client(server, mode=mode) as client:
        answers = [await client.call_tool(name, arguments) for name, arguments in reads]
        planned = ok(answers[-1])
        not_applied = ("change_image_sets", {"plan": planned["plan"], "confirm": "plan-0000000000"})  # a wrong name
        answers.append(await client.call_tool(*not_applied))
        answers += [await client.call_tool(name, arguments) for name, arguments in refused]
    assert "PAT-ALICE-001" in text_of(answers[2]) or "DEMO^ALICE" in text_of(answers[2])  # there was PHI to leak
    assert "DEMO^ALICE" in text_of(answers[4]) and "DEMO^ALICE" in text_of(answers[6])
    assert ok(answers[7])["state"] == "not_applied"

    lines = audit_lines(audit)
    assert [line["tool"] for line in lines] == [name for name, _ in (*reads, not_applied, *refused)]
    assert [line["outcome"] for line in lines] == ["ok"] * 8 + ["error"] * 3
    assert [line["error_type"] for line in lines] == [None] * 8 + ["not_found", "validation_error", "validation_error"]
    assert all(line["caller"] == "local" for line in lines)
    assert all(line["duration_ms"] > 0 for line in lines)
    assert all(datetime.fromisoformat(line["time"].replace("Z", "+00:00")) for line in lines)
    alice = {s["imageSetId"] for s in sample_facts.summaries if s["DICOMTags"].get("DICOMPatientId") == "PAT-ALICE-001"}
    assert ct in alice and set(lines[1]["image_set_ids"]) == alice
    assert lines[1]["datastore_ids"] == [sample_facts.datastore_id]
    assert lines[2]["image_set_ids"] == [ct] and lines[3]["image_set_ids"] == [ct]
    assert set(lines[4]["image_set_ids"]) == alice and set(lines[5]["image_set_ids"]) == study_sets
    assert set(lines[6]["image_set_ids"]) == set(lines[7]["image_set_ids"]) == alice
    assert all(line["datastore_ids"] == [sample_facts.datastore_id] for line in lines[4:8])
    assert lines[8]["image_set_ids"] == [UNKNOWN_ID]

    text = audit.read_text()
    leaked = {identifier for identifier in sample_identifiers() if identifier.lower() in text.lower()}
    assert not leaked, leaked


async def test_every_image_set_touched_is_audited_even_when_answers_list_only_the_first(
    fresh_service: LocalService, tmp_path: Path
) -> None:
    archive = PatientArchive(fresh_service, series=61)  # 62 image sets: beyond 20 plan rows and 60 overview series
    everything = set(archive.versions())
    audit = tmp_path / "audit.jsonl"
    settings = settings_for(
        fresh_service.endpoint,
        tmp_path / "out",
        audit_log=str(audit),
        allow_write=True,
        write_rate_per_second=0,
        state_key="a7" * 32,
    )
    async with Client(build_server(settings)) as client:
        overview = ok(await call(client, "get_overview", {"patient_id": PATIENT}))
        first, second = overview["studies"]
        exported = ok(await call(client, "export_dicom", {"study_instance_uid": second["study_instance_uid"]}))
        planned = ok(
            await call(client, "change_image_sets", {"patient_id": PATIENT, "erase": True, "max_image_sets": 62})
        )
        erased = ok(await call(client, "change_image_sets", {"plan": planned["plan"], "confirm": planned["plan_id"]}))
    assert second["series"] == [] and len(planned["image_sets"]) == len(erased["image_sets"]) == 20
    assert erased["counts"] == {"done": 62} and archive.versions() == {}
    overview_line, export_line, plan_line, erase_line = audit_lines(audit)
    for line in (overview_line, plan_line, erase_line):
        assert set(line["image_set_ids"]) == everything and line["datastore_ids"] == [archive.datastore_id]
    in_second = everything - {series["image_set_id"] for series in first["series"]}
    assert exported["files"] == len(in_second) == 30
    assert set(export_line["image_set_ids"]) == in_second and export_line["datastore_ids"] == [archive.datastore_id]


def test_the_audit_line_format() -> None:
    from healthimaging_mcp.deploy.audit import audit_line
    from healthimaging_mcp.deploy.auth import LOCAL, Caller
    from healthimaging_mcp.deploy.calls import ToolCall

    call = ToolCall.start("get_image_set", Caller("user-7", "app", frozenset()), {"image_set_id": "a" * 32})
    call.started, call.duration = 1_764_580_443.5127, 0.012345
    line = json.loads(audit_line(call))
    assert line == {
        "time": "2025-12-01T09:14:03.512Z",
        "caller": {"subject": "user-7", "client_id": "app"},
        "tool": "get_image_set",
        "datastore_ids": [],
        "image_set_ids": ["a" * 32],
        "outcome": "ok",
        "error_type": None,
        "duration_ms": 12.35,
    }
    assert json.loads(audit_line(ToolCall.start("x", LOCAL, {})))["caller"] == "local"
    assert re.fullmatch(r"\{.*\}", audit_line(call))  # one line
