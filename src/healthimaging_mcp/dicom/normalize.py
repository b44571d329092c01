"""Turn a pydicom Dataset into HealthImaging metadata JSON values, split into Patient/Study/Series/Instance.

Typing follows captured HealthImaging documents: binary numbers are JSON numbers, DS/IS stay strings with
their original padding, attributes whose dictionary VM allows several values are arrays, empty elements are
``null``, sequences are arrays of objects, binary values up to 1 MiB are base64 (larger ones are
returned apart, as `BulkValue`s: HealthImaging keeps them outside the metadata), and keys are DICOM keywords (or
8 hex digits with the VR recorded in ``DICOMVRs`` for private and unknown tags).
"""

from __future__ import annotations

import base64
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from healthimaging_mcp.dicom.keys import dictionary_entry, is_hex_key, is_private_tag, keyword_or_hex
from healthimaging_mcp.dicom.levels import level_of
from healthimaging_mcp.dicom.values import as_text, get_value

__all__ = ["DEFAULT_MAX_INLINE_BYTES", "BulkValue", "NormalizationError", "NormalizedInstance", "normalize_instance"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_INLINE_BYTES = 1024 * 1024
"""Binary values larger than this (bytes) are kept outside the metadata, as HealthImaging keeps them, and DICOMweb
answers them as a BulkDataURI; smaller ones stay inline (base64) everywhere."""

_PIXEL_DATA_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_TRAILING_PADDING = 0xFFFCFFFC
_FILE_META_GROUP_LENGTH = 0x00020000
_BINARY_NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "US or SS"})
_NUMERIC_STRING_VRS = frozenset({"DS", "IS"})


@dataclass(frozen=True)
class BulkValue:
    """A binary value too large for the metadata, and where it sits in the instance.

    `path` is the attribute's 8-hex tag, prefixed by ``<sequence tag>/<item number>/`` for each enclosing
    sequence item (item numbers from 1): the form of a DICOMweb bulk data path.
    """

    path: str
    data: bytes


class NormalizationError(ValueError):
    """The dataset cannot become a HealthImaging instance (e.g. it lacks a required UID)."""


@dataclass
class NormalizedInstance:
    """One SOP instance as HealthImaging metadata: the ``DICOM`` object of each level plus ``DICOMVRs``."""

    patient: dict[str, Any]
    study: dict[str, Any]
    series: dict[str, Any]
    instance: dict[str, Any]
    vrs: dict[str, str]
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    bulk: list[BulkValue] = field(default_factory=list)
    """Binary values left out of the metadata because they exceed the inline size limit, in tag order."""


@dataclass
class _Context:
    vrs: dict[str, str]
    bulk: list[BulkValue]
    max_inline_bytes: int
    prefix: str = ""  # the bulk data path of the sequence item being read


def normalize_instance(ds: Dataset, *, max_inline_bytes: int = DEFAULT_MAX_INLINE_BYTES) -> NormalizedInstance:
    """Normalise a Part 10 dataset (with its file meta) into HealthImaging's four metadata levels."""
    ctx = _Context(vrs={}, bulk=[], max_inline_bytes=max_inline_bytes)
    levels: dict[str, dict[str, Any]] = {"Patient": {}, "Study": {}, "Series": {}, "Instance": {}}
    file_meta = getattr(ds, "file_meta", None)
    if file_meta is not None:
        for _, key, value in _normalize_items(file_meta, ctx):
            levels["Instance"][key] = value
    for tag, key, value in _normalize_items(ds, ctx, body=True):
        levels["Instance" if is_private_tag(tag) else level_of(tag)][key] = value
    sop_uid = _uid(ds, "SOPInstanceUID") or _uid(file_meta, "MediaStorageSOPInstanceUID")
    study_uid = _uid(ds, "StudyInstanceUID")
    series_uid = _uid(ds, "SeriesInstanceUID")
    if not (study_uid and series_uid and sop_uid):
        uids = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid, "SOPInstanceUID": sop_uid}
        missing = ", ".join(name for name, uid in uids.items() if not uid)
        raise NormalizationError(f"the dataset has no {missing}; HealthImaging needs all three UIDs")
    return NormalizedInstance(
        patient=levels["Patient"],
        study=levels["Study"],
        series=levels["Series"],
        instance=levels["Instance"],
        vrs=ctx.vrs,
        study_instance_uid=study_uid,
        series_instance_uid=series_uid,
        sop_instance_uid=sop_uid,
        bulk=ctx.bulk,
    )


def _item(ds: Dataset, ctx: _Context, step: str) -> dict[str, Any]:
    """One sequence item; `step` (``<sequence tag>/<item number>/``) extends the bulk data path inside it."""
    outer = ctx.prefix
    ctx.prefix = outer + step
    try:
        return {key: value for _, key, value in _normalize_items(ds, ctx)}
    finally:
        ctx.prefix = outer


def _uid(ds: Dataset | None, keyword: str) -> str | None:
    return as_text(get_value(ds, keyword))


def _normalize_items(ds: Dataset, ctx: _Context, *, body: bool = False) -> list[tuple[int, str, Any]]:
    """(tag, key, value) for each kept element, in tag order; ``body`` skips stray group 0002 elements."""
    out: list[tuple[int, str, Any]] = []
    for tag in sorted(ds.keys()):
        if body and (int(tag) >> 16) == 0x0002:
            continue  # file meta elements misplaced in the dataset body; the file meta group wins
        converted = _normalize_element(ds, tag, ctx)
        if converted is not None:
            out.append((int(tag), *converted))
    return out


def _skipped(tag: int) -> bool:
    if tag in _PIXEL_DATA_TAGS or tag == _TRAILING_PADDING:
        return True
    return (tag & 0xFFFF) == 0 and tag != _FILE_META_GROUP_LENGTH  # group lengths


def _normalize_element(ds: Dataset, tag: BaseTag, ctx: _Context) -> tuple[str, Any] | None:
    tag_int = int(tag)
    if _skipped(tag_int):
        return None
    raw = ds.get_item(tag)
    try:
        elem = ds[tag]
    except Exception as exc:  # a malformed value must not sink the whole instance
        logger.warning("cannot decode element %08X (%s); keeping its bytes as UN", tag_int, exc)
        raw_bytes = raw.value if isinstance(raw, RawDataElement) else None
        elem = DataElement(tag, "UN", raw_bytes)
    key = keyword_or_hex(tag_int)
    vr = str(elem.VR)
    if is_hex_key(key):
        ctx.vrs.setdefault(key, vr)  # outermost wins when a nested private tag reuses the key
    if elem.is_empty:
        return key, None
    multi = _allows_many(tag_int, elem)
    if vr == "SQ":
        return key, [_item(item, ctx, f"{tag_int:08X}/{number}/") for number, item in enumerate(elem.value, start=1)]
    if vr in _NUMERIC_STRING_VRS:
        return key, _numeric_strings(raw, elem, multi)
    if vr in _BINARY_NUMBER_VRS and not isinstance(elem.value, (bytes, bytearray)):
        return key, _shape([_number(v) for v in _values(elem.value)], multi)
    if vr == "AT":
        return key, _shape([f"{int(v):08X}" for v in _values(elem.value)], multi)
    if isinstance(elem.value, (bytes, bytearray)):
        if len(elem.value) > ctx.max_inline_bytes:
            ctx.bulk.append(BulkValue(f"{ctx.prefix}{tag_int:08X}", bytes(elem.value)))
            return None
        return key, base64.b64encode(bytes(elem.value)).decode("ascii")
    return key, _text(elem, multi)


def _allows_many(tag: int, elem: DataElement) -> bool:
    """Dictionary VM other than 1 ⇒ array; private/unknown tags follow the actual value count."""
    entry = dictionary_entry(tag)
    if entry is not None:
        return entry[1] != "1"
    return int(elem.VM) > 1


def _values(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, MultiValue)):
        return list(value)
    return [value]


def _shape(values: list[Any], multi: bool) -> Any:
    if multi or len(values) > 1:
        return values
    return values[0]


def _number(value: Any) -> int | float | None:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return int(value)


def _numeric_strings(raw: RawDataElement | DataElement, elem: DataElement, multi: bool) -> Any:
    """DS/IS as the original strings (padding kept) when the raw bytes are at hand."""
    if isinstance(raw, RawDataElement) and isinstance(raw.value, (bytes, bytearray)):
        text = bytes(raw.value).decode("ascii", "replace").rstrip("\x00")
        if not text.strip():
            return None
        return text.split("\\") if multi else text
    values = [str(v) for v in _values(elem.value)]
    if multi:
        return values
    return values[0] if len(values) == 1 else "\\".join(values)


def _text(elem: DataElement, multi: bool) -> Any:
    values = ["" if v is None else str(v) for v in _values(elem.value)]
    if multi:
        return values
    return values[0] if len(values) == 1 else "\\".join(values)
