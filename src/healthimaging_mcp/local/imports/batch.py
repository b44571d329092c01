"""Run an import over a batch of files (from S3 or local disk) and report per file, as the service does."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..store.blobs import BlobStore
from .assembler import ImageSetAssembler, ImportedImageSet
from .file_checks import IngestError
from .ingest import PreparedInstance, prepare_instance

log = logging.getLogger(__name__)

Loader = Callable[[], bytes]


@dataclass
class ImportReport:
    scanned: int = 0
    successes: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    image_sets: list[ImportedImageSet] = field(default_factory=list)

    @property
    def customer_errors(self) -> int:
        return sum(1 for f in self.failures if f["exception"]["exceptionType"] == "ValidationException")

    @property
    def server_errors(self) -> int:
        return len(self.failures) - self.customer_errors

    def image_sets_summary(self) -> list[dict[str, Any]]:
        return [
            {
                "imageSetId": s.image_set_id,
                "imageSetVersion": s.version,
                "isPrimary": s.is_primary,
                "numberOfMatchedSOPInstances": len(s.sop_instance_uids),
            }
            for s in self.image_sets
        ]


def _prepare(name: str, load: Loader, storage_format: str, blobs: BlobStore) -> PreparedInstance | dict[str, Any]:
    try:
        return prepare_instance(load(), storage_format, blobs)
    except IngestError as exc:
        return {"inputFile": name, "exception": {"exceptionType": exc.exception_type, "message": str(exc)}}
    except Exception as exc:
        log.warning("import of one file failed: %s", type(exc).__name__)
        message = f"{type(exc).__name__}: could not process the file"
        return {
            "inputFile": name,
            "exception": {"exceptionType": "InternalServerException", "message": message},
        }


def run_import(
    assembler: ImageSetAssembler,
    blobs: BlobStore,
    datastore_id: str,
    storage_format: str,
    files: Iterable[tuple[str, Loader]],
) -> ImportReport:
    """Prepare files in parallel (a bad file fails alone, its frames go to `blobs`), then assemble image sets."""
    report = ImportReport()
    prepared: list[tuple[str, PreparedInstance]] = []
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers, thread_name_prefix="ingest") as pool:
        futures = [(name, pool.submit(_prepare, name, load, storage_format, blobs)) for name, load in files]
        for name, future in futures:
            report.scanned += 1
            outcome = future.result()
            if isinstance(outcome, dict):
                report.failures.append(outcome)
            else:
                prepared.append((name, outcome))
    report.image_sets, failed = assembler.assemble(datastore_id, [p for _, p in prepared])
    by_sop = {uid: s for s in report.image_sets for uid in s.sop_instance_uids}
    failed_by_sop = {uid: f for f in failed for uid in f.sop_instance_uids}
    for name, instance in prepared:
        failure = failed_by_sop.get(instance.normalized.sop_instance_uid)
        if failure is not None:
            exception = {"exceptionType": failure.exception_type, "message": failure.message}
            report.failures.append({"inputFile": name, "exception": exception})
            continue
        image_set = by_sop[instance.normalized.sop_instance_uid]
        response = {
            "imageSetId": image_set.image_set_id,
            "imageSetVersion": image_set.version,
            "isPrimary": image_set.is_primary,
        }
        report.successes.append({"inputFile": name, "importResponse": response})
        if instance.warnings:
            report.warnings.append({"inputFile": name, "importResponse": {**response, "warnings": instance.warnings}})
    return report
