"""search_dicom and upload_dicom_files through real MCP sessions, against the local service's DICOMweb."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.server import build_server
from healthimaging_mcp.tools import upload
from tests.support.local_kit import UNKNOWN_ID
from tests.support.mcp_testkit import call, error_of, ok, settings_for, text_of
from tests.support.sample_phi import sample_identifiers

pytestmark = pytest.mark.anyio
ALICE_STUDIES = {"CT CHEST W CONTRAST", "MR BRAIN WO CONTRAST"}


async def test_alices_studies_by_patient_name_wildcard_and_fuzzy(read_server: MCPServer) -> None:
    async with Client(read_server) as client:
        wildcard = ok(await call(client, "search_dicom", {"match": {"PatientName": "*ALICE*"}}))
        fuzzy = ok(await call(client, "search_dicom", {"match": {"PatientName": "alice"}, "fuzzy": True}))
        exact = ok(await call(client, "search_dicom", {"match": {"PatientName": "alice"}}))
    assert {r["study_description"] for r in wildcard["results"]} == ALICE_STUDIES
    assert {r["patient_id"] for r in wildcard["results"]} == {"PAT-ALICE-001"}
    assert wildcard["results"] == fuzzy["results"]
    assert exact["results"] == []  # without fuzzy, a name matches whole (and case-sensitively)


async def test_modality_and_study_date_range(read_server: MCPServer) -> None:
    async with Client(read_server) as client:
        result = await call(client, "search_dicom", {"match": {"Modality": "CT", "StudyDate": "2024-01-01-2024-04-05"}})
        series = ok(await call(client, "search_dicom", {"level": "series", "match": {"Modality": "MR"}}))
    found = ok(result)["results"]
    assert {r["study_description"] for r in found} == {"CT CHEST W CONTRAST", "CT HEAD WO CONTRAST"}
    assert all("20240101" <= r["study_date"] <= "20240405" and "CT" in r["modality"] for r in found)
    assert "study UID" in text_of(result) and "get_overview" in text_of(result)
    assert series["results"] and {r["modality"] for r in series["results"]} == {"MR"}
    assert all(r["series_instance_uid"] for r in series["results"])


async def test_pages_follow_next_token_to_the_end(read_server: MCPServer) -> None:
    async with Client(read_server) as client:
        everything = ok(await call(client, "search_dicom", {"level": "series", "max_results": 50}))["results"]
        paged, token, pages = [], None, 0
        while True:
            arguments = {"level": "series", "max_results": 4, **({"next_token": token} if token else {})}
            page = ok(await call(client, "search_dicom", arguments))
            paged += page["results"]
            pages += 1
            token = page.get("next_token")
            if not token:
                break
    assert len(everything) > 8 and paged == everything
    assert pages == -(-len(everything) // 4)


async def test_answers_carry_pseudonyms_under_redact_phi(
    sample_service: LocalService, server_for: Callable[..., MCPServer]
) -> None:
    async with Client(server_for(sample_service, redact_phi=True)) as client:
        result = await call(client, "search_dicom", {"match": {"PatientName": "*ALICE*"}})
        found = ok(result)["results"]
        again = ok(await call(client, "search_dicom", {"match": {"PatientID": found[0]["patient_id"]}}))
    text = text_of(result) + str(result.structured_content)
    leaked = [value for value in sample_identifiers() if value in text]
    assert not leaked
    assert found[0]["patient_name"].startswith("NAME-") and found[0]["patient_id"].startswith("PATIENT-")
    assert len(again["results"]) == 2  # the pseudonym given back is searched as the real ID


async def test_errors_are_typed(read_server: MCPServer) -> None:
    async with Client(read_server) as client:
        unknown = error_of(await call(client, "search_dicom", {"datastore_id": UNKNOWN_ID}))
        bad_date = error_of(await call(client, "search_dicom", {"match": {"StudyDate": "2024-13-40"}}))
        reversed_range = error_of(await call(client, "search_dicom", {"match": {"StudyDate": "20241231-20240101"}}))
        keyword = error_of(await call(client, "search_dicom", {"match": {"PatientsName": "X"}}))
        level = error_of(await call(client, "search_dicom", {"level": "patients"}))
        extra = error_of(await call(client, "search_dicom", {"patient_name": "ALICE"}))
    assert unknown["type"] == "not_found"
    assert bad_date["type"] == reversed_range["type"] == keyword["type"] == level["type"] == "validation_error"
    assert "PatientName" in keyword["next_step"]
    assert extra["type"] == "validation_error" and "match" in extra["message"]


def _input_folder(root: Path) -> Path:
    """Two of pydicom's bundled files (an MR renamed after its patient), a text file, a link leading out."""
    folder = root / "incoming"
    (folder / "scans").mkdir(parents=True)
    shutil.copy(str(get_testdata_file("CT_small.dcm")), folder / "scans" / "ct.dcm")
    shutil.copy(str(get_testdata_file("MR_small.dcm")), folder / "scans" / "MR of Doe.dcm")
    (folder / "notes.txt").write_text("not DICOM")
    outside = root / "outside.dcm"
    shutil.copy(str(get_testdata_file("CT_small.dcm")), outside)
    os.symlink(outside, folder / "link.dcm")
    return folder


async def test_upload_a_folder_then_find_it(
    fresh_service: LocalService, server_for: Callable[..., MCPServer], tmp_path: Path
) -> None:
    folder = _input_folder(tmp_path)
    datastore_id = fresh_service.client().create_datastore(datastoreName="uploads")["datastoreId"]
    ct = dcmread(str(get_testdata_file("CT_small.dcm")))
    server = server_for(fresh_service, allow_write=True, input_dir=folder, datastore_id=datastore_id)
    async with Client(server) as client:
        result = await call(client, "upload_dicom_files")
        outside = error_of(await call(client, "upload_dicom_files", {"path": "../outside.dcm"}))
        found = ok(await call(client, "search_dicom", {"match": {"StudyInstanceUID": ct.StudyInstanceUID}}))
        series = ok(await call(client, "search_dicom", {"level": "series", "match": {"Modality": "MR"}}))
    answer = ok(result)
    by_file = {f["file"]: f for f in answer["files"]}
    assert answer["stored"] == 2 and answer["failed"] == 2
    assert by_file["scans/ct.dcm"]["stored"] and by_file["scans/MR of Doe.dcm"]["stored"]
    assert by_file["notes.txt"]["reason"] == "not a DICOM Part 10 file"
    assert by_file["link.dcm"]["reason"] == "leads outside the input folder"
    assert outside["type"] == "validation_error"
    assert [r["study_instance_uid"] for r in found["results"]] == [ct.StudyInstanceUID]
    assert found["results"][0]["patient_name"] == str(ct.PatientName)
    assert len(series["results"]) == 1


async def test_upload_names_files_by_pseudonym_under_redact_phi(
    fresh_service: LocalService, server_for: Callable[..., MCPServer], tmp_path: Path
) -> None:
    folder = _input_folder(tmp_path)
    datastore_id = fresh_service.client().create_datastore(datastoreName="uploads")["datastoreId"]
    server = server_for(fresh_service, allow_write=True, input_dir=folder, datastore_id=datastore_id, redact_phi=True)
    async with Client(server) as client:
        result = await call(client, "upload_dicom_files", {"path": "scans"})
    answer = ok(result)
    assert answer["stored"] == 2
    assert "Doe" not in text_of(result) + str(result.structured_content)
    assert all(f["file"].startswith("FILE-") for f in answer["files"])


async def test_uploads_are_off_without_an_input_folder_and_absent_when_read_only(
    fresh_service: LocalService, server_for: Callable[..., MCPServer], tmp_path: Path
) -> None:
    datastore_id = fresh_service.client().create_datastore(datastoreName="uploads")["datastoreId"]
    async with Client(server_for(fresh_service, allow_write=True, datastore_id=datastore_id)) as client:
        refused = error_of(await call(client, "upload_dicom_files"))
    async with Client(server_for(fresh_service, input_dir=tmp_path, datastore_id=datastore_id)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert refused["type"] == "validation_error" and "--input-dir" in refused["next_step"]
    assert "upload_dicom_files" not in names and "search_dicom" in names


def _instances(root: Path, names: list[str], **attributes: str) -> Path:
    """Copies of pydicom's CT_small.dcm (with `attributes` set) as separate instances (new SOP Instance UIDs),
    one file per name."""
    folder = root / "incoming"
    folder.mkdir()
    ct = dcmread(str(get_testdata_file("CT_small.dcm")))
    for keyword, value in attributes.items():
        setattr(ct, keyword, value)
    for name in names:
        ct.SOPInstanceUID = ct.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ct.save_as(folder / name)
    return folder


async def test_a_failed_batch_marks_its_files_and_the_upload_goes_on(
    fresh_service: LocalService, server_for: Callable[..., MCPServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upload, "BATCH_FILES", 1)  # one STOW-RS request per file
    folder = _instances(tmp_path, ["1.dcm", "2.dcm", "3.dcm"])
    datastore_id = fresh_service.client().create_datastore(datastoreName="uploads")["datastoreId"]
    fresh_service.faults.add("StoreDICOM", "InternalServerException", message="Injected failure", after=1)
    async with Client(server_for(fresh_service, allow_write=True, input_dir=folder, datastore_id=datastore_id)) as c:
        result = await call(c, "upload_dicom_files")
        found = ok(await call(c, "search_dicom", {"level": "instances"}))
    answer = ok(result)
    by_file = {f["file"]: f for f in answer["files"]}
    assert (answer["stored"], answer["failed"]) == (2, 1)
    assert by_file["1.dcm"]["stored"] and by_file["3.dcm"]["stored"]
    assert by_file["2.dcm"] == {
        "file": "2.dcm",
        "stored": False,
        "reason": "upload failed (service_error): Injected failure",
    }
    assert "failed: 2.dcm: upload failed (service_error)" in text_of(result)
    assert len(found["results"]) == 2


async def test_after_access_is_denied_the_rest_is_not_attempted(
    fresh_service: LocalService, server_for: Callable[..., MCPServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upload, "BATCH_FILES", 1)
    folder = _instances(tmp_path, ["Doe 1.dcm", "Doe 2.dcm", "Doe 3.dcm"])
    datastore_id = fresh_service.client().create_datastore(datastoreName="uploads")["datastoreId"]
    server = server_for(fresh_service, allow_write=True, input_dir=folder, datastore_id=datastore_id, redact_phi=True)
    denied = "User is not authorized to StoreDICOM"
    fresh_service.faults.add("StoreDICOM", "AccessDeniedException", message=denied, after=1)
    async with Client(server) as client:
        result = await call(client, "upload_dicom_files")
        fresh_service.faults.add("StoreDICOM", "AccessDeniedException", message=denied)
        first_refused = error_of(await call(client, "upload_dicom_files"))
    answer = ok(result)
    assert (answer["stored"], answer["failed"]) == (1, 2)
    assert sorted(str(f.get("reason")) for f in answer["files"]) == [
        "None",
        "not attempted after an earlier batch failed (access_denied)",
        f"upload failed (access_denied): {denied}",
    ]
    assert fresh_service.faults.fired("StoreDICOM") == 2, "one refusal per call: nothing sent after it"
    assert "Doe" not in text_of(result) + str(result.structured_content)
    assert all(f["file"].startswith("FILE-") for f in answer["files"])
    assert first_refused["type"] == "access_denied" and first_refused["message"] == denied


async def test_signed_requests_pass_a_service_that_verifies_signatures_and_a_wrong_secret_is_refused(
    tmp_path: Path,
) -> None:
    description = "CT CHEST W CONTRAST"
    folder = _instances(
        tmp_path, ["a.dcm"], PatientName="DOE^JANE Q", StudyDescription=description, StudyDate="20240315"
    )
    key, secret = "AKIDSIGNED", "right-secret"
    with LocalService(tmp_path / "signed", credentials={key: secret}) as service:
        datastore_id = service.client().create_datastore(datastoreName="signed")["datastoreId"]
        settings = settings_for(
            service.endpoint, tmp_path / "out", allow_write=True, input_dir=folder, datastore_id=datastore_id
        )
        async with Client(build_server(settings.with_overrides(local_credentials=(key, secret)))) as client:
            uploaded = ok(await call(client, "upload_dicom_files"))
            match = {"PatientName": "DOE^JANE*", "StudyDescription": "CT CHEST W*", "StudyDate": "2024-03-01-20240331"}
            studies = ok(await call(client, "search_dicom", {"match": match}))
            series = ok(await call(client, "search_dicom", {"level": "series", "match": {"PatientName": "DOE^JANE Q"}}))
        async with Client(build_server(settings.with_overrides(local_credentials=(key, "wrong-secret")))) as client:
            search_refused = error_of(await call(client, "search_dicom"))
            upload_refused = error_of(await call(client, "upload_dicom_files"))
    assert uploaded["stored"] == 1
    assert [r["study_description"] for r in studies["results"]] == [description]
    assert [r["study_description"] for r in series["results"]] == [description]  # an includefield attribute
    for refused in (search_refused, upload_refused):
        assert (refused["type"], refused["aws_error_code"]) == ("auth_error", "InvalidSignatureException")
