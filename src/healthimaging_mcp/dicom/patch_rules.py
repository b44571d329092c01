"""Checks shared by the update, copy and merge functions: document shapes, keys, levels and values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydicom.valuerep import VR

from healthimaging_mcp.dicom.keys import dictionary_entry, is_hex_key, is_private_tag, tag_of, vr_of
from healthimaging_mcp.dicom.levels import Level, level_of
from healthimaging_mcp.dicom.search_tags import MAX_LENGTHS

__all__ = [
    "PROTECTED_KEYWORDS",
    "PatchError",
    "check_attribute",
    "check_object",
    "check_schema_version",
    "check_shape",
    "check_vr",
]

PROTECTED_KEYWORDS = frozenset({"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "StudyID"})
"""Changing these needs ``force`` (as do private tags)."""

_VALID_VRS = frozenset(str(vr) for vr in VR if " or " not in str(vr))
_NOT_DICOM = {
    "ImageFrames": "image frames cannot be edited; only DICOM attributes can",
    "StoredTransferSyntaxUID": "the stored transfer syntax is set by the service",
    "ChecksumType": "checksums are set by the service",
    "DatastoreID": "the data store id is set by the service",
    "ImageSetID": "the image set id is set by the service",
}


class PatchError(ValueError):
    """An update, copy or merge request that cannot be applied; the message says what to change."""


def check_schema_version(document: Mapping[str, Any], what: str) -> None:
    """Accept ``SchemaVersion`` 1.1 as a number or a string (or absent)."""
    version = document.get("SchemaVersion")
    if version is not None and str(version) != "1.1":
        raise PatchError(f"{what}: SchemaVersion must be 1.1 (number or string), not {version!r}")


def check_shape(obj: Any, allowed: tuple[str, ...], where: str) -> Mapping[str, Any]:
    """``obj`` must be a JSON object whose keys are among ``allowed``; returns it."""
    if not isinstance(obj, Mapping):
        raise PatchError(f"{where} must be a JSON object, not {type(obj).__name__}")
    for key in obj:
        if key in allowed:
            continue
        hint = _NOT_DICOM.get(key) or f"allowed here: {', '.join(allowed)}"
        raise PatchError(f"{where} has an unsupported key {key!r} ({hint})")
    return obj


def check_object(obj: Any, where: str) -> Mapping[str, Any]:
    """``obj`` must be a JSON object (any keys); returns it."""
    if not isinstance(obj, Mapping):
        raise PatchError(f"{where} must be a JSON object, not {type(obj).__name__}")
    return obj


def check_vr(key: str, vr: Any, where: str) -> str:
    """A ``DICOMVRs`` entry must name a hex key and a real two-letter VR."""
    if not is_hex_key(key):
        raise PatchError(f"{where}.DICOMVRs: {key!r} is not an 8-hex-digit tag; only private tags take VRs")
    if not isinstance(vr, str) or vr not in _VALID_VRS:
        raise PatchError(f"{where}.DICOMVRs.{key}: {vr!r} is not a DICOM VR (e.g. LO, DS, US, SQ)")
    return vr


def check_attribute(key: str, level: Level, where: str, *, value: Any = None, check_value: bool = False) -> int:
    """Validate an attribute key at ``level`` (and its value when setting); returns its tag."""
    tag = tag_of(key)
    if tag is None:
        raise PatchError(f"{where}: {key!r} is not a DICOM keyword or an 8-hex-digit tag (keywords are case-sensitive)")
    entry = dictionary_entry(tag)
    if is_hex_key(key) and entry is not None and entry[4]:
        raise PatchError(f"{where}: write the public tag {key} by its keyword {entry[4]!r}")
    expected: Level = "Instance" if is_private_tag(tag) else level_of(tag)
    if expected != level:
        raise PatchError(f"{where}: {key} belongs at {expected} level; put it under {expected}.DICOM")
    if check_value:
        _check_value(key, value, where, is_sequence=vr_of(key) == "SQ")
    return tag


def _check_value(key: str, value: Any, where: str, *, is_sequence: bool) -> None:
    if value is None:
        return
    if is_sequence:
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            raise PatchError(f"{where}.{key} is a sequence: give a list of JSON objects (or null)")
        for index, item in enumerate(value):
            for item_key, item_value in item.items():
                if tag_of(item_key) is None:
                    raise PatchError(f"{where}.{key}[{index}]: {item_key!r} is not a DICOM keyword or hex tag")
                _check_value(item_key, item_value, f"{where}.{key}[{index}]", is_sequence=vr_of(item_key) == "SQ")
        return
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, bool) or not isinstance(item, (str, int, float, type(None))):
            raise PatchError(f"{where}.{key}: values must be strings, numbers or null, not {type(item).__name__}")
        if isinstance(item, float) and not math.isfinite(item):
            raise PatchError(f"{where}.{key}: numbers must be finite")
    limit = MAX_LENGTHS.get(key)
    if limit is not None and isinstance(value, str) and len(value) > limit:
        raise PatchError(f"{where}.{key} is {len(value)} characters long; HealthImaging allows at most {limit}")
