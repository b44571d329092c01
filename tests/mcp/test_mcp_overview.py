"""Patient, study and datastore overviews: every page, primary and non-primary, and why non-primary."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.samples.collection import ARCHIVE_PATIENT, patient_archive
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.workflows import overview
from tests.support.dicom_files import part10
from tests.support.mcp_testkit import MODES, assert_short_rendering, call, error_of, ok, text_of
from tests.support.samples import SampleFacts

pytestmark = pytest.mark.anyio

ALICE = "PAT-ALICE-001"


def boto_search(service: LocalService, datastore_id: str, **filters: Any) -> list[dict[str, Any]]:
    criteria = {"filters": [{"operator": "EQUAL", "values": [{k: v}]} for k, v in filters.items()]}
    paginator = service.client().get_paginator("search_image_sets")
    pages = paginator.paginate(datastoreId=datastore_id, searchCriteria=criteria)
    return [summary for page in pages for summary in page["imageSetsMetadataSummaries"]]


def archive_store(service: LocalService, n_series: int) -> str:
    """A datastore with the archive patient's `n_series` image sets, plus one non-primary image set made by
    importing the first series again with another AccessionNumber. Returns the non-primary image set's ID."""
    datastore_id = service.client().create_datastore(datastoreName="archive")["datastoreId"]
    datasets = list(patient_archive(n_series, n_studies=3))
    service.backend.import_files(datastore_id, [(f"{i}.dcm", partial(part10, ds)) for i, ds in enumerate(datasets)])
    conflicting = datasets[0]
    conflicting.AccessionNumber = "OTHER-ACCESSION"
    report = service.backend.import_files(datastore_id, [("again.dcm", partial(part10, conflicting))])
    (imported,) = report.image_sets
    assert imported.is_primary is False
    return imported.image_set_id


@pytest.mark.parametrize("mode", MODES)
async def test_patient_overview_lists_every_study_and_series(
    mode: str, read_server: MCPServer, sample_service: LocalService, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        result = await call(client, "get_overview", {"patient_id": ALICE})
    data = ok(result)
    found = boto_search(sample_service, sample_facts.datastore_id, DICOMPatientId=ALICE)
    expected = {s["imageSetId"]: s for s in found}
    series = [row for study in data["studies"] for row in study["series"]]
    assert {row["image_set_id"] for row in series} == set(expected)
    assert data["patient"] == {"name": "DEMO^ALICE", "id": ALICE, "birth_date": "1968-03-14", "sex": "F"}
    assert [(s["date"], s["description"]) for s in data["studies"]] == [
        ("2023-11-05", "MR BRAIN WO CONTRAST"),
        ("2024-03-12", "CT CHEST W CONTRAST"),
    ]
    ct = next(row for row in series if row["image_set_id"] == sample_facts.ct_image_set_id)
    assert (ct["modality"], ct["description"], ct["instances"], ct["frames"], ct["series_number"]) == (
        "CT",
        "AXIAL 2.5MM",
        128,
        128,
        2,
    )
    for row in series:
        assert row["version"] == str(expected[row["image_set_id"]]["version"]) and row["primary"] is True
    totals = {t["modality"]: t for t in data["totals"]}
    assert set(totals) == {"CT", "MR"} and totals["MR"]["studies"] == 1 and totals["CT"]["patients"] == 1
    assert sum(t["image_sets"] for t in data["totals"]) == len(expected)
    text = assert_short_rendering(result, limit=6000)
    assert "Patient DEMO^ALICE (PAT-ALICE-001)" in text and sample_facts.ct_image_set_id in text


@pytest.mark.parametrize("mode", MODES)
async def test_overview_follows_every_page_and_says_why_an_image_set_is_not_primary(
    mode: str, fresh_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    non_primary = archive_store(fresh_service, 55)  # 56 image sets: two search pages
    async with Client(server_for(fresh_service), mode=mode) as client:
        result = await call(client, "get_overview", {"patient_id": ARCHIVE_PATIENT.patient_id})
    data = ok(result)
    rows = {row["image_set_id"]: row for study in data["studies"] for row in study["series"]}
    assert len(rows) == 56 and len(data["studies"]) == 3
    assert "Series listed for the first" not in text_of(result)  # everything listed
    odd = rows[non_primary]
    assert odd["primary"] is False
    primary_id = odd["not_primary_because"]["primary_image_set_id"]
    assert odd["not_primary_because"]["differs_in"] == ["AccessionNumber"]
    assert rows[primary_id]["primary"] is True and rows[primary_id]["series_instance_uid"] == odd["series_instance_uid"]
    assert f"non-primary: AccessionNumber differ from primary {primary_id}" in text_of(result)


async def test_long_overviews_list_the_first_studies_and_say_how_to_see_the_rest(
    fresh_service: LocalService, server_for: Callable[..., MCPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive_store(fresh_service, 12)
    monkeypatch.setattr(overview, "MAX_SERIES_LISTED", 5)
    async with Client(server_for(fresh_service)) as client:
        answer = await call(client, "get_overview", {"patient_id": ARCHIVE_PATIENT.patient_id})
        whole = ok(answer)
        uid = whole["studies"][-1]["study_instance_uid"]
        single = await call(client, "get_overview", {"study_instance_uid": uid})
        one = ok(single)
    listed = [len(study["series"]) for study in whole["studies"]]
    assert listed[0] == 5 and listed[1:] == [0, 0]  # 13 image sets in 3 studies of 5, 4, 4 (the first has the extra)
    assert [study["image_sets"] for study in whole["studies"]] == [5, 4, 4]
    assert "Series listed for the first 5 of 13 image sets; call again with study_instance_uid" in text_of(answer)
    assert [study["study_instance_uid"] for study in one["studies"]] == [uid]
    assert len(one["studies"][0]["series"]) == 4 and "Series listed" not in text_of(single)


@pytest.mark.parametrize("mode", MODES)
async def test_datastore_overview_counts_every_image_set_by_modality(
    mode: str, read_server: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(read_server, mode=mode) as client:
        result = await call(client, "get_overview")
    data = ok(result)
    assert "studies" not in data and "patient" not in data
    assert sum(t["image_sets"] for t in data["totals"]) == len(sample_facts.summaries)
    assert sum(t["patients"] for t in data["totals"] if t["modality"] == "CT") >= 2
    head = f"Datastore {sample_facts.datastore_id}: {len(sample_facts.summaries)} image sets"
    assert text_of(result).startswith(head)


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_patient_is_not_found(mode: str, read_server: MCPServer) -> None:
    async with Client(read_server, mode=mode) as client:
        result = await call(client, "get_overview", {"patient_id": "NOBODY-123"})
    error = error_of(result)
    assert error["type"] == "not_found" and "NOBODY-123" in error["message"]


async def test_overview_under_redaction_names_the_patient_by_pseudonym(
    sample_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    async with Client(server_for(sample_service, redact_phi=True)) as client:
        first = ok(await call(client, "get_overview", {"patient_id": ALICE}))
        again = await call(client, "get_overview", {"patient_id": first["patient"]["id"]})
    assert re.fullmatch(r"PATIENT-[0-9A-F]{8,}", first["patient"]["id"])
    assert re.fullmatch(r"NAME-[0-9A-F]{8,}", first["patient"]["name"])
    assert ok(again)["patient"] == first["patient"]
    for study in ok(again)["studies"]:
        assert study["accession_number"].startswith("ACCESSION-")
    assert "ALICE" not in text_of(again) and "ACC2403" not in text_of(again)
