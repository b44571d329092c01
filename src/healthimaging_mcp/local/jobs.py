"""Background import jobs: read DICOM from S3, import, and write the job output tree back to S3."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from .errors import model_message
from .import_run import ImportReport, run_import
from .importer import Importer

log = logging.getLogger(__name__)

S3ClientFactory = Callable[[str], Any]


def default_s3_client(region: str) -> Any:
    """An S3 client from the standard AWS configuration (AWS_ENDPOINT_URL_S3 etc. apply)."""
    return boto3.session.Session().client("s3", region_name=region)


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix


def job_output_uri(output_uri: str, datastore_id: str, job_id: str) -> str:
    base = output_uri if output_uri.endswith("/") else output_uri + "/"
    return f"{base}{datastore_id}-DicomImport-{job_id}/"


class ImportRunner:
    def __init__(self, importer: Importer, workers: int, s3_client: S3ClientFactory = default_s3_client) -> None:
        self.importer = importer
        self.s3_client = s3_client
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="import-job")

    def submit(self, job_id: str) -> None:
        self.pool.submit(self._run_logged, job_id)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _set(self, job_id: str, **fields: Any) -> None:
        with self.importer.db.write() as conn:
            assignments = ", ".join(f"{name} = ?" for name in fields)
            conn.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*fields.values(), job_id))

    def _run_logged(self, job_id: str) -> None:
        try:
            self._run(job_id)
        except Exception as exc:
            log.exception("import job %s crashed", job_id)
            self._set(
                job_id,
                status="FAILED",
                ended_at=self.importer.now(),
                message=model_message(f"Internal error: {type(exc).__name__}"),
            )

    def _run(self, job_id: str) -> None:
        job = self.importer.db.one("SELECT * FROM jobs WHERE id = ?", job_id)
        if job is None:
            return
        self._set(job_id, status="IN_PROGRESS")
        datastore = self.importer.db.one("SELECT * FROM datastores WHERE id = ?", job["datastore_id"])
        if datastore is None:
            self._fail(job_id, "The datastore no longer exists")
            return
        region = datastore["arn"].split(":")[3]
        s3 = self.s3_client(region)
        owner = job["input_owner_account_id"]
        try:
            keys = list(_list_keys(s3, job["input_uri"], owner))
        except Exception as exc:
            self._fail(job_id, f"Unable to read inputS3Uri: {_reason(exc)}")
            return
        bucket, _ = split_s3_uri(job["input_uri"])
        files = [(key, _loader(s3, bucket, key, owner)) for key in keys]
        report = run_import(self.importer, job["datastore_id"], datastore["lossless_storage_format"], files)
        try:
            _write_outputs(s3, job, report)
        except Exception as exc:
            self._fail(job_id, f"Unable to write to outputS3Uri: {_reason(exc)}")
            return
        self._set(job_id, status="COMPLETED", ended_at=self.importer.now())

    def _fail(self, job_id: str, message: str) -> None:
        self._set(job_id, status="FAILED", ended_at=self.importer.now(), message=model_message(message))


def _reason(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return f"{error.get('Code')}: {error.get('Message')}" if error else type(exc).__name__


def _owner(owner: str | None) -> dict[str, str]:
    return {"ExpectedBucketOwner": owner} if owner else {}


def _list_keys(s3: Any, uri: str, owner: str | None) -> Iterator[str]:
    bucket, prefix = split_s3_uri(uri)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **_owner(owner)):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):
                yield item["Key"]


def _loader(s3: Any, bucket: str, key: str, owner: str | None) -> Callable[[], bytes]:
    def load() -> bytes:
        body: bytes = s3.get_object(Bucket=bucket, Key=key, **_owner(owner))["Body"].read()
        return body

    return load


def _write_outputs(s3: Any, job: sqlite3.Row, report: ImportReport) -> None:
    folder = job["job_output_uri"]
    bucket, prefix = split_s3_uri(folder)
    summary = {
        "jobId": job["id"],
        "datastoreId": job["datastore_id"],
        "inputS3Uri": job["input_uri"],
        "outputS3Uri": folder,
        "successOutputS3Uri": f"{folder}SUCCESS/",
        "failureOutputS3Uri": f"{folder}FAILURE/",
        "warningsOutputS3Uri": f"{folder}WARNING/",
        "numberOfScannedFiles": report.scanned,
        "numberOfImportedFiles": len(report.successes),
        "numberOfFilesWithCustomerError": report.customer_errors,
        "numberOfFilesWithServerError": report.server_errors,
        "numberOfGeneratedImageSets": len(report.image_sets),
        "imageSetsSummary": report.image_sets_summary(),
    }
    outputs = {
        "job-output-manifest.json": json.dumps({"jobSummary": summary}, indent=2),
        "SUCCESS/success.ndjson": _ndjson(report.successes),
        "FAILURE/failure.ndjson": _ndjson(report.failures),
        "WARNING/warning.ndjson": _ndjson(report.warnings),
    }
    for name, body in outputs.items():
        s3.put_object(Bucket=bucket, Key=prefix + name, Body=body.encode(), ContentType="application/json")


def _ndjson(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)
