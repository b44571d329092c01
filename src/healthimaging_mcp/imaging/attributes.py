"""Read numeric DICOM attribute values from a HealthImaging metadata dict or a pydicom Dataset.

HealthImaging metadata gives binary numbers as JSON numbers, DS/IS as padded strings, multi-valued
attributes as arrays and OB/OW as base64 strings; pydicom gives DSfloat/IS/MultiValue/bytes. These helpers
accept all of them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Functional group sequences that may hold per-frame copies of image attributes (enhanced IODs).
_FUNCTIONAL_GROUPS = ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence")


def get_value(attrs: Mapping[str, Any] | Any, keyword: str) -> Any:
    """Return the value of `keyword` or None (works on dicts and pydicom Datasets)."""
    try:
        value = attrs.get(keyword)
    except (AttributeError, TypeError, KeyError):
        return None
    return _unwrap(value)


def _unwrap(value: Any) -> Any:
    # pydicom returns a DataElement only when indexing by tag; `.get(keyword)` returns its value already.
    inner = getattr(value, "value", value)
    return inner


def as_list(value: Any) -> list[Any]:
    """Return a multi-valued attribute as a list (strings with backslashes are split)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in value.split("\\")]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return [value]
    if isinstance(value, Sequence) or hasattr(value, "__iter__"):
        return list(value)
    return [value]


def to_float(value: Any) -> float | None:
    """Convert a number, DS string (padding allowed) or first item of a list to float; None if impossible."""
    items = as_list(value)
    if not items:
        return None
    first = items[0]
    if isinstance(first, str):
        first = first.strip()
        if not first:
            return None
    try:
        return float(first)
    except (TypeError, ValueError):
        return None


def to_int(value: Any) -> int | None:
    """Convert a number or IS string (padding allowed) to int; None if impossible."""
    number = to_float(value)
    if number is None or number != number:  # NaN
        return None
    return int(number)


def to_floats(value: Any) -> list[float]:
    """Convert every item of a multi-valued attribute to float, skipping unparseable ones."""
    out: list[float] = []
    for item in as_list(value):
        number = to_float(item)
        if number is not None:
            out.append(number)
    return out


def to_text(value: Any) -> str | None:
    """Return a stripped string for a CS/LO value (first item if multi-valued)."""
    items = as_list(value)
    if not items or items[0] is None:
        return None
    text = str(items[0]).strip()
    return text or None


def to_bytes(value: Any) -> bytes | None:
    """Return OB/OW data as bytes: pydicom gives bytes, HealthImaging metadata gives base64 text."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = "".join(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=False)
        except (binascii.Error, ValueError):
            return None
    return None


_BIG_ENDIAN = "1.2.840.10008.1.2.2"


def is_big_endian(attrs: Mapping[str, Any] | Any) -> bool:
    """Whether OB/OW words are big endian: the dataset (or the metadata's file meta copy) says Explicit VR Big
    Endian. Binary values keep their file's byte order, in pydicom and in HealthImaging metadata alike."""
    meta = getattr(attrs, "file_meta", None)
    syntax = to_text(get_value(meta, "TransferSyntaxUID")) if meta is not None else None
    return (syntax or to_text(get_value(attrs, "TransferSyntaxUID"))) == _BIG_ENDIAN


def to_words(data: bytes, *, big_endian: bool = False) -> np.ndarray:
    """OW data as a numpy uint16 array in native order (a trailing odd byte is dropped)."""
    words = np.frombuffer(data[: len(data) // 2 * 2], dtype=">u2" if big_endian else "<u2")
    return words.astype(np.uint16)


def find_value(attrs: Mapping[str, Any] | Any, keyword: str, frame_index: int = 0) -> Any:
    """Return `keyword` for one frame: its Per-frame Functional Group, else the Shared one, else the top level.

    Enhanced IODs (Enhanced CT/MR/PET, SEG, ...) keep per-frame values in macro sequences of
    PerFrameFunctionalGroupsSequence[frame_index] (e.g. FrameVOILUTSequence, PixelValueTransformationSequence,
    PixelMeasuresSequence, PlanePositionSequence); those win over SharedFunctionalGroupsSequence[0], and
    both over a top-level copy.
    """
    for group_keyword in _FUNCTIONAL_GROUPS:
        groups = as_list(get_value(attrs, group_keyword))
        index = frame_index if group_keyword.startswith("PerFrame") else 0
        if not 0 <= index < len(groups):
            continue
        found = _search_macro(groups[index], keyword)
        if found is not None:
            return found
    return get_value(attrs, keyword)


def _search_macro(group: Any, keyword: str) -> Any:
    keys = list(group.keys()) if isinstance(group, Mapping) else list(getattr(group, "dir", lambda: [])())
    for key in keys:
        if not str(key).endswith("Sequence"):
            continue
        items = as_list(get_value(group, str(key)))
        if items:
            value = get_value(items[0], keyword)
            if value is not None:
                return value
    return None
