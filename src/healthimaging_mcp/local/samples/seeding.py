"""Seed the local service with the sample collection (and, for benchmarks, a large synthetic series)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial

from pydicom.dataset import Dataset

from ..backend import LocalBackend
from ..http.auth import Caller
from ..imports.batch import ImportReport, Loader
from .collection import large_series, sample_datasets

SAMPLE_DATASTORE = "sample"
LARGE_DATASTORE = "large-series"
LOCAL_CALLER = Caller("local", "us-east-1")


@dataclass
class SeedResult:
    datastore_id: str
    report: ImportReport | None  # None when the datastore already held data
    seconds: float = 0.0

    def describe(self) -> str:
        if self.report is None:
            return f"datastore {self.datastore_id} already seeded"
        report = self.report
        rate = len(report.successes) / self.seconds if self.seconds else 0.0
        return (
            f"datastore {self.datastore_id}: imported {len(report.successes)}/{report.scanned} files into "
            f"{len(report.image_sets)} image sets in {self.seconds:.1f}s ({rate:.0f} instances/s)"
            + (f", {len(report.failures)} failed" if report.failures else "")
        )


@dataclass
class SeedingProgress:
    """How far a seeding running in another thread is; `done` is set by whoever runs it, however it ends."""

    image_sets_total: int | None = None  # known once the sample files are generated
    image_sets_imported: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def describe(self) -> str:
        if self.image_sets_total is None:
            return "generating the sample files"
        return f"{self.image_sets_imported} of {self.image_sets_total} image sets imported"


def dataset_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def find_or_create_datastore(backend: LocalBackend, name: str) -> str:
    for row in backend.db.all("SELECT id FROM datastores WHERE name = ? AND status = 'ACTIVE'", name):
        return str(row["id"])
    created = backend.datastores.create_datastore({"datastoreName": name, "clientToken": f"seed-{name}"}, LOCAL_CALLER)
    return str(created["datastoreId"])


def _marker(datastore_id: str) -> str:
    return f"seeded:{datastore_id}"


def _is_seeded(backend: LocalBackend, datastore_id: str) -> bool:
    return backend.db.one("SELECT 1 FROM local_markers WHERE name = ?", _marker(datastore_id)) is not None


def _by_image_set(datasets: Iterable[tuple[str, Dataset]]) -> list[list[tuple[str, Dataset]]]:
    """The files of each image set (one per study and series), smallest first: most become searchable soonest."""
    groups: dict[tuple[str, str], list[tuple[str, Dataset]]] = {}
    for path, ds in datasets:
        groups.setdefault((str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)), []).append((path, ds))
    return sorted(groups.values(), key=len)


def _add(report: ImportReport, part: ImportReport) -> None:
    report.scanned += part.scanned
    report.successes += part.successes
    report.failures += part.failures
    report.warnings += part.warnings
    report.image_sets += part.image_sets


def _seed(
    backend: LocalBackend, name: str, datasets: Iterable[tuple[str, Dataset]], progress: SeedingProgress | None
) -> SeedResult:
    """Import `datasets` once, image set by image set; a seeding cut short (e.g. the process was stopped) is
    completed next time."""
    progress = progress or SeedingProgress()
    datastore_id = find_or_create_datastore(backend, name)
    if _is_seeded(backend, datastore_id):
        return SeedResult(datastore_id, None)
    started = time.perf_counter()
    groups = _by_image_set(datasets)
    progress.image_sets_total = len(groups)
    report = ImportReport()
    for group in groups:
        files: list[tuple[str, Loader]] = [(path, partial(dataset_bytes, ds)) for path, ds in group]
        _add(report, backend.import_files(datastore_id, files))
        progress.image_sets_imported += 1
    if not report.failures:  # a local bookkeeping row, invisible through the HealthImaging API
        with backend.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO local_markers VALUES (?, '1')", (_marker(datastore_id),))
    return SeedResult(datastore_id, report, time.perf_counter() - started)


def seed_samples(backend: LocalBackend, progress: SeedingProgress | None = None) -> SeedResult:
    """Create the `sample` datastore and import the sample collection, unless that was done before."""
    return _seed(backend, SAMPLE_DATASTORE, sample_datasets(), progress)


def seed_large_series(backend: LocalBackend, n_instances: int = 1000) -> SeedResult:
    """A `large-series` datastore with one series of `n_instances` small CT instances (benchmarks)."""
    datasets = ((f"large/{i:05d}.dcm", ds) for i, ds in enumerate(large_series(n_instances)))
    return _seed(backend, LARGE_DATASTORE, datasets, None)
