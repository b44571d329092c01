"""Import jobs: start (optionally waiting, with progress), inspect with per-file results, list."""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from ..errors import HealthImagingError
from ..runtime import Runtime
from .common import DatastoreIdArg, MaxResultsArg, NextTokenArg, iso, more, table
from .registry import IDEMPOTENT_WRITE, READ_ONLY, ToolOutput, Toolset

toolset = Toolset()

S3UriArg = Annotated[str, Field(pattern=r"^s3://[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9](/.*)?$", max_length=1024)]
JobIdArg = Annotated[str, Field(pattern=r"^[0-9a-z]{1,32}$")]
MAX_FAILURES_SHOWN = 20


class MetadataMapping(BaseModel):
    """JSON metadata applied to a study (or one series) during import."""

    study_instance_uid: Annotated[str, Field(pattern=r"^[0-9.]+$")]
    series_instance_uid: Annotated[str | None, Field(pattern=r"^[0-9.]+$")] = None
    metadata_file_path: Annotated[str, Field(description="Path of the JSON file, relative to input_s3_uri.")]


class FileFailure(BaseModel):
    input_file: str
    error_type: str | None = None
    message: str | None = None


class ImportOutput(BaseModel):
    scanned_files: int | None = None
    imported_files: int | None = None
    files_with_customer_error: int | None = None
    files_with_server_error: int | None = None
    image_sets: list[dict[str, Any]] = Field(default_factory=list)
    failures: list[FileFailure] = Field(default_factory=list)
    output_error: str | None = None


class ImportJob(ToolOutput):
    datastore_id: str
    job_id: str
    job_name: str | None = None
    status: str
    submitted_at: str | None = None
    ended_at: str | None = None
    input_s3_uri: str | None = None
    output_s3_uri: str | None = None
    message: str | None = None
    results: ImportOutput | None = None
    waited_seconds: float | None = None

    @classmethod
    def from_api(cls, p: dict[str, Any]) -> ImportJob:
        return cls(
            datastore_id=p["datastoreId"],
            job_id=p["jobId"],
            job_name=p.get("jobName"),
            status=p["jobStatus"],
            submitted_at=iso(p.get("submittedAt")),
            ended_at=iso(p.get("endedAt")),
            input_s3_uri=p.get("inputS3Uri"),
            output_s3_uri=p.get("outputS3Uri"),
            message=p.get("message"),
        )

    def render(self) -> str:
        lines = [
            f"Import job {self.job_id} ({self.job_name}) is {self.status}"
            + (f": {self.message}" if self.message else "")
        ]
        r = self.results
        if r is not None:
            if r.output_error:
                lines.append(f"Could not read the job output: {r.output_error}")
            else:
                lines.append(
                    f"{r.imported_files}/{r.scanned_files} files imported into {len(r.image_sets)} image set(s); "
                    f"{r.files_with_customer_error} file error(s), {r.files_with_server_error} server error(s)"
                )
                lines += [f"  failed: {f.input_file}: {f.message}" for f in r.failures]
        elif self.status in ("SUBMITTED", "IN_PROGRESS"):
            lines.append("Still running: call get_dicom_import_job later (include_results=true when done).")
        return "\n".join(lines)


def _read_s3_text(rt: Runtime, uri: str) -> str:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body: bytes = rt.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode()


def read_results(rt: Runtime, output_uri: str) -> ImportOutput:
    """The job summary and per-file failures HealthImaging wrote under the job's output folder."""
    folder = output_uri if output_uri.endswith("/") else output_uri + "/"
    try:
        summary = json.loads(_read_s3_text(rt, folder + "job-output-manifest.json")).get("jobSummary", {})
        failures_text = (
            _read_s3_text(rt, folder + "FAILURE/failure.ndjson")
            if summary.get("numberOfFilesWithCustomerError", 0) + summary.get("numberOfFilesWithServerError", 0)
            else ""
        )
    except Exception as exc:  # the job itself may still be fine; say why the details are missing
        error = exc.message if isinstance(exc, HealthImagingError) else f"{type(exc).__name__}: {exc}"
        return ImportOutput(output_error=error[:500])
    failures = []
    for line in failures_text.splitlines()[:MAX_FAILURES_SHOWN]:
        item = json.loads(line)
        exception = item.get("exception", {})
        failures.append(
            FileFailure(
                input_file=item.get("inputFile", "?"),
                error_type=exception.get("exceptionType"),
                message=exception.get("message"),
            )
        )
    return ImportOutput(
        scanned_files=summary.get("numberOfScannedFiles"),
        imported_files=summary.get("numberOfImportedFiles"),
        files_with_customer_error=summary.get("numberOfFilesWithCustomerError"),
        files_with_server_error=summary.get("numberOfFilesWithServerError"),
        image_sets=summary.get("imageSetsSummary", []),
        failures=failures,
    )


def _job(rt: Runtime, datastore_id: str, job_id: str, include_results: bool) -> ImportJob:
    job = ImportJob.from_api(rt.call("get_dicom_import_job", datastoreId=datastore_id, jobId=job_id)["jobProperties"])
    if include_results and job.status in ("COMPLETED", "FAILED") and job.output_s3_uri:
        job.results = read_results(rt, job.output_s3_uri)
    return job


@toolset.tool(IDEMPOTENT_WRITE)
async def start_dicom_import_job(
    rt: Runtime,
    input_s3_uri: S3UriArg,
    output_s3_uri: S3UriArg,
    data_access_role_arn: Annotated[
        str, Field(pattern=r"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$", description="Role HealthImaging assumes.")
    ],
    ctx: Context,
    datastore_id: DatastoreIdArg = None,
    job_name: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9._/#-]{1,64}$")] = None,
    input_owner_account_id: Annotated[str | None, Field(pattern=r"^\d{12}$")] = None,
    metadata_mappings: list[MetadataMapping] | None = None,
    client_token: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = None,
    wait: bool = True,
    wait_seconds: Annotated[int, Field(ge=0, le=900, description="Upper bound on waiting.")] = 300,
) -> ImportJob:
    """Import DICOM Part 10 files from S3 into a datastore. By default waits for the job (with progress) and
    reports per-file failures."""
    datastore_id = rt.resolve_datastore(datastore_id)
    configuration = None
    if metadata_mappings:
        configuration = {
            "dicomJsonMetadataImportConfiguration": {
                "dicomMetadataMappings": [
                    {
                        "studyInstanceUID": m.study_instance_uid,
                        "metadataFilePath": m.metadata_file_path,
                        **({"seriesInstanceUID": m.series_instance_uid} if m.series_instance_uid else {}),
                    }
                    for m in metadata_mappings
                ]
            }
        }
    params: dict[str, Any] = dict(
        datastoreId=datastore_id,
        jobName=job_name,
        dataAccessRoleArn=data_access_role_arn,
        inputS3Uri=input_s3_uri,
        outputS3Uri=output_s3_uri,
        inputOwnerAccountId=input_owner_account_id,
        importConfiguration=configuration,
    )
    if client_token:
        params["clientToken"] = client_token
    started = await anyio.to_thread.run_sync(partial(rt.call, "start_dicom_import_job", **params))
    job_id = started["jobId"]
    begin, delay = time.monotonic(), 1.0

    async def report(status: str) -> None:
        elapsed = time.monotonic() - begin
        await ctx.report_progress(elapsed, wait_seconds, f"Import job {job_id} is {status} ({elapsed:.0f}s)")

    job = await anyio.to_thread.run_sync(_job, rt, datastore_id, job_id, False)
    while wait and job.status in ("SUBMITTED", "IN_PROGRESS") and time.monotonic() - begin < wait_seconds:
        await report(job.status)
        await anyio.sleep(min(delay, max(0.0, wait_seconds - (time.monotonic() - begin))))
        delay = min(delay * 1.5, 10.0)
        job = await anyio.to_thread.run_sync(_job, rt, datastore_id, job_id, False)
    if job.status in ("COMPLETED", "FAILED"):
        job = await anyio.to_thread.run_sync(_job, rt, datastore_id, job_id, True)
    if wait:
        await report(job.status)
        job.waited_seconds = round(time.monotonic() - begin, 1)
    return job


@toolset.tool(READ_ONLY)
def get_dicom_import_job(
    rt: Runtime,
    job_id: JobIdArg,
    datastore_id: DatastoreIdArg = None,
    include_results: bool = True,
) -> ImportJob:
    """Import job status; once finished, the image sets made and per-file failures (from its S3 output)."""
    return _job(rt, rt.resolve_datastore(datastore_id), job_id, include_results)


class ImportJobList(ToolOutput):
    datastore_id: str
    jobs: list[ImportJob]
    next_token: str | None = None

    def render(self) -> str:
        rows = [[j.job_id, j.job_name or "", j.status, j.submitted_at or "", j.ended_at or ""] for j in self.jobs]
        return f"{table(rows, ['job_id', 'name', 'status', 'submitted', 'ended'])}\n{more(self.next_token)}"


@toolset.tool(READ_ONLY)
def list_dicom_import_jobs(
    rt: Runtime,
    datastore_id: DatastoreIdArg = None,
    job_status: Literal["SUBMITTED", "IN_PROGRESS", "COMPLETED", "FAILED"] | None = None,
    max_results: MaxResultsArg = None,
    next_token: NextTokenArg = None,
) -> ImportJobList:
    """Import jobs of a datastore, newest first."""
    datastore_id = rt.resolve_datastore(datastore_id)
    page = rt.call(
        "list_dicom_import_jobs",
        datastoreId=datastore_id,
        jobStatus=job_status,
        maxResults=max_results,
        nextToken=next_token,
    )
    jobs = [ImportJob.from_api(j) for j in page.get("jobSummaries", [])]
    return ImportJobList(datastore_id=datastore_id, jobs=jobs, next_token=page.get("nextToken"))
