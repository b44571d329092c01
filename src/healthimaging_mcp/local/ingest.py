"""DICOM Part 10 bytes → one HealthImaging instance: normalised metadata plus stored frames.

Frames are transcoded to the datastore's lossless format (HTJ2K or JPEG 2000) frame by frame, or kept in
their original encoding where HealthImaging keeps them. Checksums (CRC32) and min/max are computed on the
decoded pixels, so a client can verify what it decodes bit for bit.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pydicom
from pydicom import config as pydicom_config
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments
from pydicom.errors import InvalidDicomError

from ..dicom.normalize import NormalizationError, NormalizedInstance, normalize_instance
from ..imaging.codecs import encode_for_storage, pixel_checksum
from ..imaging.dataset_pixels import frame_layout, iter_encoded_frames, iter_frames
from ..imaging.syntaxes import is_video, stored_syntax_for
from .arns import new_id
from .blobs import BlobStore
from .image_sets import FrameRecord

log = logging.getLogger(__name__)

# Values that break a VR's rules are imported as they are (the service does too), without warnings.
pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE

BINARY_SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
TRANSCODING_EXCEPTION = 45312

# Searchable elements the service limits on import (HealthImaging keyword, DICOM keyword, max length).
_LENGTH_LIMITS = (
    ("DICOMPatientName", "PatientName", 256),
    ("DICOMPatientId", "PatientID", 256),
    ("DICOMPatientBirthDate", "PatientBirthDate", 18),
    ("DICOMPatientSex", "PatientSex", 16),
    ("DICOMStudyInstanceUID", "StudyInstanceUID", 256),
    ("DICOMStudyId", "StudyID", 16),
    ("DICOMStudyDescription", "StudyDescription", 64),
    ("DICOMAccessionNumber", "AccessionNumber", 256),
    ("DICOMStudyDate", "StudyDate", 18),
    ("DICOMStudyTime", "StudyTime", 28),
)


class IngestError(ValueError):
    """The file cannot be imported; reported per file as a ValidationException, the rest of the job goes on."""


@dataclass
class PreparedInstance:
    normalized: NormalizedInstance
    entry: dict[str, Any]  # the object stored under Study.Series.<uid>.Instances.<sop>
    frames: list[FrameRecord]
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return self.normalized.study_instance_uid, self.normalized.series_instance_uid


def read_part10(data: bytes) -> Dataset:
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, OSError, KeyError) as exc:
        raise IngestError(f"Not a readable DICOM Part 10 file: {exc}") from None
    transfer_syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if not transfer_syntax:
        raise IngestError("DICOM attribute TransferSyntaxUID does not exist")
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
        if not ds.get(keyword):
            raise IngestError(f"DICOM attribute {keyword} does not exist")
    for name, keyword, limit in _LENGTH_LIMITS:
        value = ds.get(keyword)
        if value is not None and len(str(value)) > limit:
            raise IngestError(f"DICOM attribute {keyword} is longer than {limit} characters ({name})")
    return ds


def prepare_instance(data: bytes, storage_format: str, blobs: BlobStore) -> PreparedInstance:
    """Parse, normalise and store the frames of one Part 10 file (blobs are written here)."""
    ds = read_part10(data)
    try:
        normalized = normalize_instance(ds)
    except NormalizationError as exc:
        raise IngestError(str(exc)) from None
    entry: dict[str, Any] = {"DICOM": normalized.instance, "DICOMVRs": normalized.vrs}
    prepared = PreparedInstance(normalized, entry, [])
    if "PixelData" not in ds:
        return prepared
    transfer_syntax = str(ds.file_meta.TransferSyntaxUID)
    frames, stored = _frames_to_store(ds, transfer_syntax, storage_format, prepared.warnings)
    entry["StoredTransferSyntaxUID"] = stored
    entry["ChecksumType"] = "DECOMPRESSED"
    image_frames = []
    for encoded, pixels in frames:
        frame_id = new_id()
        prepared.frames.append(FrameRecord(frame_id, blobs.put(encoded), stored))
        image_frames.append(_frame_entry(frame_id, encoded, pixels))
    entry["ImageFrames"] = image_frames
    return prepared


def _frames_to_store(
    ds: Dataset, transfer_syntax: str, storage_format: str, warnings: list[dict[str, Any]]
) -> tuple[list[tuple[bytes, np.ndarray | None]], str]:
    """(stored bytes, decoded pixels or None) per frame, and the stored transfer syntax."""
    if is_video(transfer_syntax):  # kept as the original stream, one frame, nothing to decode
        return [(_video_stream(ds), None)], transfer_syntax
    binary_seg = ds.get("SOPClassUID") == BINARY_SEGMENTATION and ds.get("SegmentationType") == "BINARY"
    stored = stored_syntax_for(transfer_syntax, storage_format, binary_segmentation=binary_seg)
    try:
        encoded_frames = list(_stored_frames(ds, transfer_syntax, stored, storage_format))
    except Exception as exc:  # keep the pixel data as one blob, as the service does
        log.info("transcoding failed, keeping original pixel data: %s", type(exc).__name__)
        warnings.append(
            {
                "warning_reason_code": TRANSCODING_EXCEPTION,
                "type": "TRANSCODING_EXCEPTION",
                "message": str(exc)[:200],
            }
        )
        return [(bytes(ds.PixelData), None)], transfer_syntax
    frames: list[tuple[bytes, np.ndarray | None]] = [(data, pixels) for data, pixels, _ in encoded_frames]
    return frames, (encoded_frames[0][2] if encoded_frames else stored or transfer_syntax)


def _video_stream(ds: Dataset) -> bytes:
    """The video bitstream: every fragment of the encapsulated pixel data after the Basic Offset Table."""
    fragments = list(generate_fragments(bytes(ds.PixelData)))
    return b"".join(fragments[1:])


def _stored_frames(
    ds: Dataset, transfer_syntax: str, stored: str | None, storage_format: str
) -> Iterator[tuple[bytes, np.ndarray, str]]:
    """(stored bytes, decoded pixels, stored transfer syntax) per frame."""
    if stored is None:
        raise ValueError(f"transfer syntax {transfer_syntax} cannot be decoded")
    pixels_iter = iter_frames(ds)
    if stored == transfer_syntax:  # kept in its original encoding
        for original, pixels in zip(iter_encoded_frames(ds), pixels_iter):
            yield original, pixels, stored
        return
    layout = frame_layout(ds)
    for pixels in pixels_iter:
        encoded = encode_for_storage(pixels, layout, storage_format)
        yield encoded.data, pixels, encoded.transfer_syntax_uid


def _frame_entry(frame_id: str, encoded: bytes, pixels: np.ndarray | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"ID": frame_id}
    if pixels is not None:
        height, width = pixels.shape[:2]
        entry["PixelDataChecksumFromBaseToFullResolution"] = [
            {"Width": int(width), "Height": int(height), "Checksum": pixel_checksum(pixels)}
        ]
        entry["MinPixelValue"] = int(pixels.min()) if pixels.size else 0
        entry["MaxPixelValue"] = int(pixels.max()) if pixels.size else 0
    entry["FrameSizeInBytes"] = len(encoded)
    return entry
