"""DICOM Part 10 bytes → one HealthImaging instance: normalised metadata plus stored frames and large values.

The file is checked first (`file_checks`): whole, required attributes, pixel data present and long enough.
Then every frame is decoded (a frame that does not decode fails the file) and transcoded to the datastore's
lossless format (HTJ2K or JPEG 2000), or kept in its original encoding where HealthImaging keeps it; a
transcoded frame must decode back to the same samples. Checksums (CRC32) and min/max are computed on the
decoded pixels, so a client can verify what it decodes bit for bit. Binary values over 1 MiB are kept outside
the metadata, as HealthImaging keeps them, each in a blob of its own. Nothing is stored before all this passed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments
from pydicom.uid import UID

from ...dicom.normalize import NormalizationError, NormalizedInstance, normalize_instance
from ...imaging.codecs import EncodedFrame, FrameDecodeError, decode_frame, encode_for_storage, pixel_checksum
from ...imaging.dataset_pixels import frame_layout, iter_encoded_frames, iter_frames, number_of_frames
from ...imaging.syntaxes import EXPLICIT_VR_LITTLE_ENDIAN, is_video, stored_syntax_for
from ..store.arns import new_id
from ..store.blobs import BlobStore
from ..store.image_sets import BulkRecord, FrameRecord
from .file_checks import IngestError, check_pixel_data, read_part10

log = logging.getLogger(__name__)

BINARY_SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
TRANSCODING_EXCEPTION = 45312


class TranscodingError(IngestError):
    """Our transcoding did not reproduce the file's pixels: the service's fault, so a server error."""

    exception_type = "InternalServerException"


@dataclass
class PreparedInstance:
    normalized: NormalizedInstance
    entry: dict[str, Any]  # the object stored under Study.Series.<uid>.Instances.<sop>
    frames: list[FrameRecord]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    bulk: list[BulkRecord] = field(default_factory=list)  # the binary values kept outside the metadata

    @property
    def key(self) -> tuple[str, str]:
        return self.normalized.study_instance_uid, self.normalized.series_instance_uid


def prepare_instance(data: bytes, storage_format: str, blobs: BlobStore) -> PreparedInstance:
    """Read, check, normalise and transcode one Part 10 file; its frames and large binary values reach `blobs`
    only once all checks pass."""
    ds = read_part10(data)
    try:
        normalized = normalize_instance(ds)
    except NormalizationError as exc:
        raise IngestError(str(exc)) from None
    entry: dict[str, Any] = {"DICOM": normalized.instance, "DICOMVRs": normalized.vrs}
    prepared = PreparedInstance(normalized, entry, [])
    check_pixel_data(ds)
    if "PixelData" in ds:
        _store_frames(ds, prepared, storage_format, blobs)
    prepared.bulk = [BulkRecord(value.path, blobs.put(value.data), len(value.data)) for value in normalized.bulk]
    normalized.bulk = []  # the bytes are in `blobs` now; the prepared instance need not hold them
    return prepared


def _store_frames(ds: Dataset, prepared: PreparedInstance, storage_format: str, blobs: BlobStore) -> None:
    """Transcode (or keep) every frame, put it in `blobs` and list it in the instance's metadata entry."""
    entry = prepared.entry
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


def _frames_to_store(
    ds: Dataset, transfer_syntax: str, storage_format: str, warnings: list[dict[str, Any]]
) -> tuple[list[tuple[bytes, np.ndarray | None]], str]:
    """(stored bytes, decoded pixels or None) per frame, and the stored transfer syntax."""
    if is_video(transfer_syntax):  # kept as the original stream, one frame, nothing to decode
        return [(_video_stream(ds), None)], transfer_syntax
    binary_seg = ds.get("SOPClassUID") == BINARY_SEGMENTATION and ds.get("SegmentationType") == "BINARY"
    stored = stored_syntax_for(transfer_syntax, storage_format, binary_segmentation=binary_seg)
    if stored is None:  # a syntax we cannot decode: kept as one blob, as the service does when it cannot transcode
        reason = f"{UID(transfer_syntax).name} cannot be transcoded here; the pixel data is kept as one blob"
        return _kept_whole(ds, transfer_syntax, reason, warnings)
    pixels = _source_pixels(ds, transfer_syntax)
    if stored == transfer_syntax:  # kept in its original encoding
        return list(zip(iter_encoded_frames(ds), pixels, strict=True)), stored
    layout = frame_layout(ds)
    frames: list[tuple[bytes, np.ndarray | None]] = []
    for index, frame in enumerate(pixels):
        try:
            encoded = encode_for_storage(frame, layout, storage_format)
        except Exception as exc:  # our encoder's limit, not the file's fault: keep the original bytes
            log.info("transcoding failed, keeping original pixel data: %s", type(exc).__name__)
            reason = f"the pixel data could not be transcoded to {UID(stored).name}; it is kept as one blob"
            return _kept_whole(ds, transfer_syntax, reason, warnings)
        if not _decodes_back(encoded, frame):
            raise TranscodingError(
                f"Frame {index + 1} of {len(pixels)} did not decode back to the file's pixels after transcoding "
                f"to {UID(encoded.transfer_syntax_uid).name}; the file was not imported"
            )
        frames.append((encoded.data, frame))
        stored = encoded.transfer_syntax_uid  # one layout, so the same for every frame
    return frames, stored


def _kept_whole(
    ds: Dataset, transfer_syntax: str, reason: str, warnings: list[dict[str, Any]]
) -> tuple[list[tuple[bytes, np.ndarray | None]], str]:
    warnings.append({"warning_reason_code": TRANSCODING_EXCEPTION, "type": "TRANSCODING_EXCEPTION", "message": reason})
    return [(bytes(ds.PixelData), None)], transfer_syntax


def _video_stream(ds: Dataset) -> bytes:
    """The video bitstream: every fragment of the encapsulated pixel data after the Basic Offset Table."""
    try:
        fragments = list(generate_fragments(bytes(ds.PixelData)))
    except Exception:
        raise IngestError("The encapsulated video stream is damaged: its fragments cannot be read") from None
    return b"".join(fragments[1:])


def _source_pixels(ds: Dataset, transfer_syntax: str) -> list[np.ndarray]:
    """Every frame of the file decoded, each checked against Rows × Columns; the first that fails fails the file."""
    count = number_of_frames(ds)
    rows, columns = int(ds.Rows), int(ds.Columns)
    name = UID(transfer_syntax).name
    frames: list[np.ndarray] = []
    decoded = iter_frames(ds)
    while True:
        try:
            pixels = next(decoded, None)
        except FrameDecodeError:
            raise IngestError(
                f"Frame {len(frames) + 1} of {count} of the Pixel Data cannot be decoded as {name}; the file is damaged"
            ) from None
        if pixels is None:
            break
        if pixels.shape[:2] != (rows, columns):
            raise IngestError(
                f"Frame {len(frames) + 1} of {count} decodes to {pixels.shape[1]} × {pixels.shape[0]} pixels; "
                f"Columns × Rows say {columns} × {rows}"
            )
        frames.append(pixels)
    if len(frames) != count:
        raise IngestError(f"The Pixel Data holds {len(frames)} frame(s); NumberOfFrames says {count}")
    return frames


def _decodes_back(encoded: EncodedFrame, pixels: np.ndarray) -> bool:
    """Whether a transcoded frame decodes to exactly the samples it was made from."""
    if encoded.transfer_syntax_uid == EXPLICIT_VR_LITTLE_ENDIAN:
        return True  # the stored bytes are the samples themselves
    expected = pixels.astype(np.uint8) if pixels.dtype == np.bool_ else pixels
    if expected.ndim == 3 and expected.shape[2] == 1:
        expected = expected[:, :, 0]
    try:
        decoded = decode_frame(encoded.data, encoded.transfer_syntax_uid)
    except FrameDecodeError:
        return False
    return decoded.shape == expected.shape and bool(np.array_equal(decoded, expected))


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
