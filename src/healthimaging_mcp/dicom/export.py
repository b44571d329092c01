"""An image set's metadata document and frames → DICOM Part 10 files, one per SOP instance.

Attributes come from the four levels of the document (Patient, Study, Series, Instance): keys are DICOM
keywords (VR from the data dictionary; ambiguous ones such as ``US or SS`` resolved from the dataset, as
pydicom's writer does) or 8 hex digits (VR from ``DICOMVRs``, else UN). Sequences, multi-valued, empty and
binary (base64) values are rebuilt; DS/IS keep their original strings. The original file meta group is not
copied: a new one names the SOP instance and the transfer syntax of the pixel data, which is either the
stored frames encapsulated with their transfer syntax, or native samples in Explicit VR Little Endian.
Pure: no I/O; the caller fetches (and, for native output, decodes) the frames.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filewriter import correct_ambiguous_vr, dcmwrite
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, generate_uid

from .document import ImageSetDocument, InstanceView
from .keys import tag_of, vr_of

__all__ = [
    "EXPLICIT_VR_LITTLE_ENDIAN",
    "EncapsulatedPixels",
    "ExportError",
    "NativePixels",
    "instance_dataset",
    "part10_bytes",
    "with_pixels",
]

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
IMPLEMENTATION_CLASS_UID = generate_uid(prefix=None, entropy_srcs=["healthimaging-mcp DICOM export"])
IMPLEMENTATION_VERSION_NAME = "HIMCP_EXPORT_1"

_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or SS or OW"})
_NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "US or SS"})
_PIXEL_DATA = 0x7FE00010
_NOT_COPIED = frozenset({"ExtendedOffsetTable", "ExtendedOffsetTableLengths", "PixelData", "DataSetTrailingPadding"})
"""Attributes that describe the original file's pixel data encoding, rebuilt (or left out) here."""


class ExportError(ValueError):
    """The metadata cannot be written as DICOM (an attribute whose value does not fit its VR)."""


@dataclass(frozen=True)
class EncapsulatedPixels:
    """The stored frames as they are, in their transfer syntax (HTJ2K, JPEG 2000, JPEG …)."""

    frames: Sequence[bytes]
    transfer_syntax_uid: str
    photometric_interpretation: str | None = None
    """Set when the frames' colour encoding differs from the metadata (e.g. YBR_RCT after a lossless transcode)."""


@dataclass(frozen=True)
class NativePixels:
    """Every frame's samples, concatenated, little endian (1-bit data packed), for Explicit VR Little Endian."""

    data: bytes
    photometric_interpretation: str | None = None
    """Set when decoding changed the colour encoding (colour frames decode to RGB)."""


def instance_dataset(document: ImageSetDocument, instance: InstanceView) -> Dataset:
    """The attributes of one instance (all four levels), without pixel data or file meta information."""
    ds = Dataset()
    levels: list[Mapping[str, Any]] = [document.patient, document.study]
    series = document.series_by_uid(instance.series_uid)
    if series is not None:
        levels.append(series.attributes)
    levels.append(instance.attributes)
    vrs = instance.vrs
    for attributes in levels:
        for key, value in attributes.items():
            element = _element(key, value, vrs)
            if element is not None and element.tag.group != 0x0002:
                ds.add(element)
    return ds


def with_pixels(ds: Dataset, pixels: EncapsulatedPixels | NativePixels | None) -> Dataset:
    """`ds` with its pixel data (None: it has none, e.g. a report) and the file meta information for it
    (ambiguous VRs resolved)."""
    if pixels is None:
        syntax = EXPLICIT_VR_LITTLE_ENDIAN
    elif isinstance(pixels, EncapsulatedPixels):
        syntax = pixels.transfer_syntax_uid
        ds.add(DataElement(_PIXEL_DATA, "OB", encapsulate(list(pixels.frames), has_bot=True), is_undefined_length=True))
    else:
        syntax = EXPLICIT_VR_LITTLE_ENDIAN
        bits = int(ds.get("BitsAllocated", 8) or 8)
        ds.add(DataElement(_PIXEL_DATA, "OW" if bits > 8 else "OB", pixels.data))
    if pixels is not None and pixels.photometric_interpretation:
        ds.PhotometricInterpretation = pixels.photometric_interpretation
        if pixels.photometric_interpretation == "RGB" and "PlanarConfiguration" in ds:
            ds.PlanarConfiguration = 0
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.get("SOPClassUID")
    meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID")
    meta.TransferSyntaxUID = UID(syntax)
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    correct_ambiguous_vr(ds, is_little_endian=True)
    return ds


def part10_bytes(ds: Dataset) -> bytes:
    """The DICOM Part 10 file of a dataset made by `with_pixels`."""
    buffer = io.BytesIO()
    try:
        dcmwrite(buffer, ds, enforce_file_format=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ExportError(f"the metadata cannot be written as DICOM: {exc}") from None
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------- attributes


def _element(key: str, value: Any, vrs: Mapping[str, str]) -> DataElement | None:
    if key in _NOT_COPIED:
        return None
    tag = tag_of(key)
    if tag is None or (tag & 0xFFFF) == 0:  # an unknown keyword; group lengths are recomputed by writers
        return None
    vr = vr_of(key, vrs) or "UN"
    if value is None:
        return DataElement(tag, vr, None)
    if vr == "SQ":
        items = value if isinstance(value, list) else [value]
        return DataElement(tag, vr, DicomSequence([_item(item, vrs) for item in items if isinstance(item, Mapping)]))
    if vr == "AT":
        tags = [int(v, 16) for v in _listed(value)]
        return DataElement(tag, vr, tags if len(tags) != 1 else tags[0])
    if isinstance(value, str) and (vr in _BINARY_VRS or vr in _NUMBER_VRS):
        data = _base64(value, key)
        return DataElement(tag, vr if vr in _BINARY_VRS else "OB", data)
    if vr in _BINARY_VRS:  # numbers recorded for an OB/OW element: keep them as 16-bit words
        return DataElement(tag, "US" if vr.startswith("US") else vr, value)
    return DataElement(tag, vr, value)


def _item(attributes: Mapping[str, Any], vrs: Mapping[str, str]) -> Dataset:
    item = Dataset()
    for key, value in attributes.items():
        element = _element(key, value, vrs)
        if element is not None:
            item.add(element)
    return item


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _base64(text: str, key: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ExportError(f"{key} is not the base64 text of a binary value") from None
