"""StartDICOMImportJob, GetDICOMImportJob, ListDICOMImportJobs."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .arns import new_id
from .auth import Caller
from .base import BackendBase
from .errors import ConflictError, NotFoundError, QuotaExceededError
from .jobs import ImportRunner, job_output_uri
from .paging import fingerprint, keyset_page

MAX_CONCURRENT_JOBS = 100


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


class JobOps(BackendBase):
    runner: ImportRunner

    def start_dicom_import_job(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        datastore = self.datastore_row(p["datastoreId"])
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
        job_id, now = new_id(), self.now()
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
        self.runner.submit(job_id)
        return {"datastoreId": datastore["id"], "jobId": job_id, "jobStatus": "SUBMITTED", "submittedAt": now}

    def _job(self, datastore_id: str, job_id: str) -> sqlite3.Row:
        self.datastore_row(datastore_id, require_active=False)
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
        datastore = self.datastore_row(p["datastoreId"], require_active=False)
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
