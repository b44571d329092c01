"""De-identified export through MCP: PS3.15 Basic profile copies for sharing, the stored clinical data unchanged."""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from healthimaging_mcp.local.samples.collection import ALICE_MR, BOB_US
from healthimaging_mcp.local.service import LocalService
from tests.support.mcp_testkit import MODES, call, error_of, ok, text_of
from tests.support.tooling import missing_dcmtk, require

pytestmark = pytest.mark.anyio

# What identifies the demo patients and their studies in the originals: none of it may reach a shared file.
IDENTIFYING = [
    "DEMO^ALICE",
    "PAT-ALICE-001",
    "19680314",
    ALICE_MR.accession_number,
    "DEMO^BOB",
    "PAT-BOB-002",
    "19550927",
    BOB_US.accession_number,
    "DEMO GENERAL HOSPITAL",
    "DEMO^REFERRER",
    ALICE_MR.study_instance_uid,
    BOB_US.study_instance_uid,
]


def dicom_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.dcm"))


def by_position(folder: Path) -> dict[tuple[int, int], pydicom.Dataset]:
    return {(int(ds.SeriesNumber), int(ds.InstanceNumber)): ds for ds in map(pydicom.dcmread, dicom_files(folder))}


@pytest.mark.parametrize("mode", MODES)
async def test_a_deidentified_study_export_carries_no_identity_and_the_same_pixels(
    mode: str, read_server: MCPServer, sample_service: LocalService, sample_facts: Any, output_root: Path
) -> None:
    plain, shared = output_root / f"mr-plain-{mode}", output_root / f"mr-shared-{mode}"
    async with Client(read_server, mode=mode) as client:
        ok(
            await call(
                client, "export_dicom", {"study_instance_uid": ALICE_MR.study_instance_uid, "destination": plain.name}
            )
        )
        result = await call(
            client,
            "export_dicom",
            {"study_instance_uid": ALICE_MR.study_instance_uid, "destination": shared.name, "deidentify": True},
        )
    data = ok(result)
    files = dicom_files(shared)
    assert data["files"] == len(files) == 5
    for path in [*files, shared / "deidentification-report.json"]:
        content = path.read_bytes()
        for value in IDENTIFYING:
            assert value.encode() not in content, (path.name, value)
    for value in IDENTIFYING:
        assert value not in text_of(result)
    originals, copies = by_position(plain), by_position(shared)
    assert set(originals) == set(copies)
    assert (
        len({ds.PatientID for ds in copies.values()}) == 1 and len({ds.StudyInstanceUID for ds in copies.values()}) == 1
    )
    for position, copy in copies.items():
        original = originals[position]
        assert copy.PatientIdentityRemoved == "YES" and copy["StudyDate"].is_empty
        assert (
            copy.SOPInstanceUID != original.SOPInstanceUID
            and copy.file_meta.MediaStorageSOPInstanceUID == copy.SOPInstanceUID
        )
        assert not [e for e in copy if e.tag.is_private or e.tag.group == 0x6000]
        assert (copy.Modality, copy.Rows, copy.Columns) == (original.Modality, original.Rows, original.Columns)
        np.testing.assert_array_equal(copy.pixel_array, original.pixel_array)
    report = json.loads((shared / "deidentification-report.json").read_text())
    assert report == data["report"]["deidentification"]
    assert report["instances"] == 5 and report["attributes"]["removed"]["StudyDescription"] == 5
    assert report["actions"]["private_removed"] >= 1 and report["actions"]["overlay_removed"] >= 1
    assert any("do not say whether their pixels carry burned-in text" in w for w in data["report"]["warnings"])
    assert "The stored image sets were not changed" in text_of(result)
    stored = {s["imageSetId"]: s["version"] for s in sample_facts.summaries}  # the export never writes
    client = sample_service.client()
    for image_set_id, version in stored.items():
        assert client.get_image_set(datastoreId=sample_facts.datastore_id, imageSetId=image_set_id)["versionId"] == str(
            version
        )
    require(missing_dcmtk())
    checked = subprocess.run(["dcmftest", *map(str, files)], capture_output=True, text=True, check=False)
    assert checked.stdout.count("yes: ") == 5


async def test_dates_shift_by_the_chosen_offset(read_server: MCPServer, output_root: Path) -> None:
    async with Client(read_server) as client:
        result = await call(
            client,
            "export_dicom",
            {
                "study_instance_uid": BOB_US.study_instance_uid,
                "destination": "us-shifted",
                "deidentify": True,
                "date_shift_days": -10,
            },
        )
        unpaired = await call(
            client, "export_dicom", {"study_instance_uid": BOB_US.study_instance_uid, "date_shift_days": 3}
        )
    data = ok(result)
    expected = (
        date.fromisoformat(f"{BOB_US.date[:4]}-{BOB_US.date[4:6]}-{BOB_US.date[6:]}") - timedelta(days=10)
    ).strftime("%Y%m%d")
    copies = [pydicom.dcmread(path) for path in dicom_files(output_root / "us-shifted")]
    assert len(copies) == data["files"] >= 3
    assert {ds.StudyDate for ds in copies} == {expected}
    assert {ds.StudyTime for ds in copies} == {BOB_US.time}
    assert all(ds.LongitudinalTemporalInformationModified == "MODIFIED" for ds in copies)
    assert "Retain Longitudinal Temporal Information" in text_of(result)
    assert error_of(unpaired)["type"] == "validation_error" and "deidentify" in error_of(unpaired)["message"]
