"""Benchmark data shared by suites: the synthesised series as Part 10 bytes, and a seeded local service."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pydicom

from healthimaging_mcp.local.imports.batch import ImportReport, Loader
from healthimaging_mcp.local.samples.collection import PHANTOM_SLICES, large_series, synth_ct_series
from healthimaging_mcp.local.samples.seeding import dataset_bytes, find_or_create_datastore
from healthimaging_mcp.local.service import LocalService

CT_DATASTORE = "bench-ct"
LARGE_DATASTORE = "bench-large-series"
LARGE_INSTANCES = 1000


@dataclass(frozen=True)
class SeriesFiles:
    """A series as named Part 10 byte strings, generated once so synthesis is never timed."""

    label: str
    files: tuple[tuple[str, bytes], ...]

    @property
    def count(self) -> int:
        return len(self.files)

    @property
    def total_bytes(self) -> int:
        return sum(len(data) for _, data in self.files)

    def loaders(self) -> list[tuple[str, Loader]]:
        return [(name, _constant(data)) for name, data in self.files]


def _constant(data: bytes) -> Loader:
    return lambda: data


@cache
def ct_series_files(n_slices: int = PHANTOM_SLICES) -> SeriesFiles:
    """The synthesised chest CT (512×512 int16 slices) as Part 10 bytes."""
    files = tuple((f"ct/{i:04d}.dcm", dataset_bytes(ds)) for i, ds in enumerate(synth_ct_series(n_slices)))
    return SeriesFiles(f"synthesised CT, {n_slices} × 512² int16", files)


@cache
def large_series_files(n_instances: int = LARGE_INSTANCES) -> SeriesFiles:
    """One series of many small (64×64) CT instances as Part 10 bytes."""
    files = tuple((f"large/{i:05d}.dcm", dataset_bytes(ds)) for i, ds in enumerate(large_series(n_instances)))
    return SeriesFiles(f"large series, {n_instances} × 64² int16", files)


def decoded_pixels(series: SeriesFiles) -> list[np.ndarray]:
    """The first frame's pixels of every file (for codec floors measured against the same data)."""
    return [pydicom.dcmread(io.BytesIO(data)).pixel_array for _, data in series.files]


def import_series(service: LocalService, datastore_id: str, series: SeriesFiles) -> ImportReport:
    """Import `series` into a datastore synchronously; any failed file is an error."""
    report = service.backend.import_files(datastore_id, series.loaders())
    if report.failures:
        raise RuntimeError(f"{len(report.failures)} of {report.scanned} files failed to import: {report.failures[0]}")
    return report


def create_datastore(service: LocalService, name: str) -> str:
    """The ID of an ACTIVE datastore called `name`, created when missing."""
    return find_or_create_datastore(service.backend, name)


@dataclass(frozen=True)
class ImageSetRef:
    """An image set in a seeded service, with its frame IDs in instance-number order."""

    datastore_id: str
    image_set_id: str
    frame_ids: tuple[str, ...]

    @property
    def instances(self) -> int:
        return len(self.frame_ids)


@dataclass(frozen=True)
class SeededService:
    service: LocalService
    ct: ImageSetRef
    large: ImageSetRef


def frame_ids_in_order(metadata: dict[str, Any]) -> tuple[str, ...]:
    """First frame ID of each instance of an image set metadata document, by InstanceNumber."""
    entries: list[tuple[int, str]] = []
    for series in metadata["Study"]["Series"].values():
        for instance in series["Instances"].values():
            frames = instance.get("ImageFrames") or []
            if frames:
                entries.append((int(instance["DICOM"].get("InstanceNumber") or 0), frames[0]["ID"]))
    return tuple(frame_id for _, frame_id in sorted(entries))


def image_set_ref(service: LocalService, datastore_id: str, report: ImportReport) -> ImageSetRef:
    (image_set,) = report.image_sets
    client = service.client()
    blob = client.get_image_set_metadata(datastoreId=datastore_id, imageSetId=image_set.image_set_id)
    metadata = json.loads(gzip.decompress(blob["imageSetMetadataBlob"].read()))
    return ImageSetRef(datastore_id, image_set.image_set_id, frame_ids_in_order(metadata))


def seed(
    service: LocalService, *, ct_slices: int = PHANTOM_SLICES, large_instances: int = LARGE_INSTANCES
) -> SeededService:
    """Import the CT series and the large series into `service` (running), one image set each."""
    ct_id, large_id = create_datastore(service, CT_DATASTORE), create_datastore(service, LARGE_DATASTORE)
    ct_report = import_series(service, ct_id, ct_series_files(ct_slices))
    large_report = import_series(service, large_id, large_series_files(large_instances))
    return SeededService(
        service, image_set_ref(service, ct_id, ct_report), image_set_ref(service, large_id, large_report)
    )


@contextmanager
def seeded_service(
    data_dir: Path, *, ct_slices: int = PHANTOM_SLICES, large_instances: int = LARGE_INSTANCES
) -> Iterator[SeededService]:
    """A running local service in a fresh `data_dir` holding the CT series and the large series."""
    with LocalService(data_dir) as service:
        yield seed(service, ct_slices=ct_slices, large_instances=large_instances)


def spread(items: Sequence[str], count: int) -> list[str]:
    """`count` items evenly spaced through `items` (all of them when there are fewer)."""
    if count >= len(items):
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]
