"""Import jobs: start (optionally waiting, with progress), inspect with per-file results, list."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from ..aws.s3 import read_s3_text, split_s3_uri
from ..dicom.compare import compare_versions
from ..errors import HealthImagingError
from ..runtime import Runtime
from ..text_table import text_table
from .common import DatastoreIdArg, MaxResultsArg, NextTokenArg, iso, more
from .registry import IDEMPOTENT_WRITE, READ_ONLY, ToolOutput, Toolset

if TYPE_CHECKING:
    from mypy_boto3_medical_imaging.type_defs import DicomMetadataMappingTypeDef, ImportConfigurationTypeDef

toolset = Toolset()

S3UriArg = Annotated[str, Field(pattern=r"^s3://[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9](/.*)?$", max_length=1024)]
JobIdArg = Annotated[str, Field(pattern=r"^[0-9a-z]{1,32}$")]
MAX_FAILURES_SHOWN = 20
MAX_IMAGE_SETS_COMPARED = 10
MAX_UIDS_SHOWN = 10


class MetadataMapping(BaseModel):
    """JSON metadata applied to a study (or one series) during import."""

    study_instance_uid: Annotated[str, Field(pattern=r"^[0-9.]+$")]
    series_instance_uid: Annotated[str | None, Field(pattern=r"^[0-9.]+$")] = None
    metadata_file_path: Annotated[str, Field(description="Path of the JSON file, relative to input_s3_uri.")]


class FileFailure(BaseModel):
    input_file: str
    error_type: str | None = None
    message: str | None = None


class AttributeChange(BaseModel):
    level: str
    attribute: str
    old: Any = None
    new: Any = None
    series_instance_uid: str | None = None


class ImageSetChange(BaseModel):
    """What the job did to an image set that existed before it (HealthImaging's job output does not say)."""

    image_set_id: str
    from_version: str | None = None
    to_version: str
    added_instances: int = 0
    overwritten_instances: int = 0
    overwritten_sop_instance_uids: list[str] = Field(default_factory=list)
    changed_attributes: list[AttributeChange] = Field(default_factory=list)
    error: str | None = None

    def render(self) -> list[str]:
        if self.error:
            return [f"  image set {self.image_set_id} v{self.to_version}: could not compare versions: {self.error}"]
        lines = [
            f"  image set {self.image_set_id} v{self.from_version} → v{self.to_version}: "
            f"{self.added_instances} instance(s) added, {self.overwritten_instances} overwritten"
        ]
        lines += [
            f"    {c.level} {c.attribute}: {json.dumps(c.old, ensure_ascii=False)} → "
            f"{json.dumps(c.new, ensure_ascii=False)}"
            for c in self.changed_attributes
        ]
        return lines


class ImportOutput(BaseModel):
    scanned_files: int | None = None
    imported_files: int | None = None
    files_with_customer_error: int | None = None
    files_with_server_error: int | None = None
    image_sets: list[dict[str, Any]] = Field(default_factory=list)
    failures: list[FileFailure] = Field(default_factory=list)
    changed_image_sets: list[ImageSetChange] | None = None
    not_compared: int | None = None
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
    def from_api(cls, p: Mapping[str, Any]) -> ImportJob:
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
                if r.changed_image_sets:
                    lines.append("Existing image sets this job changed (compared with their version before the job):")
                    lines += [line for change in r.changed_image_sets for line in change.render()]
                if r.not_compared:
                    lines.append(f"  ({r.not_compared} more merged image set(s) not compared)")
        elif self.status in ("SUBMITTED", "IN_PROGRESS"):
            lines.append("Still running: call get_dicom_import_job later (include_results=true when done).")
        return "\n".join(lines)


def read_results(rt: Runtime, output_uri: str) -> ImportOutput:
    """The job summary and per-file failures HealthImaging wrote under the job's output folder."""
    folder = output_uri if output_uri.endswith("/") else output_uri + "/"
    try:
        summary = json.loads(read_s3_text(rt.clients, folder + "job-output-manifest.json")).get("jobSummary", {})
        failures_text = (
            read_s3_text(rt.clients, folder + "FAILURE/failure.ndjson")
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


def _version_before(
    rt: Runtime, datastore_id: str, image_set_id: str, to_version: int, submitted_at: Any
) -> int | None:
    """The newest version made before the job was submitted; None when the job created the image set."""
    found: int | None = None
    for version in rt.aws.all_image_set_versions(datastore_id, image_set_id):
        number, made = int(version["versionId"]), version.get("updatedAt") or version.get("createdAt")
        if number < to_version and made is not None and made < submitted_at and (found is None or number > found):
            found = number
    return found


def _compare(
    rt: Runtime, datastore_id: str, image_set_id: str, to_version: int, submitted_at: Any
) -> ImageSetChange | None:
    try:
        from_version = _version_before(rt, datastore_id, image_set_id, to_version, submitted_at)
        if from_version is None:
            return None
        before, after = (rt.documents.get(datastore_id, image_set_id, str(v)) for v in (from_version, to_version))
        changes = compare_versions(before, after)
    except (HealthImagingError, ValueError) as exc:  # the import itself is reported all the same
        error = exc.message if isinstance(exc, HealthImagingError) else "the metadata could not be read"
        return ImageSetChange(image_set_id=image_set_id, to_version=str(to_version), error=error[:300])
    return ImageSetChange(
        image_set_id=image_set_id,
        from_version=str(from_version),
        to_version=str(to_version),
        added_instances=len(changes.added),
        overwritten_instances=len(changes.overwritten),
        overwritten_sop_instance_uids=changes.overwritten[:MAX_UIDS_SHOWN],
        changed_attributes=[
            AttributeChange(level=c.level, attribute=c.keyword, old=c.old, new=c.new, series_instance_uid=c.series_uid)
            for c in changes.attributes
        ],
    )


def changed_image_sets(
    rt: Runtime, datastore_id: str, submitted_at: Any, image_sets: list[dict[str, Any]]
) -> tuple[list[ImageSetChange], int | None]:
    """Existing image sets the job merged into: each compared with its version from before the job.

    HealthImaging's job output gives only each image set's new version, so the change is derived here from
    ListImageSetVersions (the newest version older than the job) and the two versions' metadata.
    """
    merged = [s for s in image_sets if int(s.get("imageSetVersion") or 1) > 1]
    compared = [
        _compare(rt, datastore_id, s["imageSetId"], int(s["imageSetVersion"]), submitted_at)
        for s in merged[:MAX_IMAGE_SETS_COMPARED]
    ]
    skipped = len(merged) - MAX_IMAGE_SETS_COMPARED
    return [c for c in compared if c is not None], (skipped if skipped > 0 else None)


def redacted(rt: Runtime, job: ImportJob) -> ImportJob:
    """The job as an answer may show it: under --redact-phi no file name, S3 key or patient value in clear.

    S3 keys become FILE pseudonyms (people name files and folders after patients), in URIs and wherever a key
    of this job appears in free text; attribute values get their own pseudonyms."""
    redaction = rt.redaction
    if not redaction.enabled:
        return job
    job = job.model_copy(deep=True)
    results = job.results
    failures = results.failures if results is not None else []
    prefixes = [split_s3_uri(uri)[1] for uri in (job.input_s3_uri, job.output_s3_uri) if uri]
    keys = prefixes + [f.input_file for f in failures]

    def text(value: str | None) -> str | None:
        return None if value is None else redaction.text(value, keys)

    def uri(value: str | None) -> str | None:
        return None if value is None else redaction.s3_uris(value)

    def value(attribute: str, data: Any) -> Any:
        return redaction.value({attribute: data})[attribute]

    job.input_s3_uri, job.output_s3_uri = uri(job.input_s3_uri), uri(job.output_s3_uri)
    job.job_name, job.message = text(job.job_name), text(job.message)
    for failure in failures:
        failure.input_file, failure.message = redaction.s3_key(failure.input_file), text(failure.message)
    if results is not None:
        results.output_error = text(results.output_error)
        for change in results.changed_image_sets or []:
            change.error = text(change.error)
            for attribute in change.changed_attributes:
                attribute.old = value(attribute.attribute, attribute.old)
                attribute.new = value(attribute.attribute, attribute.new)
    return job


def _job(rt: Runtime, datastore_id: str, job_id: str, include_results: bool) -> ImportJob:
    props = rt.aws.get_dicom_import_job(datastore_id, job_id)
    job = ImportJob.from_api(props)
    if include_results and job.status in ("COMPLETED", "FAILED") and job.output_s3_uri:
        results = job.results = read_results(rt, job.output_s3_uri)
        if results.output_error is None and props.get("submittedAt") is not None:
            changes, results.not_compared = changed_image_sets(
                rt, datastore_id, props["submittedAt"], results.image_sets
            )
            results.changed_image_sets = changes or None
    return redacted(rt, job)


def _import_configuration(mappings: list[MetadataMapping]) -> ImportConfigurationTypeDef:
    def mapping(m: MetadataMapping) -> DicomMetadataMappingTypeDef:
        entry: DicomMetadataMappingTypeDef = {
            "studyInstanceUID": m.study_instance_uid,
            "metadataFilePath": m.metadata_file_path,
        }
        if m.series_instance_uid:
            entry["seriesInstanceUID"] = m.series_instance_uid
        return entry

    return {"dicomJsonMetadataImportConfiguration": {"dicomMetadataMappings": [mapping(m) for m in mappings]}}


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
    configuration = _import_configuration(metadata_mappings) if metadata_mappings else None
    start = partial(
        rt.aws.start_dicom_import_job,
        datastore_id,
        input_s3_uri,
        output_s3_uri,
        data_access_role_arn,
        job_name=job_name,
        input_owner_account_id=input_owner_account_id,
        configuration=configuration,
        client_token=client_token,
    )
    started = await anyio.to_thread.run_sync(start)
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
        return f"{text_table(rows, ['job_id', 'name', 'status', 'submitted', 'ended'])}\n{more(self.next_token)}"


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
    page = rt.aws.list_dicom_import_jobs(datastore_id, job_status, max_results, next_token)
    jobs = [redacted(rt, ImportJob.from_api(j)) for j in page.get("jobSummaries", [])]
    return ImportJobList(datastore_id=datastore_id, jobs=jobs, next_token=page.get("nextToken"))
