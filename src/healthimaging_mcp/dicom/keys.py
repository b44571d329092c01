"""Attribute keys of HealthImaging metadata: DICOM keywords, or 8 uppercase hex digits when there is none."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from types import ModuleType

__all__ = [
    "DictionaryEntry",
    "dictionary_entries",
    "dictionary_entry",
    "is_hex_key",
    "is_private_tag",
    "keyword_or_hex",
    "tag_of",
    "vr_of",
]

DictionaryEntry = tuple[str, str, str, str, str]
"""A public data dictionary entry: VR, VM, name, retired flag, keyword."""

_HEX_KEY = re.compile(r"[0-9A-Fa-f]{8}")


@cache
def _datadict() -> ModuleType:
    """pydicom's data dictionary, imported on first use (it costs ~0.17 s of server start-up otherwise)."""
    from pydicom import datadict

    return datadict


@cache
def _repeater_base_tags() -> dict[str, int]:
    repeaters = _datadict().RepeatersDictionary
    return {entry[4]: int(mask.replace("x", "0"), 16) for mask, entry in repeaters.items() if entry[4]}


def is_private_tag(tag: int) -> bool:
    """True for tags in odd groups (private data elements and private creators)."""
    return bool((int(tag) >> 16) & 1)


def is_hex_key(key: str) -> bool:
    """True when ``key`` is an 8-hex-digit tag key such as ``"00091001"``."""
    return bool(_HEX_KEY.fullmatch(key))


def dictionary_entries() -> Mapping[int, DictionaryEntry]:
    """The public data dictionary by tag (repeating groups not included)."""
    entries: Mapping[int, DictionaryEntry] = _datadict().DicomDictionary
    return entries


def dictionary_entry(tag: int) -> DictionaryEntry | None:
    """The public dictionary entry (VR, VM, name, retired, keyword) for ``tag``, or ``None``.

    Repeating groups (overlays, curves) resolve only for their first group (e.g. ``60003000``), so each
    key names exactly one tag.
    """
    tag = int(tag)
    if is_private_tag(tag):
        return None
    datadict = _datadict()
    entry: DictionaryEntry | None = datadict.DicomDictionary.get(tag)
    if entry is not None:
        return entry
    mask = datadict.mask_match(tag)
    if mask is not None and int(mask.replace("x", "0"), 16) == tag:
        repeater: DictionaryEntry = datadict.RepeatersDictionary[mask]
        return repeater
    return None


def keyword_or_hex(tag: int) -> str:
    """The metadata key of ``tag``: its DICOM keyword, else 8 uppercase hex digits (private, unknown)."""
    entry = dictionary_entry(tag)
    if entry is not None and entry[4]:
        return entry[4]
    return f"{int(tag):08X}"


def tag_of(key: str) -> int | None:
    """The tag a metadata key names (keyword or 8 hex digits), or ``None`` if it names none."""
    if is_hex_key(key):
        return int(key, 16)
    tag: int | None = _datadict().tag_for_keyword(key)
    if tag is not None:
        return tag
    return _repeater_base_tags().get(key)


def vr_of(key: str, vrs: Mapping[str, str] | None = None) -> str | None:
    """The VR of a metadata key: from ``vrs`` (an instance's ``DICOMVRs``, by key or by the tag's hex key),
    else from the data dictionary; ``None`` for a private or unknown tag ``vrs`` does not name."""
    if vrs is not None and key in vrs:
        return vrs[key]
    tag = tag_of(key)
    if tag is None:
        return None
    if vrs is not None and f"{tag:08X}" in vrs:
        return vrs[f"{tag:08X}"]
    entry = dictionary_entry(tag)
    return entry[0] if entry is not None else None
