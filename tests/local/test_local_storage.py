"""Storage and processes: restarts lose nothing, failed commits leave no half image set, the CLI commands work."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from healthimaging_mcp.cli import main
from healthimaging_mcp.local.service import LocalService
from tests.support.dicom_files import part10
from tests.support.local_kit import Store, read_metadata, update_document
from tests.support.local_testdata import CORRUPT_DICOM, SeriesSpec, series

ROLE = "arn:aws:iam::123456789012:role/ImportRole"
SECOND = SeriesSpec(key="series-b", series_number=2)


def test_a_restart_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "persistent"
    with LocalService(data_dir) as service:
        store = Store(service, tags={"keep": "me"})
        store.load(series(SeriesSpec(), 2, frames=2))
        (summary,) = store.search()
        image_set_id = summary["imageSetId"]
        renamed = update_document({"Patient": {"DICOM": {"PatientName": "AFTER^RESTART"}}})
        store.update(
            image_set_id, "1", updateImageSetMetadataUpdates={"DICOMUpdates": {"updatableAttributes": renamed}}
        )
        before = {version: store.metadata(image_set_id, version) for version in ("1", "2")}
        frames = {
            frame["ID"]: store.frame(image_set_id, frame["ID"])["imageFrameBlob"].read()
            for series_obj in before["2"]["Study"]["Series"].values()
            for instance in series_obj["Instances"].values()
            for frame in instance["ImageFrames"]
        }
        versions_before = store.client.list_image_set_versions(datastoreId=store.datastore_id, imageSetId=image_set_id)
        datastore_before = store.client.get_datastore(datastoreId=store.datastore_id)["datastoreProperties"]
        datastore_id = store.datastore_id
        (summary,) = store.search()

    with LocalService(data_dir) as service:
        client = service.client()
        assert client.get_datastore(datastoreId=datastore_id)["datastoreProperties"] == datastore_before
        (summary_after,) = client.search_image_sets(datastoreId=datastore_id)["imageSetsMetadataSummaries"]
        assert summary_after == summary
        versions_after = client.list_image_set_versions(datastoreId=datastore_id, imageSetId=image_set_id)
        assert versions_after["imageSetPropertiesList"] == versions_before["imageSetPropertiesList"]
        restored = Store.__new__(Store)
        restored.service, restored.client, restored.datastore_id = service, client, datastore_id
        for version, document in before.items():
            assert restored.metadata(image_set_id, version) == document
        for frame_id, data in frames.items():
            assert restored.frame(image_set_id, frame_id)["imageFrameBlob"].read() == data
        arn = datastore_before["datastoreArn"]
        assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"keep": "me"}


def test_a_failed_commit_leaves_no_half_image_set(fresh_service: LocalService, moto_s3: Any) -> None:
    store = Store(fresh_service)
    bucket = "crash-" + os.urandom(4).hex()
    moto_s3.create_bucket(Bucket=bucket)
    for ds in [*series(SeriesSpec(), 2), *series(SECOND, 2)]:
        moto_s3.put_object(Bucket=bucket, Key=f"in/{ds.SeriesNumber}/{ds.SOPInstanceUID}.dcm", Body=part10(ds))

    def crash_on_second_series(conn: sqlite3.Connection, image_set_id: str) -> None:
        # the image set, version and frame rows are written by now
        document_series = conn.execute("SELECT series_uid FROM image_sets WHERE id = ?", (image_set_id,)).fetchone()
        if document_series[0] == SECOND.series_uid:
            raise OSError("disk full (simulated)")

    with fresh_service.backend.image_sets.faulting(crash_on_second_series):
        job_id = store.client.start_dicom_import_job(
            datastoreId=store.datastore_id,
            dataAccessRoleArn=ROLE,
            inputS3Uri=f"s3://{bucket}/in/",
            outputS3Uri=f"s3://{bucket}/out/",
        )["jobId"]
        deadline = time.monotonic() + 30
        while (
            props := store.client.get_dicom_import_job(datastoreId=store.datastore_id, jobId=job_id)["jobProperties"]
        )["jobStatus"] not in ("COMPLETED", "FAILED"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert props["jobStatus"] == "COMPLETED"
    (summary,) = store.search()
    assert summary["DICOMTags"]["DICOMSeriesInstanceUID"] == SeriesSpec().series_uid
    assert summary["DICOMTags"]["DICOMNumberOfStudyRelatedInstances"] == 2
    folder = props["outputS3Uri"].removeprefix(f"s3://{bucket}/")
    manifest = json.loads(moto_s3.get_object(Bucket=bucket, Key=folder + "job-output-manifest.json")["Body"].read())
    assert manifest["jobSummary"]["numberOfImportedFiles"] == 2
    assert manifest["jobSummary"]["numberOfFilesWithServerError"] == 2
    failures = moto_s3.get_object(Bucket=bucket, Key=folder + "FAILURE/failure.ndjson")["Body"].read().decode()
    lines = [json.loads(line) for line in failures.splitlines()]
    assert {line["inputFile"].split("/")[1] for line in lines} == {"2"}
    assert {line["exception"]["exceptionType"] for line in lines} == {"InternalServerException"}
    store.load(series(SECOND, 2))  # the same files import cleanly once storage works again
    assert len(store.search()) == 2


def _serve(data_dir: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "healthimaging_mcp", "local", "serve", "--data-dir", str(data_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_local_serve_prints_its_endpoint_answers_boto3_and_stops_on_signals(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    process = _serve(tmp_path / "served", "--port", "0", "--credentials", "AKIDSERVE:serve-secret")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"endpoint: (http://127\.0\.0\.1:(\d+))\n", line)
        assert match, line
        client = boto3.session.Session().client(
            "medical-imaging",
            endpoint_url=match[1],
            region_name="us-east-1",
            aws_access_key_id="AKIDSERVE",
            aws_secret_access_key="serve-secret",
            config=Config(inject_host_prefix=False),
        )
        datastore_id = client.create_datastore(datastoreName="served", clientToken=str(uuid.uuid4()))["datastoreId"]
        assert client.get_datastore(datastoreId=datastore_id)["datastoreProperties"]["datastoreName"] == "served"
        process.send_signal(stop_signal)
        stdout, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert stdout == ""


def test_local_import_and_seed_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "commands"
    folder = tmp_path / "dicom"
    (folder / "nested").mkdir(parents=True)
    for ds in series(SeriesSpec(), 3):
        (folder / "nested" / f"{ds.InstanceNumber}.dcm").write_bytes(part10(ds))
    (folder / "broken.dcm").write_bytes(CORRUPT_DICOM)

    assert main(["local", "seed", "--data-dir", str(data_dir)]) == 0
    assert "imported 146/146 files into 19 image sets" in capsys.readouterr().out
    with LocalService(data_dir) as service:
        client = service.client()
        (sample,) = client.list_datastores()["datastoreSummaries"]
        assert sample["datastoreName"] == "sample"
        target = client.create_datastore(datastoreName="target")["datastoreId"]
        status = main(["local", "import", "--data-dir", str(data_dir), "--datastore-id", target, str(folder)])
        captured = capsys.readouterr()
        assert status == 1, "one file failed"
        assert "scanned 4, imported 3, failed 1, image sets 1" in captured.out
        assert "broken.dcm" in captured.err
        (summary,) = client.search_image_sets(datastoreId=target)["imageSetsMetadataSummaries"]
        assert summary["DICOMTags"]["DICOMNumberOfStudyRelatedInstances"] == 3
        assert len(client.search_image_sets(datastoreId=sample["datastoreId"])["imageSetsMetadataSummaries"]) == 19

        again = tmp_path / "again"
        again.mkdir()
        first, second = series(SeriesSpec(), 2)
        (again / "cut.dcm").write_bytes(part10(first)[:-100])
        second.PatientName = "RENAMED^PATIENT"
        (again / "renamed.dcm").write_bytes(part10(second))
        status = main(["local", "import", "--data-dir", str(data_dir), "--datastore-id", target, str(again)])
        captured = capsys.readouterr()
        assert status == 1
        assert "scanned 2, imported 1, failed 1, image sets 1" in captured.out
        assert f"image set {summary['imageSetId']} version 2: 0 instance(s) added, 1 overwritten" in captured.out
        assert "Patient PatientName: 'TEST^PATIENT' → 'RENAMED^PATIENT'" in captured.out
        cut_reason = "The file is cut short: it ends inside Pixel Data (7FE0,0010), after 28 of its 128 bytes"
        assert f"cut.dcm: {cut_reason}" in captured.err
        versions = [read_metadata(client, target, summary["imageSetId"], version) for version in ("1", "2")]
        instances = [v["Study"]["Series"][SeriesSpec().series_uid]["Instances"] for v in versions]
        assert instances[1][first.SOPInstanceUID] == instances[0][first.SOPInstanceUID]
    assert main(["local", "seed", "--data-dir", str(data_dir)]) == 0
    assert "already seeded" in capsys.readouterr().out
    assert main(["local", "import", "--data-dir", str(data_dir), "--datastore-id", "0" * 32, str(folder)]) == 1
    assert "ResourceNotFoundException" in capsys.readouterr().err


def test_seeding_cut_short_is_completed_on_the_next_start(tmp_path: Path) -> None:
    from functools import partial
    from itertools import islice

    from healthimaging_mcp.local.backend import LocalBackend
    from healthimaging_mcp.local.config import LocalConfig
    from healthimaging_mcp.local.samples.collection import sample_datasets
    from healthimaging_mcp.local.samples.seeding import dataset_bytes, find_or_create_datastore, seed_samples

    backend = LocalBackend(LocalConfig(tmp_path / "data"))
    try:
        datastore_id = find_or_create_datastore(backend, "sample")  # a first start that was stopped early
        first = [(path, partial(dataset_bytes, ds)) for path, ds in islice(sample_datasets(), 3)]
        backend.import_files(datastore_id, first)
        completed = seed_samples(backend)
        again = seed_samples(backend)
        count = backend.db.one("SELECT COUNT(*) AS n FROM image_sets WHERE datastore_id = ?", datastore_id)
    finally:
        backend.close()
    assert completed.datastore_id == datastore_id and completed.report is not None
    assert len(completed.report.successes) == 146 and not completed.report.failures
    assert count is not None and count["n"] == 19
    assert again.report is None  # done once, not again
