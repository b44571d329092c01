"""DICOM export through MCP: Part 10 files an independent toolkit (Debian's dcmtk) accepts, with every attribute of
the original files and their pixels (pydicom re-reading both), encapsulated as stored or transcoded."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pydicom
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from pydicom.dataset import Dataset

from healthimaging_mcp.imaging.dataset_pixels import iter_frames
from healthimaging_mcp.local.samples.collection import BUNDLED_FILES, load_bundled, rehome, synth_ct_series
from healthimaging_mcp.local.service import LocalService
from tests.support.dicom_files import part10
from tests.support.mcp_testkit import MODES, call, error_of, ok, text_of
from tests.support.tooling import missing_dcmtk, require

pytestmark = pytest.mark.anyio

CT_SLICES_EXPORTED = 3
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.91"}
# Rebuilt rather than copied: the file meta group, the pixel data (and its encoding), the trailing padding.
NOT_COMPARED = {"PixelData", "DataSetTrailingPadding"}
# May change with the pixel encoding (colour frames stored as HTJ2K, or decoded to RGB); their pixels are compared.
COLOUR_ENCODING = {"PhotometricInterpretation", "PlanarConfiguration"}


@dataclass(frozen=True)
class Exported:
    encapsulated: Path
    transcoded: Path
    originals: dict[str, Dataset]  # SOP Instance UID → the original file, re-read


def originals() -> dict[str, Dataset]:
    """The sample collection's files as imported (the first CT slices and every bundled file), re-read."""
    datasets = [*islice(synth_ct_series(), CT_SLICES_EXPORTED)]
    datasets += [rehome(load_bundled(sample), sample) for sample in BUNDLED_FILES]
    return {str(ds.SOPInstanceUID): pydicom.dcmread(io.BytesIO(part10(ds))) for ds in datasets}


@pytest.fixture(scope="module")
def exported(read_server: MCPServer, sample_facts: Any, output_root: Path) -> Exported:
    """Every sample image set exported twice (the 128-slice CT: its first slices), encapsulated and transcoded."""

    async def run() -> None:
        async with Client(read_server) as client:
            for transcode in (False, True):
                folder = "export-transcoded" if transcode else "export-encapsulated"
                for summary in sample_facts.summaries:
                    arguments: dict[str, Any] = {"destination": folder, "uncompressed": transcode}
                    if summary["imageSetId"] != sample_facts.ct_image_set_id:
                        ok(await call(client, "export_dicom", {**arguments, "image_set_id": summary["imageSetId"]}))
                for _, sop_uid, _ in sample_facts.ct_instances()[:CT_SLICES_EXPORTED]:
                    ok(
                        await call(
                            client,
                            "export_dicom",
                            {**arguments, "image_set_id": sample_facts.ct_image_set_id, "sop_instance_uid": sop_uid},
                        )
                    )

    anyio.run(run)
    return Exported(output_root / "export-encapsulated", output_root / "export-transcoded", originals())


def files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.dcm"))


def pairs(exported: Exported, folder: Path) -> Iterator[tuple[Dataset, Dataset]]:
    for path in files(folder):
        copy = pydicom.dcmread(path)
        yield exported.originals[str(copy.SOPInstanceUID)], copy


def reference_pixels(original: Dataset) -> np.ndarray:
    """The original's pixels as pydicom decodes them; our decoder for the one file pydicom cannot decode."""
    try:
        return original.pixel_array
    except RuntimeError:  # 12-bit JPEG extended: none of pydicom's plugins reads it
        frames = list(iter_frames(original))
        return frames[0] if len(frames) == 1 else np.stack(frames)


def differences(original: Dataset, copy: Dataset, path: str = "") -> list[str]:
    """Attributes of `original` missing from `copy` or different there (sequences item by item), and extra ones."""
    found = []
    for element in original:
        name = f"{path}{element.keyword or element.tag}"
        if element.tag.group == 0x0002 or element.keyword in NOT_COMPARED | COLOUR_ENCODING:
            continue
        if element.tag not in copy:
            found.append(f"{name} missing")
        elif element.VR == "SQ":
            items = copy[element.tag].value
            if len(items) != len(element.value):
                found.append(f"{name} has {len(items)} items, not {len(element.value)}")
            for index, (left, right) in enumerate(zip(element.value, items, strict=False)):
                found += differences(left, right, f"{name}[{index}].")
        elif copy[element.tag].value != element.value:
            found.append(f"{name} differs")
    found += [f"{path}{e.keyword or e.tag} added" for e in copy if e.tag not in original and e.tag.group != 2]
    return found


def test_every_instance_is_exported_once_per_encoding(exported: Exported) -> None:
    expected = set(exported.originals)
    for folder in (exported.encapsulated, exported.transcoded):
        assert {pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID for path in files(folder)} == expected


def test_dcmtk_accepts_every_exported_file(exported: Exported) -> None:
    require(missing_dcmtk())
    paths = [str(path) for folder in (exported.encapsulated, exported.transcoded) for path in files(folder)]
    checked = subprocess.run(["dcmftest", *paths], capture_output=True, text=True, check=False)
    assert checked.stdout.count("yes: ") == len(paths), checked.stdout
    for path in paths:
        dumped = subprocess.run(["dcmdump", "-q", "-dc", path], capture_output=True, text=True, check=False)
        assert dumped.returncode == 0 and not dumped.stderr.strip(), (path, dumped.stderr)
        assert "(7fe0,0010)" in dumped.stdout or "(0008,0016) UI =RTPlanStorage" in dumped.stdout


def test_exported_files_carry_every_attribute_of_the_originals(exported: Exported) -> None:
    for folder in (exported.encapsulated, exported.transcoded):
        for original, copy in pairs(exported, folder):
            found = differences(original, copy)
            # The importer keeps no pixel data below the top level (an icon image's pixels): nor can the export.
            assert found in ([], ["IconImageSequence[0].PixelData missing"]), (original.SOPInstanceUID, found)


def test_encapsulated_export_keeps_the_stored_frames_and_their_pixels(exported: Exported) -> None:
    syntaxes = set()
    for original, copy in pairs(exported, exported.encapsulated):
        syntaxes.add(str(copy.file_meta.TransferSyntaxUID))
        if "PixelData" not in original:
            continue
        np.testing.assert_array_equal(reference_pixels(copy), reference_pixels(original), str(original.SOPInstanceUID))
        if str(original.file_meta.TransferSyntaxUID) in {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.91"}:
            assert copy.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID  # kept as imported
            assert copy.PhotometricInterpretation == original.PhotometricInterpretation
    # HTJ2K for what HealthImaging transcodes, the lossy originals as they came, binary segmentation uncompressed.
    assert {"1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.91"} <= syntaxes


def test_transcoded_export_is_explicit_vr_little_endian_with_the_original_pixels(exported: Exported) -> None:
    for original, copy in pairs(exported, exported.transcoded):
        assert copy.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
        if "PixelData" not in original:
            continue
        expected, pixels = reference_pixels(original), copy.pixel_array
        assert pixels.shape == expected.shape
        if str(original.file_meta.TransferSyntaxUID) in LOSSY:  # two JPEG decoders may round differently
            difference = np.abs(pixels.astype(float) - expected.astype(float))
            assert difference.max() <= 4 and difference.mean() < 0.5, original.SOPInstanceUID
        else:
            np.testing.assert_array_equal(pixels, expected, str(original.SOPInstanceUID))


def file_of(folder: Path, exported: Exported, transfer_syntax: str) -> tuple[Dataset, Path]:
    for path in files(folder):
        copy = pydicom.dcmread(path, stop_before_pixels=True)
        original = exported.originals[str(copy.SOPInstanceUID)]
        if original.file_meta.TransferSyntaxUID == transfer_syntax:
            return original, path
    raise AssertionError(f"no exported file from {transfer_syntax}")


def test_dcmtk_decodes_the_exported_pixels(exported: Exported, tmp_path: Path) -> None:
    require(missing_dcmtk())
    # A JPEG baseline file kept encapsulated: dcmtk's own JPEG decoder gives the original's pixels.
    original, path = file_of(exported.encapsulated, exported, "1.2.840.10008.1.2.4.50")
    decompressed = tmp_path / "decompressed.dcm"
    subprocess.run(["dcmdjpeg", str(path), str(decompressed)], check=True, capture_output=True)
    by_dcmtk = pydicom.dcmread(decompressed).pixel_array
    difference = np.abs(by_dcmtk.astype(float) - original.pixel_array.astype(float))
    assert by_dcmtk.shape == original.pixel_array.shape and difference.mean() < 1.0
    # A transcoded CT slice: dcmtk renders it (raw PGM of rows × columns).
    ct, path = file_of(exported.transcoded, exported, "1.2.840.10008.1.2.1")
    picture = tmp_path / "slice.pgm"
    subprocess.run(["dcmj2pnm", "--write-raw-pnm", str(path), str(picture)], check=True, capture_output=True)
    header = picture.read_bytes()[:20].split()
    assert header[0] == b"P5" and (int(header[1]), int(header[2])) == (ct.Columns, ct.Rows)


@pytest.mark.parametrize("mode", MODES)
async def test_a_study_export_reports_progress_per_instance(
    mode: str, read_server: MCPServer, sample_facts: Any, output_root: Path
) -> None:
    study_uid = next(
        s["DICOMTags"]["DICOMStudyInstanceUID"]
        for s in sample_facts.summaries
        if s["DICOMTags"].get("DICOMStudyDescription") == "MR BRAIN WO CONTRAST"
    )
    seen: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total))

    async with Client(read_server, mode=mode) as client:
        result = await call(
            client,
            "export_dicom",
            {"study_instance_uid": study_uid, "destination": f"study-{mode}"},
            progress_callback=progress,
        )
    data = ok(result)
    written = files(output_root / f"study-{mode}")
    assert data["files"] == len(written) == 5 and data["report"]["bytes"] == sum(p.stat().st_size for p in written)
    assert {pydicom.dcmread(p, stop_before_pixels=True).StudyInstanceUID for p in written} == {study_uid}
    assert seen == [(i, 5) for i in range(1, 6)]
    assert "Exported 5 DICOM file(s)" in text_of(result) and str(output_root / f"study-{mode}") in text_of(result)


async def test_export_to_s3_needs_write_mode(
    sample_service: LocalService, sample_facts: Any, moto_s3: Any, server_for: Callable[..., MCPServer]
) -> None:
    moto_s3.create_bucket(Bucket="exports")
    image_set_id = next(
        s["imageSetId"] for s in sample_facts.summaries if s["imageSetId"] != sample_facts.ct_image_set_id
    )
    arguments = {"image_set_id": image_set_id, "destination": "s3://exports/dicom/run-1"}
    async with Client(server_for(sample_service)) as client:
        refused = await call(client, "export_dicom", arguments)
    async with Client(server_for(sample_service, allow_write=True)) as client:
        uploaded = ok(await call(client, "export_dicom", arguments))
    assert error_of(refused)["type"] == "validation_error" and "--allow-write" in error_of(refused)["message"]
    keys = [o["Key"] for o in moto_s3.list_objects_v2(Bucket="exports", Prefix="dicom/run-1/")["Contents"]]
    assert len(keys) == uploaded["files"] >= 1 and all(key.endswith(".dcm") for key in keys)
    body = moto_s3.get_object(Bucket="exports", Key=keys[0])["Body"].read()
    assert pydicom.dcmread(io.BytesIO(body)).SOPInstanceUID == Path(keys[0]).stem
    assert uploaded["destination"] == "s3://exports/dicom/run-1"


@pytest.mark.parametrize("mode", MODES)
async def test_export_refuses_what_it_cannot_do_with_typed_errors(
    mode: str,
    read_server: MCPServer,
    sample_facts: Any,
    sample_service: LocalService,
    server_for: Callable[..., MCPServer],
) -> None:
    ct = sample_facts.ct_image_set_id
    async with Client(read_server, mode=mode) as client:
        neither = await call(client, "export_dicom", {})
        both = await call(client, "export_dicom", {"image_set_id": ct, "study_instance_uid": "1.2.3"})
        unknown_instance = await call(client, "export_dicom", {"image_set_id": ct, "sop_instance_uid": "1.2.3"})
        unknown_set = await call(client, "export_dicom", {"image_set_id": "0" * 32})
        unknown_study = await call(client, "export_dicom", {"study_instance_uid": "1.2.3.4"})
        not_a_uid = await call(client, "export_dicom", {"study_instance_uid": "1.2.x"})
        escaping = await call(client, "export_dicom", {"image_set_id": ct, "destination": "../outside"})
    async with Client(server_for(sample_service, output_dir=None), mode=mode) as client:
        no_folder = await call(
            client, "export_dicom", {"image_set_id": ct, "sop_instance_uid": sample_facts.ct_instances()[0][1]}
        )
    for result in (neither, both, unknown_instance, not_a_uid, escaping, no_folder):
        assert error_of(result)["type"] == "validation_error", text_of(result)
    assert error_of(unknown_set)["type"] == "not_found" and error_of(unknown_study)["type"] == "not_found"
    assert "output folder" in error_of(no_folder)["message"]
