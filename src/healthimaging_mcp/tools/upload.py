"""upload_dicom_files: DICOM files from the input folder into a datastore through STOW-RS, with per-file results.

Files are read only inside `--input-dir` (symbolic links leading out are refused), checked to be DICOM Part 10
(identity read with pydicom), and sent in multipart requests of at most BATCH_BYTES (HealthImaging takes up to
1 GB a request). The service's answer lists stored and failed SOP instances; each file's result is matched by its
SOP Instance UID. A batch the service refuses (413, 5xx, 429 after retries) marks its files failed with the
error's message and the upload goes on; after an auth or access error the rest is not attempted (on the first
batch, nothing being stored, the error is raised). File names may name patients: they are never logged, and are
pseudonyms under --redact-phi.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import pydicom
from mcp.server.mcpserver import Context
from pydantic import BaseModel

from ..aws.dicomweb import STOW_LIMIT_BYTES, StowAnswer
from ..dicom.phi_rules import FILE
from ..errors import ErrorType, HealthImagingError
from ..files import input_files
from ..runtime import Runtime
from .common import DatastoreIdArg
from .registry import WRITE, ToolOutput, Toolset

toolset = Toolset()

BATCH_BYTES = 64 << 20
BATCH_FILES = 200
MAX_ROWS = 50  # per-file rows in an answer (failures first); the totals count every file
_SOP = "00081155"
_FAILED, _STORED, _REASON, _COMMENT = "00081198", "00081199", "00081197", "00000902"
_EVERY_BATCH_FAILS = {ErrorType.AUTH, ErrorType.ACCESS_DENIED}  # later batches are not attempted


class FileResult(BaseModel):
    file: str
    stored: bool
    reason: str | None = None


class UploadResult(ToolOutput):
    datastore_id: str
    stored: int
    failed: int
    files: list[FileResult]

    def render(self) -> str:
        lines = [f"Uploaded to datastore {self.datastore_id}: {self.stored} file(s) stored, {self.failed} failed."]
        lines += [f"  failed: {f.file}: {f.reason}" for f in self.files if not f.stored]
        shown = len(self.files)
        if shown < self.stored + self.failed:
            lines.append(f"  ({self.stored + self.failed - shown} more file(s) not listed)")
        if self.stored:
            lines.append("Find them with search_dicom (e.g. match PatientName or StudyInstanceUID).")
        return "\n".join(lines)


def _sop_uid(path: Path) -> str | None:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
    except Exception:
        return None
    uid = ds.get("SOPInstanceUID")
    return str(uid) if uid else None


def _batches(files: list[tuple[str, Path, str]]) -> list[list[tuple[str, Path, str]]]:
    batches: list[list[tuple[str, Path, str]]] = []
    size = 0
    for item in files:
        length = item[1].stat().st_size
        if not batches or size + length > BATCH_BYTES or len(batches[-1]) >= BATCH_FILES:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += length
    return batches


def _sequence(dataset: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dataset.get(tag, {}).get("Value", [])
    return items


def _first(item: dict[str, Any], tag: str) -> Any:
    values = item.get(tag, {}).get("Value") or [None]
    return values[0]


def _unstored(batch: list[tuple[str, Path, str]], reason: str) -> list[FileResult]:
    return [FileResult(file=name, stored=False, reason=reason) for name, _, _ in batch]


def _answered(batch: list[tuple[str, Path, str]], answer: StowAnswer) -> list[FileResult]:
    """Each file's result, by its SOP Instance UID in the STOW-RS answer's stored and failed sequences."""
    stored = {_first(item, _SOP) for item in _sequence(answer.dataset, _STORED)}
    failed = {_first(item, _SOP): item for item in _sequence(answer.dataset, _FAILED)}
    results = []
    for name, _, uid in batch:
        if uid in failed:
            item = failed[uid]
            reason = _first(item, _COMMENT) or f"failure reason {_first(item, _REASON)}"
            results.append(FileResult(file=name, stored=False, reason=str(reason)))
        else:
            results.append(FileResult(file=name, stored=uid in stored, reason=None if uid in stored else "no answer"))
    return results


def _upload(rt: Runtime, datastore_id: str, path: str | None, progress: Callable[[int, int], None]) -> list[FileResult]:
    found, refused = input_files(rt.settings.input_dir, path)
    results = [FileResult(file=name, stored=False, reason="leads outside the input folder") for name in refused]
    ready: list[tuple[str, Path, str]] = []
    for name, real in found:
        uid = _sop_uid(real)
        if uid is None:
            results.append(FileResult(file=name, stored=False, reason="not a DICOM Part 10 file"))
        elif real.stat().st_size > STOW_LIMIT_BYTES:
            results.append(FileResult(file=name, stored=False, reason="larger than STOW-RS's 1 GB limit"))
        else:
            ready.append((name, real, uid))
    batches = _batches(ready)
    for done, batch in enumerate(batches, 1):
        try:
            answer = rt.dicomweb.store(datastore_id, [real.read_bytes() for _, real, _ in batch])
        except HealthImagingError as error:
            if error.error_type in _EVERY_BATCH_FAILS and done == 1:
                raise  # nothing was stored: the typed error says it best
            results += _unstored(batch, f"upload failed ({error.error_type.value}): {error.message}")
            if error.error_type in _EVERY_BATCH_FAILS:
                later = [item for rest in batches[done:] for item in rest]
                results += _unstored(later, f"not attempted after an earlier batch failed ({error.error_type.value})")
                break
        else:
            results += _answered(batch, answer)
        progress(done, len(batches))
    return results


@toolset.tool(WRITE)
async def upload_dicom_files(
    rt: Runtime, ctx: Context, path: str | None = None, datastore_id: DatastoreIdArg = None
) -> UploadResult:
    """Store DICOM files from the input folder (path: a file or subfolder in it; default all) via STOW-RS."""
    datastore_id = rt.resolve_datastore(datastore_id)

    def progress(done: int, total: int) -> None:
        anyio.from_thread.run(ctx.report_progress, done, total, f"{done} of {total} batches uploaded")

    results = await anyio.to_thread.run_sync(_upload, rt, datastore_id, path, progress)
    for result in results:
        result.file = rt.redaction.pseudonym(FILE, result.file)
    stored = sum(r.stored for r in results)
    listed = sorted(results, key=lambda r: r.stored)[:MAX_ROWS]
    return UploadResult(datastore_id=datastore_id, stored=stored, failed=len(results) - stored, files=listed)
