"""export_dicom: an instance, an image set (series) or a whole study as DICOM Part 10 files."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Any

import anyio
import anyio.from_thread
from mcp.server.mcpserver import Context
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from ..deploy.auth import Capability
from ..deploy.calls import require, touched
from ..dicom.deidentify import Deidentifier
from ..errors import invalid
from ..files import output_path
from ..runtime import Runtime
from ..workflows.export import (
    Destination,
    ExportItem,
    FolderDestination,
    Progress,
    export_items,
    items_of,
    s3_destination,
)
from ..workflows.inventory import Scope, fetch_documents, find_image_sets, require_some
from .common import DatastoreIdArg, UidValue
from .registry import READ_ONLY, ToolOutput, Toolset

toolset = Toolset()
DEIDENTIFICATION_REPORT = "deidentification-report.json"


class ExportReport(BaseModel):
    bytes: int
    transfer_syntaxes: list[str]
    warnings: list[str] | None = None
    deidentification: dict[str, Any] | None = None
    """What the PS3.15 profile changed (counts by action and attribute; no values), also saved beside the files."""


class ExportResult(ToolOutput):
    destination: str
    files: int
    report: ExportReport

    def render(self) -> str:
        size = f"{self.report.bytes / 1e6:.1f} MB" if self.report.bytes >= 1e5 else f"{self.report.bytes:,} bytes"
        syntaxes = ", ".join(self.report.transfer_syntaxes) or "-"
        lines = [f"Exported {self.files} DICOM file(s), {size}, to {self.destination} (transfer syntax {syntaxes})."]
        deidentified = self.report.deidentification
        if deidentified is not None:
            counts = ", ".join(
                f"{count} {action.replace('_', ' ')}" for action, count in deidentified["actions"].items()
            )
            lines.append(
                f"De-identified ({'; '.join([deidentified['profile'], *deidentified['options']])}): {counts}. "
                f"Report: {DEIDENTIFICATION_REPORT}. The stored image sets were not changed."
            )
        lines += [f"Warning: {warning}" for warning in self.report.warnings or []]
        return "\n".join(lines)


def _within_a_century(days: int | None) -> int | None:
    if days is not None and abs(days) > 36500:
        raise PydanticCustomError("date_shift", "Shift dates by at most 36,500 days")
    return days


def _items(
    rt: Runtime,
    datastore_id: str,
    image_set_id: str | None,
    study_instance_uid: str | None,
    sop_instance_uid: str | None,
) -> list[ExportItem]:
    if (image_set_id is None) == (study_instance_uid is None):
        raise invalid("Give image_set_id (one series, or one instance with sop_instance_uid) or study_instance_uid.")
    if image_set_id is not None:
        return items_of(image_set_id, rt.documents.get(datastore_id, image_set_id), sop_instance_uid)
    if sop_instance_uid is not None:
        raise invalid("sop_instance_uid goes with image_set_id (the image set holding the instance).")
    scope = Scope(study_instance_uid=study_instance_uid)
    primaries = [s for s in find_image_sets(rt.aws, datastore_id, scope) if s.get("isPrimary") is not False]
    require_some(primaries, scope, datastore_id)
    documents = fetch_documents(rt.documents, datastore_id, primaries)
    return [item for s in primaries for item in items_of(s["imageSetId"], documents[s["imageSetId"]])]


def _destination(rt: Runtime, destination: str | None) -> Destination:
    if destination is not None and destination.startswith("s3://"):
        if not rt.settings.allow_write:
            raise invalid(
                "Exporting to S3 writes outside the output folder, which needs a server started with --allow-write.",
                "Export to a folder in the output folder instead, or ask for a server with --allow-write.",
            )
        require(
            Capability.WRITE,
            rt.settings,
            "exporting to S3",
            "Export to a folder in the output folder instead, or ask an administrator for a token with that scope.",
        )
        return s3_destination(rt.clients, destination)
    folder = destination or datetime.now(timezone.utc).strftime("dicom-export-%Y%m%dT%H%M%SZ")
    output_path(rt.settings.output_dir, f"{folder}/check", ".dcm")  # refuses a bad folder before any work
    return FolderDestination(rt.settings.output_dir, folder)


def _export(
    rt: Runtime,
    datastore_id: str,
    items: list[ExportItem],
    destination: Destination,
    uncompressed: bool,
    deidentifier: Deidentifier | None,
    report: Progress,
) -> ExportResult:
    summary = export_items(
        rt.aws, datastore_id, items, destination, transcode=uncompressed, transform=deidentifier, progress=report
    )
    warnings = summary.warnings
    deidentification = None
    if deidentifier is not None:
        deidentification = deidentifier.report.as_json()
        destination.write(DEIDENTIFICATION_REPORT, json.dumps(deidentification, indent=1).encode())
        warnings = [*deidentification["warnings"], *warnings]
    return ExportResult(
        destination=destination.describe(),
        files=summary.files,
        report=ExportReport(
            bytes=summary.bytes,
            transfer_syntaxes=sorted(summary.transfer_syntaxes),
            warnings=warnings or None,
            deidentification=deidentification,
        ),
    )


@toolset.tool(READ_ONLY)
async def export_dicom(
    rt: Runtime,
    ctx: Context,
    image_set_id: Annotated[str | None, Field(pattern=r"^[0-9a-z]{32}$")] = None,
    study_instance_uid: UidValue = None,
    sop_instance_uid: UidValue = None,
    destination: Annotated[str | None, Field(description="Folder or s3:// URI")] = None,
    uncompressed: bool | None = None,
    deidentify: bool | None = None,
    date_shift_days: Annotated[int | None, AfterValidator(_within_a_century)] = None,
    datastore_id: DatastoreIdArg = None,
) -> ExportResult:
    """Save a series (image set), instance or study as DICOM files; deidentify: PS3.15 Basic profile, dates
    removed unless date_shift_days."""
    datastore_id = rt.resolve_datastore(datastore_id)
    if date_shift_days is not None and not deidentify:
        raise invalid("date_shift_days goes with deidentify=true.")
    deidentifier = Deidentifier(date_shift_days) if deidentify else None
    target = _destination(rt, destination)
    items = await anyio.to_thread.run_sync(_items, rt, datastore_id, image_set_id, study_instance_uid, sop_instance_uid)
    touched(datastore_id, {item.image_set_id for item in items})

    def report(done: int, total: int) -> None:
        anyio.from_thread.run(ctx.report_progress, done, total, f"{done} of {total} instances exported")

    return await anyio.to_thread.run_sync(
        _export, rt, datastore_id, items, target, bool(uncompressed), deidentifier, report
    )
