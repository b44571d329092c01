"""--redact-phi: no patient identifiers in any answer (text or structured), stable pseudonyms that still work."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextResourceContents

from healthimaging_mcp.local.service import LocalService
from tests.support.mcp_testkit import MODES, call, error_of, images_of, ok, text_of
from tests.support.sample_phi import assert_no_phi
from tests.support.samples import SampleFacts

pytest.importorskip("healthimaging_mcp.dicom.phi")
pytestmark = pytest.mark.anyio


def everything(result: CallToolResult) -> str:
    return text_of(result) + json.dumps(result.structured_content)


@pytest.fixture
def redacting(sample_service: LocalService, server_for: Callable[..., MCPServer]) -> MCPServer:
    return server_for(sample_service, redact_phi=True)


@pytest.mark.parametrize("mode", MODES)
async def test_search_answers_carry_pseudonyms_that_work_as_search_terms(
    mode: str, redacting: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(redacting, mode=mode) as client:
        by_real_id = await call(client, "search_image_sets", {"patient_id": "PAT-ALICE-001", "max_results": 50})
        hits = ok(by_real_id)["image_sets"]
        pseudonym = hits[0]["patient_id"]
        by_pseudonym = await call(client, "search_image_sets", {"patient_id": pseudonym, "max_results": 50})
        accession = hits[0]["accession_number"]
        by_accession = await call(client, "search_image_sets", {"accession_number": accession, "max_results": 50})
    assert_no_phi(everything(by_real_id), everything(by_pseudonym))
    assert re.fullmatch(r"PATIENT-[0-9A-F]{8,}", pseudonym)
    assert {h["patient_id"] for h in hits} == {pseudonym}  # stable: one patient, one pseudonym
    assert re.fullmatch(r"NAME-[0-9A-F]{8,}", hits[0]["patient_name"])
    assert hits[0]["patient_sex"] == "F" and hits[0]["study_date"]  # kept: not identifying on their own
    assert {h["image_set_id"] for h in ok(by_pseudonym)["image_sets"]} == {h["image_set_id"] for h in hits}
    assert ok(by_accession)["image_sets"]
    assert pseudonym in text_of(by_pseudonym)


@pytest.mark.parametrize("mode", MODES)
async def test_metadata_at_every_depth_is_redacted(mode: str, redacting: MCPServer, sample_facts: SampleFacts) -> None:
    ct = sample_facts.ct_image_set_id
    _, sop_uid, _ = sample_facts.ct_instances()[3]
    async with Client(redacting, mode=mode) as client:
        summary = await call(client, "get_image_set_metadata", {"image_set_id": ct})
        series = await call(client, "get_image_set_metadata", {"image_set_id": ct, "depth": "series"})
        instance = await call(
            client, "get_image_set_metadata", {"image_set_id": ct, "depth": "instance", "sop_instance_uid": sop_uid}
        )
        chosen = await call(
            client,
            "get_image_set_metadata",
            {
                "image_set_id": ct,
                "depth": "instance",
                "sop_instance_uid": sop_uid,
                "keywords": ["PatientName", "PatientID", "PatientBirthDate", "PatientAge", "SliceThickness"],
            },
        )
    assert_no_phi(*(everything(r) for r in (summary, series, instance, chosen)))
    patient = ok(summary)["summary"]["patient"]
    assert patient["id"].startswith("PATIENT-") and patient["age"] == "055Y" and patient["sex"] == "F"
    values = {row["keyword"]: row["value"] for row in ok(chosen)["instance"]["attributes"]}
    assert str(values["PatientID"]).startswith("PATIENT-") and str(values["PatientName"]).startswith("NAME-")
    assert str(values["PatientBirthDate"]).startswith("DATE-")
    assert values["PatientAge"] == "055Y" and float(values["SliceThickness"]) == 2.5
    assert ok(summary)["summary"]["series"][0]["series_instance_uid"] == sample_facts.ct_series_uid  # UIDs kept


async def test_images_keep_their_pixels_and_patient_free_captions(
    redacting: MCPServer, sample_facts: SampleFacts
) -> None:
    async with Client(redacting) as client:
        frame = await call(client, "get_image_frame", {"image_set_id": sample_facts.ct_image_set_id})
        montage = await call(client, "get_series_montage", {"image_set_id": sample_facts.ct_image_set_id, "count": 4})
    assert len(images_of(frame)) == len(images_of(montage)) == 1
    assert_no_phi(everything(frame), everything(montage))


async def test_planes_measurements_comparisons_and_study_sheets_are_patient_free(
    redacting: MCPServer, sample_facts: SampleFacts
) -> None:
    ct = {"image_set_id": sample_facts.ct_image_set_id}
    async with Client(redacting) as client:
        results = [
            await call(client, "get_image_frame", {**ct, "plane": "coronal", "slab_mm": 10}),
            await call(client, "measure_image", {**ct, "shape": "circle", "points": [[256, 256]], "radius_mm": 5}),
            await call(client, "get_series_montage", {**ct, "whole_study": True}),
            await call(client, "get_image_frame", {**ct, "compare_with": "prior"}),  # Alice has no earlier CT
        ]
    for result in results[:3]:
        assert not result.is_error, text_of(result)
    assert error_of(results[3])["type"] == "not_found"
    assert_no_phi(*(everything(result) for result in results))


async def test_resources_are_redacted_too(redacting: MCPServer, sample_facts: SampleFacts) -> None:
    uri = f"healthimaging://datastores/{sample_facts.datastore_id}/image-sets/{sample_facts.ct_image_set_id}"
    async with Client(redacting) as client:
        (content,) = (await client.read_resource(uri)).contents
    assert isinstance(content, TextResourceContents)
    assert_no_phi(content.text)
    assert "PATIENT-" in content.text


async def test_without_redaction_the_data_is_shown_as_stored(read_server: MCPServer) -> None:
    """The control: the values checked above really are in the sample data."""
    async with Client(read_server) as client:
        result = await call(client, "search_image_sets", {"patient_id": "PAT-ALICE-001"})
    assert "DEMO^ALICE" in text_of(result) and "PAT-ALICE-001" in json.dumps(result.structured_content)


async def test_saved_metadata_json_is_redacted_too(
    redacting: MCPServer, sample_facts: SampleFacts, tmp_path: pytest.TempPathFactory
) -> None:
    async with Client(redacting) as client:
        saved = ok(
            await call(
                client,
                "get_image_set_metadata",
                {"image_set_id": sample_facts.ct_image_set_id, "save_json_as": "ct.json"},
            )
        )["saved_to"]
    with open(saved, encoding="utf-8") as handle:
        content = handle.read()
    assert_no_phi(content)
    assert json.loads(content)["Patient"]["DICOM"]["PatientID"].startswith("PATIENT-")


@pytest.mark.parametrize("mode", MODES)
async def test_error_texts_are_redacted_too(
    mode: str, redacting: MCPServer, sample_service: LocalService, sample_facts: SampleFacts
) -> None:
    """An AWS error message may quote patient values and S3 keys: under redaction neither reaches the client."""
    key = "incoming/DEMO_ALICE/ct-1.dcm"
    message = f"Cannot read s3://imaging-bucket/{key}: DEMO^ALICE (PAT-ALICE-001) is locked"
    try:
        async with Client(redacting, mode=mode) as client:
            ok(await call(client, "search_image_sets", {"patient_id": "PAT-ALICE-001"}))  # pseudonyms handed out
            sample_service.faults.add("GetImageSet", "AccessDeniedException", message=message)
            failed = await call(client, "get_image_set", {"image_set_id": sample_facts.ct_image_set_id})
    finally:
        sample_service.faults.clear()
    error = error_of(failed)
    assert error["type"] == "access_denied"
    assert_no_phi(text_of(failed))
    assert "DEMO_ALICE" not in text_of(failed) and key not in text_of(failed)
    assert re.search(r"s3://imaging-bucket/FILE-[0-9A-F]{8} ", error["message"]), error["message"]
    assert re.search(r"NAME-[0-9A-F]{8,} \(PATIENT-[0-9A-F]{8,}\) is locked", error["message"]), error["message"]
