"""Export instances of image sets as DICOM Part 10 files into the output folder or to S3.

Frames are fetched concurrently a window of instances ahead (GetImageFrame allows 1,000 requests/s); each
file is built (`dicom.export`) and written as soon as its frames are in, so memory stays bounded and progress
is reported per instance. Stored frames are kept encapsulated in their transfer syntax, or decoded and
written as Explicit VR Little Endian on request (always for frames stored uncompressed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from pydicom.dataset import Dataset

from ..aws.clients import ClientFactory
from ..aws.healthimaging import HealthImaging
from ..aws.s3 import split_s3_uri, write_s3_object
from ..dicom.document import ImageSetDocument, InstanceView
from ..dicom.export import EncapsulatedPixels, ExportError, NativePixels, instance_dataset, part10_bytes, with_pixels
from ..dicom.values import as_int, as_text
from ..errors import invalid
from ..files import output_path, write_file
from ..imaging.codecs import FrameDecodeError, decode_frame
from ..imaging.headers import parse_j2k_header
from ..imaging.layout import FrameLayout
from ..imaging.native import pack_bits
from ..imaging.syntaxes import (
    DECODABLE_SYNTAXES,
    HTJ2K_SYNTAXES,
    JPEG_2000_SYNTAXES,
    NATIVE_SYNTAXES,
    is_video,
)

FETCH_WORKERS = 16
WINDOW = 32
"""Instances whose frames are being fetched ahead of the one being written."""
MAX_WARNINGS = 10
WIDEST_PORTABLE_J2K_BITS = 24
"""Samples wider than this in (HT)JPEG 2000 are beyond common decoders (OpenJPEG): such frames are written
uncompressed, with a warning."""

Progress = Callable[[int, int], None]
Transform = Callable[[Dataset], Dataset]


@dataclass(frozen=True)
class ExportItem:
    """One SOP instance to export, with the image set (document) it belongs to."""

    image_set_id: str
    document: ImageSetDocument
    instance: InstanceView


def items_of(image_set_id: str, document: ImageSetDocument, sop_instance_uid: str | None = None) -> list[ExportItem]:
    """Every instance of an image set (or just `sop_instance_uid`), in display order."""
    if sop_instance_uid is not None:
        instance = document.instance(sop_instance_uid)
        if instance is None:
            raise invalid(
                f"SOP instance {sop_instance_uid} is not in image set {image_set_id}.",
                "Check the UID with get_image_set_metadata (depth=series).",
            )
        return [ExportItem(image_set_id, document, instance)]
    return [ExportItem(image_set_id, document, i) for series in document.series for i in series.instances]


class Destination(Protocol):
    def write(self, relative: str, data: bytes) -> None:
        """Store one file under the destination."""

    def describe(self) -> str:
        """Where the files go, for the answer."""


@dataclass(frozen=True)
class FolderDestination:
    output_dir: Path | None
    folder: str

    def write(self, relative: str, data: bytes) -> None:
        write_file(output_path(self.output_dir, f"{self.folder}/{relative}", ".dcm"), data)

    def describe(self) -> str:
        root = self.output_dir.expanduser().resolve() if self.output_dir else Path(".")
        return str(root / self.folder)


@dataclass(frozen=True)
class S3Destination:
    clients: ClientFactory
    bucket: str
    prefix: str

    def write(self, relative: str, data: bytes) -> None:
        write_s3_object(self.clients, self.bucket, f"{self.prefix}/{relative}" if self.prefix else relative, data)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def s3_destination(clients: ClientFactory, uri: str) -> S3Destination:
    bucket, prefix = split_s3_uri(uri)
    return S3Destination(clients, bucket, prefix.strip("/"))


@dataclass
class ExportSummary:
    files: int = 0
    bytes: int = 0
    transfer_syntaxes: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        if text not in self.warnings and len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(text)


def export_items(
    aws: HealthImaging,
    datastore_id: str,
    items: Sequence[ExportItem],
    destination: Destination,
    *,
    transcode: bool,
    transform: Transform | None = None,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write one Part 10 file per item; `transform` may rewrite each dataset first (de-identification)."""
    summary = ExportSummary()
    for done, (item, frames) in enumerate(_with_frames(aws, datastore_id, items), 1):
        ds = instance_dataset(item.document, item.instance)
        if transform is not None:
            ds = transform(ds)
        pixels = pixels_for(item.instance, frames, transcode=transcode, summary=summary) if frames else None
        data = part10_bytes(with_pixels(ds, pixels))
        destination.write(file_name(ds), data)
        summary.files += 1
        summary.bytes += len(data)
        summary.transfer_syntaxes.add(str(ds.file_meta.TransferSyntaxUID))
        if progress is not None:
            progress(done, len(items))
    return summary


def file_name(ds: Dataset) -> str:
    """`<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`: UIDs only, no patient data."""
    return f"{ds.get('StudyInstanceUID', 'study')}/{ds.get('SeriesInstanceUID', 'series')}/{ds.SOPInstanceUID}.dcm"


def _with_frames(
    aws: HealthImaging, datastore_id: str, items: Sequence[ExportItem]
) -> Iterator[tuple[ExportItem, list[bytes]]]:
    """Each item with its stored frames, fetched WINDOW items ahead by a pool of threads."""

    def fetch(item: ExportItem, frame_id: str) -> bytes:
        return aws.get_image_frame(datastore_id, item.image_set_id, frame_id)[0]

    with ThreadPoolExecutor(FETCH_WORKERS, thread_name_prefix="export-frames") as pool:
        pending: dict[int, list[Future[bytes]]] = {}

        def submit(index: int) -> None:
            if index < len(items) and index not in pending:
                item = items[index]
                pending[index] = [pool.submit(fetch, item, frame.id) for frame in item.instance.frames]

        for index in range(min(WINDOW, len(items))):
            submit(index)
        for index, item in enumerate(items):
            submit(index + WINDOW)
            futures = pending.pop(index)
            yield item, [future.result() for future in futures]


def pixels_for(
    instance: InstanceView, frames: list[bytes], *, transcode: bool, summary: ExportSummary
) -> EncapsulatedPixels | NativePixels:
    stored = instance.stored_transfer_syntax_uid
    if is_video(stored) or stored not in DECODABLE_SYNTAXES:
        if transcode:
            summary.warn(f"frames in transfer syntax {stored} cannot be decoded here; they were kept encapsulated")
        return EncapsulatedPixels(frames, stored)
    if transcode or stored in NATIVE_SYNTAXES:
        return native_pixels(instance, frames)
    bits = as_int(instance.attributes.get("BitsStored")) or 0
    if stored in HTJ2K_SYNTAXES | JPEG_2000_SYNTAXES and bits > WIDEST_PORTABLE_J2K_BITS:
        summary.warn(
            f"{bits}-bit samples in JPEG 2000 are beyond most decoders; "
            "those instances were written uncompressed (Explicit VR Little Endian)"
        )
        return native_pixels(instance, frames)
    return EncapsulatedPixels(frames, stored, _encapsulated_colour(instance, frames, stored))


def native_pixels(instance: InstanceView, frames: list[bytes]) -> NativePixels:
    """Every frame decoded (pydicom's conventions: colour as RGB) and laid out as native little endian samples."""
    try:
        layout = FrameLayout.from_attributes(instance.attributes)
        decoded = [decode_frame(frame, instance.stored_transfer_syntax_uid, layout) for frame in frames]
    except (ValueError, FrameDecodeError) as exc:
        raise ExportError(f"instance {instance.sop_uid}: its frames cannot be decoded ({exc})") from None
    if layout.bits_allocated == 1:
        data = pack_bits(np.concatenate([pixels.ravel() for pixels in decoded]))
    else:
        data = b"".join(
            np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<"), copy=False).tobytes()
            for pixels in decoded
        )
    return NativePixels(data, "RGB" if layout.samples_per_pixel == 3 else None)


def _encapsulated_colour(instance: InstanceView, frames: list[bytes], stored: str) -> str | None:
    """The Photometric Interpretation of colour frames HealthImaging transcoded to (HT)JPEG 2000: YBR_RCT when
    the codestream uses the reversible colour transform, else RGB (the samples were RGB when encoded)."""
    original = as_text(instance.attributes.get("TransferSyntaxUID"))
    samples = instance.attributes.get("SamplesPerPixel")
    if original == stored or samples != 3 or stored not in HTJ2K_SYNTAXES | JPEG_2000_SYNTAXES:
        return None
    header = parse_j2k_header(frames[0])
    return "YBR_RCT" if header is not None and header.uses_mct else "RGB"
