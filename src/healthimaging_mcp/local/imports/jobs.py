"""DICOM import jobs: StartDICOMImportJob, GetDICOMImportJob, ListDICOMImportJobs, and the workers that run
them (read DICOM from S3, import it, write the job output tree back to S3)."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from ...aws.s3 import split_s3_uri
from ..errors import ConflictError, NotFoundError, QuotaExceededError, model_message
from ..http.auth import Caller
from ..store.arns import new_id
from ..store.blobs import BlobStore
from ..store.db import Database, current_time
from ..store.lookups import datastore_row
from ..store.paging import fingerprint, keyset_page
from .assembler import ImageSetAssembler
from .batch import ImportReport, run_import

log = logging.getLogger(__name__)

MAX_CONCURRENT_JOBS = 100


S3ClientFactory = Callable[[str], Any]


def default_s3_client(region: str) -> Any:
    """An S3 client from the standard AWS configuration (AWS_ENDPOINT_URL_S3 etc. apply)."""
    return boto3.session.Session().client("s3", region_name=region)


def job_output_uri(output_uri: str, datastore_id: str, job_id: str) -> str:
    base = output_uri if output_uri.endswith("/") else output_uri + "/"
    return f"{base}{datastore_id}-DicomImport-{job_id}/"


def _summary(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "jobId": row["id"],
        "jobName": row["name"],
        "jobStatus": row["status"],
        "datastoreId": row["datastore_id"],
        "dataAccessRoleArn": row["role_arn"],
        "endedAt": row["ended_at"],
        "submittedAt": row["submitted_at"],
        "message": row["message"],
    }


class ImportJobs:
    """The import job operations; each job runs on a worker thread of its own pool."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        assembler: ImageSetAssembler,
        workers: int,
        s3_client: S3ClientFactory = default_s3_client,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.assembler = assembler
        self.s3_client = s3_client
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="import-job")

    def fail_interrupted(self) -> None:
        """Jobs a previous server left unfinished can never finish: report them FAILED.

        Only the process that runs jobs (the server) does this; a `local import` or `local seed` next to a
        running server must not touch that server's jobs.
        """
        with self.db.write() as conn:
            conn.execute(
                """UPDATE jobs SET status = 'FAILED', ended_at = ?, message = 'Interrupted by a service restart'
                   WHERE status IN ('SUBMITTED', 'IN_PROGRESS')""",
                (current_time(),),
            )

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def start_dicom_import_job(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        datastore = datastore_row(self.db, p["datastoreId"])
        request = fingerprint({k: v for k, v in p.items() if k != "clientToken"})
        existing = self.db.one(
            "SELECT * FROM jobs WHERE client_token = ? AND datastore_id = ?",
            p["clientToken"],
            datastore["id"],
        )
        if existing is not None:
            if existing["request_fingerprint"] != request:
                raise ConflictError("clientToken was already used with different parameters")
            return {
                "datastoreId": datastore["id"],
                "jobId": existing["id"],
                "jobStatus": "SUBMITTED",
                "submittedAt": existing["submitted_at"],
            }
        running = self.db.one(
            "SELECT COUNT(*) AS n FROM jobs WHERE datastore_id = ? AND status IN ('SUBMITTED', 'IN_PROGRESS')",
            datastore["id"],
        )
        if running is not None and running["n"] >= MAX_CONCURRENT_JOBS:
            raise QuotaExceededError(f"At most {MAX_CONCURRENT_JOBS} import jobs may run at once per datastore")
        job_id, now = new_id(), current_time()
        input_uri = p["inputS3Uri"] if p["inputS3Uri"].endswith("/") else p["inputS3Uri"] + "/"
        configuration = p.get("importConfiguration")
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO jobs VALUES (?, ?, ?, 'SUBMITTED', ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?)",
                (
                    job_id,
                    datastore["id"],
                    p.get("jobName") or f"import-{job_id[:8]}",
                    p["dataAccessRoleArn"],
                    input_uri,
                    p["outputS3Uri"],
                    job_output_uri(p["outputS3Uri"], datastore["id"], job_id),
                    now,
                    p["clientToken"],
                    request,
                    json.dumps(configuration) if configuration else None,
                    p.get("inputOwnerAccountId"),
                ),
            )
        self.pool.submit(self._run_logged, job_id)
        return {"datastoreId": datastore["id"], "jobId": job_id, "jobStatus": "SUBMITTED", "submittedAt": now}

    def _job(self, datastore_id: str, job_id: str) -> sqlite3.Row:
        datastore_row(self.db, datastore_id, require_active=False)
        row = self.db.one("SELECT * FROM jobs WHERE id = ? AND datastore_id = ?", job_id, datastore_id)
        if row is None:
            raise NotFoundError(f"Import job {job_id} does not exist in datastore {datastore_id}")
        return row

    def get_dicom_import_job(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        row = self._job(p["datastoreId"], p["jobId"])
        props = _summary(row) | {"inputS3Uri": row["input_uri"], "outputS3Uri": row["job_output_uri"]}
        if row["import_configuration"]:
            props["importConfiguration"] = json.loads(row["import_configuration"])
        return {"jobProperties": props}

    def list_dicom_import_jobs(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        datastore = datastore_row(self.db, p["datastoreId"], require_active=False)
        status = p.get("jobStatus")
        rows, token = keyset_page(
            self.db,
            "jobs",
            "datastore_id = ?" + (" AND status = ?" if status else ""),
            [datastore["id"], status] if status else [datastore["id"]],
            key="submitted_at",
            tie="id",
            descending=True,
            scope=fingerprint("ListDICOMImportJobs", datastore["id"], status),
            next_token=p.get("nextToken"),
            max_results=p.get("maxResults"),
        )
        return {"jobSummaries": [_summary(r) for r in rows], "nextToken": token}

    def _set(self, job_id: str, **fields: Any) -> None:
        with self.db.write() as conn:
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
                ended_at=current_time(),
                message=model_message(f"Internal error: {type(exc).__name__}"),
            )

    def _run(self, job_id: str) -> None:
        job = self.db.one("SELECT * FROM jobs WHERE id = ?", job_id)
        if job is None:
            return
        self._set(job_id, status="IN_PROGRESS")
        datastore = self.db.one("SELECT * FROM datastores WHERE id = ?", job["datastore_id"])
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
        report = run_import(
            self.assembler, self.blobs, job["datastore_id"], datastore["lossless_storage_format"], files
        )
        try:
            _write_outputs(s3, job, report)
        except Exception as exc:
            self._fail(job_id, f"Unable to write to outputS3Uri: {_reason(exc)}")
            return
        self._set(job_id, status="COMPLETED", ended_at=current_time())

    def _fail(self, job_id: str, message: str) -> None:
        self._set(job_id, status="FAILED", ended_at=current_time(), message=model_message(message))


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
