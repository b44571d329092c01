"""The one reader of DICOM attribute values, for HealthImaging metadata and pydicom Datasets alike.

A source of attributes (``DicomAttributes``) is anything that answers ``get(keyword)``: a ``DICOM`` object of
a metadata document (binary numbers as JSON numbers, DS/IS as their padded strings, multi-valued attributes
as arrays, OB/OW as base64 text) or a pydicom Dataset (int, DSfloat, IS, MultiValue, bytes).

Every reader answers ``None`` for a value that is absent, null, empty or not of its kind; none raises or guesses:

- one value: ``as_int``, ``as_float`` and ``as_text`` read a single value; a one-item array is that item,
  a longer one is not a single value;
- numbers come from JSON numbers or DS/IS strings with padding; only finite numbers count (``"nan"``,
  ``"inf"`` → ``None``); ``as_int`` takes only integral numbers (``"3 "``, ``"3.0"`` → 3; ``"3.5"`` → ``None``:
  IS holds integers); booleans are not numbers;
- ``as_floats`` reads every value of a multi-valued attribute (array or backslash-joined string), and
  answers ``None`` when one of them is not a number (skipping it would shift the rest);
- ``as_text`` strips DICOM padding, spaces and NULs, at both ends: the code reads codes, names, identifiers,
  UIDs, dates and short strings (AE, AS, CS, DA, DS, IS, LO, PN, SH, TM, UI) with it, where padding means
  nothing (it is not for ST/LT/UT, whose leading spaces count);
- ``iso_date`` / ``iso_time`` read DA / TM as ISO text, and give back the stripped text when it does not parse;
- ``as_list`` gives every value of a sequence or multi-valued attribute (strings split at backslashes);
- ``as_bytes`` gives OB/OW data (pydicom bytes, or metadata base64).

``get_value`` reads an attribute of a source; ``find_value`` reads it for one frame of an enhanced object.
"""

from __future__ import annotations

import base64
import binascii
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "DicomAttributes",
    "as_bytes",
    "as_float",
    "as_floats",
    "as_int",
    "as_list",
    "as_text",
    "find_value",
    "get_value",
    "is_big_endian",
    "iso_date",
    "iso_time",
]

_PADDING = " \x00"
_BIG_ENDIAN = "1.2.840.10008.1.2.2"
_FUNCTIONAL_GROUPS = ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence")
"""Sequences that may hold per-frame copies of image attributes (enhanced IODs)."""
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_DOTTED = re.compile(r"(\d{4})[.\-](\d{2})[.\-](\d{2})")  # ACR-NEMA "1999.01.31" and ISO
_TIME = re.compile(r"(\d{2})(?::?(\d{2})(?::?(\d{2}))?)?(?:\.\d*)?")


@runtime_checkable
class DicomAttributes(Protocol):
    """A source of DICOM attributes by keyword: a metadata ``DICOM`` object or a pydicom Dataset."""

    def get(self, keyword: str, /) -> Any:
        """The value of ``keyword``, or ``None`` when absent."""


# --- reading attributes ----------------------------------------------------------------------------------


def get_value(attrs: DicomAttributes | None, keyword: str) -> Any:
    """The value of ``keyword`` in ``attrs``; ``None`` when absent or when ``attrs`` is no source of attributes."""
    try:
        return attrs.get(keyword) if attrs is not None else None
    except (AttributeError, TypeError, KeyError):
        return None


def find_value(attrs: DicomAttributes, keyword: str, frame_index: int = 0) -> Any:
    """``keyword`` for one frame: from its Per-frame Functional Group, else the Shared one, else the top level.

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
        found = _search_macros(groups[index], keyword)
        if found is not None:
            return found
    return get_value(attrs, keyword)


def _search_macros(group: Any, keyword: str) -> Any:
    """``keyword`` in the first item of any macro sequence of one functional group item."""
    keys = list(group.keys()) if isinstance(group, Mapping) else list(getattr(group, "dir", list)())
    for key in keys:
        if not str(key).endswith("Sequence"):
            continue
        items = as_list(get_value(group, str(key)))
        if items:
            value = get_value(items[0], keyword)
            if value is not None:
                return value
    return None


def is_big_endian(attrs: DicomAttributes) -> bool:
    """Whether OB/OW words are big endian: the dataset (or the metadata's file meta copy) says Explicit VR Big
    Endian. Binary values keep their file's byte order, in pydicom and in HealthImaging metadata alike."""
    meta = getattr(attrs, "file_meta", None)
    syntax = as_text(get_value(meta, "TransferSyntaxUID")) if meta is not None else None
    return (syntax or as_text(get_value(attrs, "TransferSyntaxUID"))) == _BIG_ENDIAN


# --- reading values --------------------------------------------------------------------------------------


_SCALARS = (str, int, float, bool, bytes, type(None))  # JSON values and bytes: decided without ABC checks


def _is_many(value: Any) -> bool:
    """An array of values (JSON array, tuple, pydicom MultiValue or Sequence), not a string or bytes."""
    kind = type(value)
    if kind is list or kind is tuple:
        return True
    if kind in _SCALARS:
        return False
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _single(value: Any) -> Any:
    """Unwrap a one-item array (a multi-valued attribute holding one value)."""
    if _is_many(value) and len(value) == 1:
        return value[0]
    return value


def as_int(value: Any) -> int | None:
    """An integer from a JSON number or an IS/DS string like ``"3 "``; ``None`` if not integral."""
    value = _single(value)
    if type(value) is int:  # the common case first: metadata numbers are plain JSON numbers
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(_PADDING))
        except ValueError:
            pass
    number = as_float(value)
    return int(number) if number is not None and number.is_integer() else None


def as_float(value: Any) -> float | None:
    """A finite float from a JSON number or a DS string like ``"-1024 "``; ``None`` otherwise."""
    value = _single(value)
    kind = type(value)
    if kind is bool or value is None:
        return None
    if kind is float or kind is int or isinstance(value, numbers.Real):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip(_PADDING))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_floats(value: Any) -> list[float] | None:
    """Every value as a float, from an array, a single value or a backslash-joined DS string; ``None`` if one
    of them is not a finite number."""
    numbers_read = [as_float(item) for item in as_list(value)]
    if not numbers_read or any(number is None for number in numbers_read):
        return None
    return [number for number in numbers_read if number is not None]


def as_text(value: Any) -> str | None:
    """A string without DICOM padding (spaces and NULs at either end); ``None`` for absent, empty or not text."""
    value = _single(value)
    if value is None or isinstance(value, (Mapping, bytes, bytearray)) or _is_many(value):
        return None
    text = (value if isinstance(value, str) else str(value)).strip(_PADDING)
    return text or None


def iso_date(value: Any) -> str | None:
    """``"20240105"`` → ``"2024-01-05"``; unparseable text is returned stripped, absent → ``None``."""
    text = as_text(value)
    if text is None:
        return None
    match = _DATE.fullmatch(text) or _DATE_DOTTED.fullmatch(text)
    if match is None:
        return text
    year, month, day = match.groups()
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return text
    return f"{year}-{month}-{day}"


def iso_time(value: Any) -> str | None:
    """``"101500.123"`` → ``"10:15:00"``, ``"1015"`` → ``"10:15"``; unparseable text is returned stripped."""
    text = as_text(value)
    if text is None:
        return None
    match = _TIME.fullmatch(text)
    if match is None:
        return text
    hours, minutes, seconds = match.groups()
    if int(hours) > 23 or (minutes is not None and int(minutes) > 59) or (seconds is not None and int(seconds) > 60):
        return text
    return ":".join(part for part in (hours, minutes, seconds) if part is not None)


def as_list(value: Any) -> list[Any]:
    """Every value of a sequence or multi-valued attribute (strings split at backslashes); ``[]`` when absent."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split("\\")
    if _is_many(value):
        return list(value)
    return [value]


def as_bytes(value: Any) -> bytes | None:
    """OB/OW data as bytes: pydicom gives bytes, HealthImaging metadata gives base64 text."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if _is_many(value) and value and all(isinstance(part, str) for part in value):
        value = "".join(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=False)
        except (binascii.Error, ValueError):
            return None
    return None
