"""Erasure of a patient (right to erasure): every image set, shown and confirmed once, deleted at the paced rate,
verified by a new search, recorded without patient data."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.samples.collection import patient_archive
from healthimaging_mcp.local.service import LocalService
from tests.support.dicom_files import part10
from tests.support.mcp_stores import PATIENT, PatientArchive
from tests.support.mcp_testkit import MODES, Asker, ElicitAction, call, error_of, ok, text_of

pytestmark = pytest.mark.anyio

ERASE = {"patient_id": PATIENT, "erase": True}


@pytest.fixture
def archive(slow_service: LocalService) -> PatientArchive:
    return PatientArchive(slow_service)


@pytest.fixture
def eraser(server_for: Callable[..., MCPServer], archive: PatientArchive) -> Callable[..., MCPServer]:
    def build(**overrides: Any) -> MCPServer:
        return server_for(archive.service, allow_write=True, write_rate_per_second=20, state_key="6b" * 32, **overrides)

    return build


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", ["accept", "decline"])
async def test_erasing_a_patient_takes_two_calls_and_one_confirmation(
    mode: str,
    action: ElicitAction,
    archive: PatientArchive,
    eraser: Callable[..., MCPServer],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    image_sets = set(archive.versions())
    answer = Asker(action)
    with caplog.at_level(logging.DEBUG, logger="healthimaging_mcp"):
        async with Client(eraser(), mode=mode, elicitation_callback=answer) as client:
            planned = ok(await call(client, "change_image_sets", ERASE))
            result = await call(client, "change_image_sets", {"plan": planned["plan"], "save_report_as": "erasure"})
    assert {row["image_set_id"] for row in planned["image_sets"]} == image_sets and len(image_sets) == 6
    (question,) = answer.questions
    assert question.startswith(
        "Permanently delete 6 image sets (every version) of patient DEMO^ARCHIVE (PAT-ARCHIVE-004)"
    )
    assert "2 studies ('2023-01-15 CT FOLLOW-UP 1'; '2023-02-15 CT FOLLOW-UP 2')" in question
    assert question.endswith("then a new search checks that nothing remains?")
    data = ok(result)
    if action == "decline":
        assert data["state"] == "not_applied" and set(archive.versions()) == image_sets
        return
    assert data["state"] == "complete" and data["counts"] == {"done": 6}
    assert archive.versions() == {}
    assert all(
        archive.boto.get_image_set(datastoreId=archive.datastore_id, imageSetId=i)["imageSetState"] == "DELETED"
        for i in image_sets
    )
    assert "Verified by a new search: no image set of this scope remains." in text_of(result)
    saved = tmp_path / "out" / "erasure.json"
    record = json.loads(saved.read_text())
    assert record["kind"] == "erase" and record["counts"] == {"done": 6}
    assert {item["image_set_id"] for item in record["image_sets"]} == image_sets
    assert record["verification"] == {"remaining_image_sets": []}
    assert record["planned_at"].endswith("Z") and record["finished_at"] >= record["applied_from"]
    for text in (saved.read_text(), caplog.text):
        assert "ARCHIVE" not in text and PATIENT not in text


async def test_what_arrives_after_the_plan_is_kept_and_reported(
    archive: PatientArchive, eraser: Callable[..., MCPServer]
) -> None:
    async with Client(eraser()) as client:
        planned = ok(await call(client, "change_image_sets", ERASE))
        late = list(patient_archive(7, n_studies=2))[6]  # a new series of the patient, imported after planning
        (arrived,) = archive.service.backend.import_files(
            archive.datastore_id, [("late.dcm", partial(part10, late))]
        ).image_sets
        result = ok(await call(client, "change_image_sets", {"plan": planned["plan"], "confirm": planned["plan_id"]}))
    assert result["state"] == "incomplete" and result["counts"] == {"done": 6}
    assert f"A new search still finds 1 image set: {arrived.image_set_id}" in result["message"]
    assert archive.versions() == {arrived.image_set_id: "1"}


async def test_erasure_beyond_the_stated_maximum_or_mixed_or_undone_is_refused(
    archive: PatientArchive, eraser: Callable[..., MCPServer]
) -> None:
    async with Client(eraser()) as client:
        refused = await call(client, "change_image_sets", {**ERASE, "max_image_sets": 4})
        mixed = await call(client, "change_image_sets", {**ERASE, "set_attributes": {"PatientName": "X"}})
        erasure = ok(await call(client, "change_image_sets", ERASE))
        no_undo = await call(client, "change_image_sets", {"undo": erasure["plan"]})
    assert "cannot be undone" in error_of(no_undo)["message"]
    assert error_of(refused)["type"] == "validation_error" and "max_image_sets=6" in error_of(refused)["next_step"]
    assert error_of(mixed)["type"] == "validation_error"
    assert len(archive.versions()) == 6
