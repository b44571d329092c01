"""HealthImaging metadata attributes → DICOM JSON (PS3.18 Annex F), the model DICOMweb answers in.

HealthImaging documents key attributes by keyword with plain JSON values (PN as a flat string, DS/IS as padded
strings, binary values as base64, private VRs in ``DICOMVRs``); DICOM JSON keys them by 8-hex tag with a
``vr`` and a ``Value`` array (PN as ``{"Alphabetic": …}`` objects, DS/IS as numbers, binary values as
``InlineBinary`` or a ``BulkDataURI``). File meta elements (group 0002) are left out: they describe a file,
not the instance.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from healthimaging_mcp.dicom.keys import is_hex_key, tag_of, vr_of

__all__ = [
    "BINARY_VRS",
    "BulkDataLocator",
    "StoredBulkData",
    "attribute_vr",
    "dicom_json",
    "tag_key",
]

BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
BINARY_NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "SV", "UV"})
_TEXT_BLOCK_VRS = frozenset({"LT", "ST", "UT"})  # leading spaces are significant
_FILE_META_GROUP = 0x0002

BulkDataLocator = Callable[[str, int], str | None]
"""(attribute path, value length in bytes) → a BulkDataURI for the value, or None to inline it.

The path is the attribute's 8-hex tag, prefixed by ``<sequence tag>/<item number>/`` for each enclosing
sequence item (item numbers from 1)."""


@dataclass(frozen=True)
class StoredBulkData:
    """A binary value kept outside the metadata (HealthImaging's large values) in place of its base64 text:
    its length, and how to read it when the bytes are needed (an inline answer, a Part 10 file)."""

    length: int
    read: Callable[[], bytes]


@cache
def tag_key(key: str) -> str | None:
    """The 8-hex-digit tag of a metadata key (keyword or hex), or None when it names no tag."""
    if is_hex_key(key):
        return key.upper()
    tag = tag_of(key)
    return None if tag is None else f"{tag:08X}"


def attribute_vr(key: str, value: Any, vrs: Mapping[str, str]) -> str:
    """The VR of an attribute: ``DICOMVRs``, else the dictionary with its ambiguous VRs decided by the value;
    ``UN`` for a tag neither knows."""
    vr = (vr_of(key, vrs) or "UN") if vrs else _dictionary_vr(key)
    if " or " not in vr:
        return vr
    choices = vr.split(" or ")
    binary = isinstance(value, (str, StoredBulkData)) or (
        isinstance(value, list) and any(isinstance(v, str) for v in value)
    )
    if binary:
        return "OW" if "OW" in choices else "OB"
    numbers = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, (int, float))]
    if "SS" in choices and any(v < 0 for v in numbers):
        return "SS"
    return "US" if "US" in choices else choices[0]


@cache
def _dictionary_vr(key: str) -> str:
    return vr_of(key) or "UN"


def dicom_json(
    attributes: Mapping[str, Any],
    vrs: Mapping[str, str] | None = None,
    *,
    keys: Iterable[str] | None = None,
    bulk_data: BulkDataLocator | None = None,
) -> dict[str, Any]:
    """The DICOM JSON object of ``attributes`` (a ``DICOM`` object, or several levels merged), by tag order.

    ``keys`` limits the output to those metadata keys (absent ones are skipped); ``bulk_data`` decides which
    binary values become ``BulkDataURI`` references.
    """
    return _object(attributes, vrs or {}, "", bulk_data, keys)


def _object(
    attributes: Mapping[str, Any],
    vrs: Mapping[str, str],
    prefix: str,
    bulk_data: BulkDataLocator | None,
    keys: Iterable[str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in attributes if keys is None else keys:
        if key not in attributes:
            continue
        tag = tag_key(key)
        if tag is None or int(tag[:4], 16) == _FILE_META_GROUP:
            continue
        value = attributes[key]
        out[tag] = _element(attribute_vr(key, value, vrs), value, vrs, prefix + tag, bulk_data)
    return dict(sorted(out.items()))


def _element(vr: str, value: Any, vrs: Mapping[str, str], path: str, bulk_data: BulkDataLocator | None) -> Any:
    element: dict[str, Any] = {"vr": vr}
    if value is None or value == "" or value == []:
        return element
    if vr == "SQ":
        items = value if isinstance(value, list) else [value]
        element["Value"] = [
            _object(item, vrs, f"{path}/{number}/", bulk_data)
            for number, item in enumerate(items, start=1)
            if isinstance(item, Mapping)
        ]
        return element
    if isinstance(value, StoredBulkData):
        uri = bulk_data(path, value.length) if bulk_data is not None else None
        if uri is not None:
            element["BulkDataURI"] = uri
        else:
            element["InlineBinary"] = base64.b64encode(value.read()).decode("ascii")
        return element
    if vr in BINARY_VRS and isinstance(value, (str, list)):
        encoded = "".join(value) if isinstance(value, list) else value
        uri = bulk_data(path, _decoded_length(encoded)) if bulk_data is not None else None
        if uri is not None:
            element["BulkDataURI"] = uri
        else:
            element["InlineBinary"] = encoded
        return element
    values = [_value(vr, v) for v in _split(vr, value)]
    if any(v is not None for v in values):
        element["Value"] = values
    return element


def _split(vr: str, value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str) and vr not in _TEXT_BLOCK_VRS and "\\" in value:
        return value.split("\\")
    return [value]


def _value(vr: str, value: Any) -> Any:
    if value is None:
        return None
    if vr == "PN":
        return _person_name(str(value))
    if vr in ("IS", "DS"):
        return _number_string(vr, value)
    if vr in BINARY_NUMBER_VRS:
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if vr == "AT":
        return str(value).upper()
    text = str(value)
    text = text.rstrip(" \x00") if vr in _TEXT_BLOCK_VRS else text.strip(" \x00")
    return text or None


def _person_name(text: str) -> dict[str, str] | None:
    groups = text.strip(" \x00").split("=")
    name = {
        group: component
        for group, component in zip(("Alphabetic", "Ideographic", "Phonetic"), groups, strict=False)
        if component
    }
    return name or None


def _number_string(vr: str, value: Any) -> int | float | str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number: float = value
    else:
        text = str(value).strip(" \x00")
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return text  # not a number: passed on as written rather than dropped
    if not math.isfinite(number):
        return None
    if vr == "IS" or float(number).is_integer():
        return int(number)
    return float(number)


def _decoded_length(encoded: str) -> int:
    """Bytes a base64 text decodes to (without decoding it)."""
    stripped = encoded.rstrip("=")
    return len(stripped) * 3 // 4
