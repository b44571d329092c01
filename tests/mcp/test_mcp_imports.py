"""DICOM import jobs through MCP: start and wait with progress, per-file failures from S3, job listing."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult
from pydicom.data import get_testdata_file

from healthimaging_mcp.local.samples.collection import synth_ct_series
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.runtime import Runtime
from healthimaging_mcp.tools.imports import FileFailure, ImportJob, ImportOutput, redacted
from tests.support.dicom_files import part10
from tests.support.mcp_testkit import (
    MODES,
    assert_short_rendering,
    call,
    error_of,
    ok,
    page_through,
    settings_for,
    text_of,
)

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Expected explicit VR")]

ROLE = "arn:aws:iam::123456789012:role/HealthImagingImportRole"
CORRUPT = b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00garbage-not-an-element"


@pytest.fixture
def bucket(moto_s3: Any) -> str:
    """An S3 bucket holding three CT slices and one corrupt file under input/."""
    name = f"import-{uuid.uuid4().hex[:12]}"
    moto_s3.create_bucket(Bucket=name)
    for index, ds in enumerate(synth_ct_series(3, seed=7)):
        moto_s3.put_object(Bucket=name, Key=f"input/ct/{index}.dcm", Body=part10(ds))
    moto_s3.put_object(Bucket=name, Key="input/broken/corrupt.dcm", Body=CORRUPT)
    return name


@pytest.mark.parametrize("mode", MODES)
async def test_an_import_waits_with_progress_and_reports_the_failed_file(
    mode: str, fresh_service: LocalService, bucket: str, server_for: Callable[..., MCPServer]
) -> None:
    datastore_id = fresh_service.client().create_datastore(datastoreName="imports")["datastoreId"]
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(server_for(fresh_service, allow_write=True), mode=mode) as client:
        result = await call(
            client,
            "start_dicom_import_job",
            {
                "input_s3_uri": f"s3://{bucket}/input/",
                "output_s3_uri": f"s3://{bucket}/output/",
                "data_access_role_arn": ROLE,
                "job_name": "mcp-test",
                "wait_seconds": 60,
            },
            progress_callback=on_progress,
        )
        job = ok(result)
        again = await call(client, "get_dicom_import_job", {"job_id": job["job_id"]})
        brief = await call(client, "get_dicom_import_job", {"job_id": job["job_id"], "include_results": False})
    assert job["status"] == "COMPLETED", text_of(result)
    assert job["datastore_id"] == datastore_id and job["waited_seconds"] is not None
    results = job["results"]
    assert results.get("output_error") is None, results
    assert (results["scanned_files"], results["imported_files"], results["files_with_customer_error"]) == (4, 3, 1)
    (failure,) = results["failures"]
    assert failure["input_file"].endswith("broken/corrupt.dcm") and failure["message"]
    assert len(results["image_sets"]) == 1
    text = assert_short_rendering(result)
    assert "COMPLETED" in text and "3/4 files imported" in text and "corrupt.dcm" in text
    assert progress and all(message and job["job_id"] in message for _, _, message in progress)
    assert "COMPLETED" in (progress[-1][2] or "")
    assert [done for done, _, _ in progress] == sorted(done for done, _, _ in progress)
    assert ok(again)["results"] == results
    assert "results" not in ok(brief)
    imported = fresh_service.client().search_image_sets(datastoreId=datastore_id)["imageSetsMetadataSummaries"]
    assert [s["imageSetId"] for s in imported] == [results["image_sets"][0]["imageSetId"]]


async def test_an_import_can_return_at_once_and_jobs_page_to_the_end(
    fresh_service: LocalService, bucket: str, server_for: Callable[..., MCPServer]
) -> None:
    fresh_service.client().create_datastore(datastoreName="imports")
    arguments = {
        "input_s3_uri": f"s3://{bucket}/input/ct/",
        "output_s3_uri": f"s3://{bucket}/output/",
        "data_access_role_arn": ROLE,
        "wait": False,
    }
    async with Client(server_for(fresh_service, allow_write=True)) as client:
        started = [ok(await call(client, "start_dicom_import_job", arguments)) for _ in range(3)]
        jobs, pages = await page_through(client, "list_dicom_import_jobs", {"max_results": 1}, "jobs")
        bad_role = await call(client, "start_dicom_import_job", {**arguments, "data_access_role_arn": "admin"})
    assert all("waited_seconds" not in job and "results" not in job for job in started)
    assert {j["job_id"] for j in jobs} == {j["job_id"] for j in started}
    assert pages == 3
    assert error_of(bad_role)["type"] == "validation_error"


def import_arguments(bucket: str, prefix: str) -> dict[str, Any]:
    return {
        "input_s3_uri": f"s3://{bucket}/{prefix}",
        "output_s3_uri": f"s3://{bucket}/output/",
        "data_access_role_arn": ROLE,
        "wait_seconds": 60,
    }


def frame_bytes(service: LocalService, datastore_id: str, image_set_id: str) -> dict[str, bytes]:
    client = service.client()
    document = json.loads(
        gzip.decompress(
            client.get_image_set_metadata(datastoreId=datastore_id, imageSetId=image_set_id)[
                "imageSetMetadataBlob"
            ].read()
        )
    )
    return {
        frame["ID"]: client.get_image_frame(
            datastoreId=datastore_id, imageSetId=image_set_id, imageFrameInformation={"imageFrameId": frame["ID"]}
        )["imageFrameBlob"].read()
        for series in document["Study"]["Series"].values()
        for instance in series["Instances"].values()
        for frame in instance["ImageFrames"]
    }


@pytest.mark.filterwarnings("ignore:End of file reached before delimiter")
async def test_truncated_copies_are_reported_with_reasons_and_change_nothing(
    fresh_service: LocalService, moto_s3: Any, server_for: Callable[..., MCPServer]
) -> None:
    datastore_id = fresh_service.client().create_datastore(datastoreName="imports")["datastoreId"]
    bucket = f"import-{uuid.uuid4().hex[:12]}"
    moto_s3.create_bucket(Bucket=bucket)
    originals = {name: Path(str(get_testdata_file(name))).read_bytes() for name in ("CT_small.dcm", "JPEG-lossy.dcm")}
    for name, data in originals.items():
        moto_s3.put_object(Bucket=bucket, Key=f"good/{name}", Body=data)
        moto_s3.put_object(Bucket=bucket, Key=f"cut/first-3000/{name}", Body=data[:3000])
        moto_s3.put_object(Bucket=bucket, Key=f"cut/minus-3000/{name}", Body=data[:-3000])
    async with Client(server_for(fresh_service, allow_write=True)) as client:
        good = ok(await call(client, "start_dicom_import_job", import_arguments(bucket, "good/")))
        image_set_ids = [s["imageSetId"] for s in good["results"]["image_sets"]]
        before = {i: frame_bytes(fresh_service, datastore_id, i) for i in image_set_ids}
        result = await call(client, "start_dicom_import_job", import_arguments(bucket, "cut/"))
        cut = ok(result)
    assert len(image_set_ids) == 2 and all(before.values())
    results = cut["results"]
    assert (results["imported_files"], results["files_with_customer_error"]) == (0, 4)
    assert results["image_sets"] == [] and "changed_image_sets" not in results
    reasons = {f["input_file"]: f["message"] for f in results["failures"]}
    assert sorted(reasons) == sorted(f"cut/{cut}/{name}" for cut in ("first-3000", "minus-3000") for name in originals)
    assert all(reason.startswith("The file is cut short") for reason in reasons.values()), reasons
    text = text_of(result)
    assert "0/4 files imported" in text
    assert "cut/minus-3000/CT_small.dcm: The file is cut short: it ends inside Pixel Data (7FE0,0010)" in text
    assert "force" not in text + json.dumps(cut)
    for image_set_id in image_set_ids:
        assert (
            fresh_service.client().get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)["versionId"] == "1"
        )
        assert frame_bytes(fresh_service, datastore_id, image_set_id) == before[image_set_id]


async def reimport_with_a_new_name(
    service: LocalService, moto_s3: Any, bucket: str, server: MCPServer, *, broken_key: str = "again/broken.dcm"
) -> tuple[CallToolResult, CallToolResult, CallToolResult, str]:
    """Import the bucket's CT, then one slice again under a new PatientName plus a broken file; the answers."""
    first_slice = next(iter(synth_ct_series(3, seed=7)))
    first_slice.PatientName = "RENAMED^ALICE"
    moto_s3.put_object(Bucket=bucket, Key="again/renamed.dcm", Body=part10(first_slice))
    moto_s3.put_object(Bucket=bucket, Key=broken_key, Body=CORRUPT)
    async with Client(server) as client:
        first = ok(await call(client, "start_dicom_import_job", import_arguments(bucket, "input/ct/")))
        (image_set,) = first["results"]["image_sets"]
        again = await call(client, "start_dicom_import_job", import_arguments(bucket, "again/"))
        looked_up = await call(client, "get_dicom_import_job", {"job_id": ok(again)["job_id"]})
        listed = await call(client, "list_dicom_import_jobs", {})
    return again, looked_up, listed, image_set["imageSetId"]


async def test_a_reimport_says_which_instances_it_overwrote_and_which_attributes_it_changed(
    fresh_service: LocalService, moto_s3: Any, bucket: str, server_for: Callable[..., MCPServer]
) -> None:
    fresh_service.client().create_datastore(datastoreName="imports")
    server = server_for(fresh_service, allow_write=True)
    again, looked_up, _, image_set_id = await reimport_with_a_new_name(fresh_service, moto_s3, bucket, server)
    results = ok(again)["results"]
    (change,) = results["changed_image_sets"]
    renamed_uid = next(iter(synth_ct_series(3, seed=7))).SOPInstanceUID
    assert change == {
        "image_set_id": image_set_id,
        "from_version": "1",
        "to_version": "2",
        "added_instances": 0,
        "overwritten_instances": 1,
        "overwritten_sop_instance_uids": [renamed_uid],
        "changed_attributes": [
            {"level": "Patient", "attribute": "PatientName", "old": "DEMO^ALICE", "new": "RENAMED^ALICE"}
        ],
    }
    text = assert_short_rendering(again)
    assert f"image set {image_set_id} v1 → v2: 0 instance(s) added, 1 overwritten" in text
    assert 'Patient PatientName: "DEMO^ALICE" → "RENAMED^ALICE"' in text
    assert "again/broken.dcm: The file is cut short or damaged" in text
    assert ok(looked_up)["results"] == results  # the same report later, from the versions kept


async def test_redacted_import_answers_show_no_file_names_keys_or_patient_values(
    fresh_service: LocalService, moto_s3: Any, bucket: str, server_for: Callable[..., MCPServer]
) -> None:
    fresh_service.client().create_datastore(datastoreName="imports")
    server = server_for(fresh_service, allow_write=True, redact_phi=True)
    broken = "dicom/DEMO^BOB_PAT-BOB-002_broken.dcm"
    again, looked_up, listed, _ = await reimport_with_a_new_name(
        fresh_service, moto_s3, bucket, server, broken_key=f"again/{broken}"
    )
    answers = [again, looked_up, listed]
    everything = "\n".join(text_of(a) + json.dumps(ok(a), ensure_ascii=False) for a in answers)
    for secret in ("DEMO^BOB", "PAT-BOB-002", "broken.dcm", "renamed.dcm", "again/", "DEMO^ALICE", "RENAMED^ALICE"):
        assert secret not in everything, secret
    results = ok(again)["results"]
    (failure,) = results["failures"]
    assert re.fullmatch(r"FILE-[0-9A-F]{8}", failure["input_file"])
    assert failure["message"].startswith("The file is cut short or damaged")
    assert re.fullmatch(rf"s3://{bucket}/FILE-[0-9A-F]{{8}}", ok(again)["input_s3_uri"])
    (attribute,) = results["changed_image_sets"][0]["changed_attributes"]
    assert re.fullmatch(r"NAME-[0-9A-F]{8}", attribute["old"]) and re.fullmatch(r"NAME-[0-9A-F]{8}", attribute["new"])
    assert attribute["old"] != attribute["new"]
    assert ok(looked_up)["results"]["failures"] == results["failures"]  # the same pseudonyms every time


def test_redaction_replaces_s3_keys_and_known_patient_values_inside_messages(tmp_path: Path) -> None:
    runtime = Runtime(settings_for("http://127.0.0.1:9", tmp_path, redact_phi=True))
    name = runtime.redaction.pseudonym("NAME", "DOE^JANE")  # a value an earlier answer redacted
    key = "dicom/DOE_JANE/2.dcm"
    job = ImportJob(
        datastore_id="0" * 32,
        job_id="1" * 32,
        job_name="nightly-import",
        status="FAILED",
        input_s3_uri="s3://bucket/dicom/",
        output_s3_uri="s3://bucket/out/",
        message="Unable to read s3://bucket/dicom/DOE_JANE/1.dcm",
        results=ImportOutput(failures=[FileFailure(input_file=key, message=f"{key} of DOE JANE has no pixel data")]),
    )
    shown = redacted(runtime, job)
    file_names = {runtime.redaction.reveal(p) for p in re.findall(r"FILE-[0-9A-F]{8}", shown.model_dump_json())}
    assert file_names == {"dicom/", "out/", "dicom/DOE_JANE/1.dcm", key}
    assert "DOE" not in shown.model_dump_json()
    assert shown.results is not None
    (failure,) = shown.results.failures
    assert failure.message == f"{failure.input_file} of {name} has no pixel data"
    assert shown.message is not None and shown.message.startswith("Unable to read s3://bucket/FILE-")
    assert job.input_s3_uri == "s3://bucket/dicom/"  # the original is left as it was
