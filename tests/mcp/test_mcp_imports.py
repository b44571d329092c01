"""DICOM import jobs through MCP: start and wait with progress, per-file failures from S3, job listing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_testkit import MODES, assert_short_rendering, call, error_of, ok, page_through, part10, text_of

from healthimaging_mcp.local.samples import synth_ct_series
from healthimaging_mcp.local.service import LocalService

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
