"""`healthimaging-mcp local tour`: start the local service, seed it, and show through plain boto3 what it holds."""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..dicom.document import ImageSetDocument
from ..imaging.codecs import decode_frame
from ..text_table import text_table
from .samples.seeding import seed_samples
from .service import LocalService

_RAMP = " .:-=+*#%@"


def ascii_preview(hu: np.ndarray, width: int = 64, center: float = 40, window: float = 400) -> str:
    """A coarse terminal rendering of a slice (soft-tissue window); two rows of pixels per character row."""
    step = max(1, hu.shape[1] // width)
    small = hu[:: step * 2, ::step]
    scaled = np.clip((small - (center - window / 2)) / window, 0, 0.999)
    return "\n".join("".join(_RAMP[int(v * len(_RAMP))] for v in row) for row in scaled)


def run_tour(data_dir: Path | None, emit: Callable[[str], None], note: Callable[[str], None]) -> int:
    """Seed and start the service, then show its contents; `emit` writes results, `note` progress."""
    with tempfile.TemporaryDirectory(prefix="healthimaging-tour-") as scratch:
        service = LocalService(data_dir or Path(scratch))
        note(f"Seeding sample data into {service.data_dir} …")
        emit(seed_samples(service.backend).describe())
        with service:
            emit(f"Local HealthImaging service at {service.endpoint}\n")
            _show(service.client(), emit)
    return 0


def _show(client: Any, emit: Callable[[str], None]) -> None:
    datastores = client.list_datastores()["datastoreSummaries"]
    emit(
        text_table(
            [[d["datastoreId"], d["datastoreName"], d["datastoreStatus"]] for d in datastores],
            ["datastoreId", "name", "status"],
            rule=True,
        )
    )
    datastore_id = next(d["datastoreId"] for d in datastores if d["datastoreName"] == "sample")
    summaries = []
    for page in client.get_paginator("search_image_sets").paginate(
        datastoreId=datastore_id, PaginationConfig={"PageSize": 10}
    ):
        summaries += page["imageSetsMetadataSummaries"]
    rows = []
    for s in sorted(
        summaries,
        key=lambda s: (
            s["DICOMTags"].get("DICOMPatientName", ""),
            s["DICOMTags"].get("DICOMSeriesNumber", 0),
        ),
    ):
        tags = s["DICOMTags"]
        rows.append(
            [
                s["imageSetId"],
                tags.get("DICOMPatientName", ""),
                tags.get("DICOMSeriesModality", ""),
                tags.get("DICOMStudyDescription", ""),
                tags.get("DICOMNumberOfStudyRelatedInstances", ""),
                "yes" if s.get("isPrimary") else "no",
            ]
        )
    emit(f"\n{len(summaries)} image sets in datastore 'sample' (searched 10 per page):")
    emit(text_table(rows, ["imageSetId", "patient", "modality", "study", "instances", "primary"], rule=True))

    ct = max(
        (s for s in summaries if s["DICOMTags"].get("DICOMSeriesModality") == "CT"),
        key=lambda s: s["DICOMTags"].get("DICOMNumberOfStudyRelatedInstances", 0),
    )
    blob = client.get_image_set_metadata(datastoreId=datastore_id, imageSetId=ct["imageSetId"])
    document = ImageSetDocument.from_bytes(blob["imageSetMetadataBlob"].read())
    series = document.series[0]
    instance, frame = series.frame_at(series.frame_count // 2)
    response = client.get_image_frame(
        datastoreId=datastore_id,
        imageSetId=ct["imageSetId"],
        imageFrameInformation={"imageFrameId": frame.id},
    )
    data = response["imageFrameBlob"].read()
    pixels = decode_frame(data, instance.stored_transfer_syntax_uid)
    checksum = zlib.crc32(np.ascontiguousarray(pixels).tobytes())
    intercept = float(str(instance.attributes.get("RescaleIntercept", "0")).strip() or 0)
    emit(
        f"\nFrame {frame.id} of '{series.description}' (instance {instance.instance_number} of "
        f"{len(series.instances)}): {len(data):,} bytes {response['contentType']}, decoded {pixels.shape} "
        f"{pixels.dtype}, CRC32 {'matches' if checksum == frame.checksum else 'DOES NOT MATCH'} the metadata"
    )
    emit(ascii_preview(pixels.astype(np.float32) + intercept))
