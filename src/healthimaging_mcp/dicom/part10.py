"""Rebuild a DICOM Part 10 file from HealthImaging metadata (one instance's attributes) and its pixel data. Pure.

The metadata keeps every attribute of the imported file except Pixel Data and binary values over 1 MiB (the
caller puts those back as `StoredBulkData`); values go back with the VRs the dictionary or ``DICOMVRs`` give
them, DS/IS as their original strings.
The file meta information is made for the transfer syntax the caller writes (the original file's syntax is
only a record in the metadata); the original implementation UID and name are kept when the metadata has them.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydicom import config
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence
from pydicom.uid import UID

from healthimaging_mcp.dicom.dicom_json import BINARY_VRS, StoredBulkData, attribute_vr, tag_key
from healthimaging_mcp.dicom.values import as_bytes, as_text

__all__ = ["PixelData", "part10_bytes", "part10_dataset"]

_IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
_EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
_FILE_META_KEPT = (
    "FileMetaInformationVersion",
    "ImplementationClassUID",
    "ImplementationVersionName",
    "SourceApplicationEntityTitle",
    "SendingApplicationEntityTitle",
    "ReceivingApplicationEntityTitle",
    "PrivateInformationCreatorUID",
    "PrivateInformation",
)
_NO_PIXEL_KEYS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


@dataclass(frozen=True)
class PixelData:
    """The Pixel Data of a rebuilt file: native sample bytes, one codestream per frame, or an already
    encapsulated value (kept as one blob). `photometric_interpretation` replaces the metadata's when the
    samples changed colour space on the way (decoded YBR is RGB)."""

    native: bytes | None = None
    frames: tuple[bytes, ...] = ()
    encapsulated: bytes | None = None
    photometric_interpretation: str | None = None


def part10_dataset(attributes: Mapping[str, Any], vrs: Mapping[str, str] | None = None) -> Dataset:
    """A pydicom Dataset of the metadata attributes (file meta group 0002 left out)."""
    ds = Dataset()
    for key, value in attributes.items():
        tag = tag_key(key)
        if tag is None or tag.startswith("0002") or key in _NO_PIXEL_KEYS:
            continue
        vr = attribute_vr(key, value, vrs or {})
        ds.add(DataElement(int(tag, 16), vr, _element_value(vr, value, vrs or {}), validation_mode=config.IGNORE))
    return ds


def _element_value(vr: str, value: Any, vrs: Mapping[str, str]) -> Any:
    if value is None:
        return [] if vr == "SQ" else None
    if vr == "SQ":
        items = value if isinstance(value, list) else [value]
        return Sequence([part10_dataset(item, vrs) for item in items if isinstance(item, Mapping)])
    if isinstance(value, StoredBulkData):
        return value.read()
    if vr in BINARY_VRS:
        return as_bytes(value)
    if vr == "AT":
        tags = [int(str(v), 16) for v in (value if isinstance(value, list) else [value])]
        return tags if len(tags) != 1 else tags[0]
    return value


def part10_bytes(
    attributes: Mapping[str, Any],
    transfer_syntax_uid: str,
    pixels: PixelData | None = None,
    vrs: Mapping[str, str] | None = None,
) -> bytes:
    """The Part 10 file of one instance, written in `transfer_syntax_uid` with `pixels` as its Pixel Data."""
    ds = part10_dataset(attributes, vrs)
    if pixels is not None:
        _set_pixel_data(ds, pixels)
    ds.file_meta = _file_meta(attributes, transfer_syntax_uid)
    ds.preamble = b"\0" * 128
    buffer = io.BytesIO()
    dcmwrite(
        buffer,
        ds,
        implicit_vr=transfer_syntax_uid == _IMPLICIT_VR_LITTLE_ENDIAN,
        little_endian=transfer_syntax_uid != _EXPLICIT_VR_BIG_ENDIAN,
        enforce_file_format=True,
    )
    return buffer.getvalue()


def _set_pixel_data(ds: Dataset, pixels: PixelData) -> None:
    if pixels.photometric_interpretation is not None:
        ds.PhotometricInterpretation = pixels.photometric_interpretation
        if int(ds.get("SamplesPerPixel") or 1) > 1:
            ds.PlanarConfiguration = 0
    if pixels.native is not None:
        bits = int(ds.get("BitsAllocated") or 16)
        ds.add(DataElement(0x7FE00010, "OB" if bits <= 8 else "OW", pixels.native))
        return
    value = pixels.encapsulated if pixels.encapsulated is not None else encapsulate(list(pixels.frames))
    element = DataElement(0x7FE00010, "OB", value, is_undefined_length=True)
    ds.add(element)


def _file_meta(attributes: Mapping[str, Any], transfer_syntax_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    for key in _FILE_META_KEPT:
        value = attributes.get(key)
        if value is not None:
            vr = attribute_vr(key, value, {})
            meta.add(DataElement(int(str(tag_key(key)), 16), vr, _element_value(vr, value, {})))
    meta.MediaStorageSOPClassUID = UID(as_text(attributes.get("SOPClassUID")) or "")
    meta.MediaStorageSOPInstanceUID = UID(as_text(attributes.get("SOPInstanceUID")) or "")
    meta.TransferSyntaxUID = UID(transfer_syntax_uid)
    return meta
