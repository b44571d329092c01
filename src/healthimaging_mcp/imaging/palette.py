"""PALETTE COLOR: map stored indices through the Red/Green/Blue lookup tables to 8-bit RGB."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .attributes import get_value, to_bytes, to_floats

_CHANNELS = ("Red", "Green", "Blue")


class PaletteError(ValueError):
    """The palette colour lookup tables are missing or malformed."""


def _descriptor(attrs: Mapping[str, Any] | Any, channel: str) -> tuple[int, int, int]:
    values = [int(v) for v in to_floats(get_value(attrs, f"{channel}PaletteColorLookupTableDescriptor"))]
    if len(values) != 3:
        raise PaletteError(f"{channel}PaletteColorLookupTableDescriptor must have 3 values")
    entries, first, bits = values
    return (entries or 65536), first, bits


def _table(attrs: Mapping[str, Any] | Any, channel: str, entries: int, bits: int) -> np.ndarray:
    data = to_bytes(get_value(attrs, f"{channel}PaletteColorLookupTableData"))
    if data is None:
        raise PaletteError(f"{channel}PaletteColorLookupTableData is missing")
    if bits == 8 and len(data) in (entries, entries + 1):
        table = np.frombuffer(data, dtype=np.uint8, count=entries)
        return table.astype(np.uint8)
    words = np.frombuffer(data[: len(data) // 2 * 2], dtype="<u2")
    if words.size < entries:
        raise PaletteError(f"{channel} palette has {words.size} entries, descriptor says {entries}")
    words = words[:entries]
    if bits <= 8:
        return np.minimum(words, 255).astype(np.uint8)
    return (words >> np.uint16(bits - 8)).astype(np.uint8)


def palette_lut(attrs: Mapping[str, Any] | Any) -> tuple[np.ndarray, int]:
    """Return (table of shape (entries, 3) uint8, first mapped value)."""
    tables = []
    first_mapped = 0
    size = None
    for channel in _CHANNELS:
        entries, first, bits = _descriptor(attrs, channel)
        tables.append(_table(attrs, channel, entries, bits))
        first_mapped = first
        size = entries if size is None else min(size, entries)
    assert size is not None
    return np.stack([table[:size] for table in tables], axis=-1), first_mapped


def has_palette(attrs: Mapping[str, Any] | Any) -> bool:
    return get_value(attrs, "RedPaletteColorLookupTableDescriptor") is not None


def apply_palette(pixels: np.ndarray, attrs: Mapping[str, Any] | Any) -> np.ndarray:
    """Stored indices (rows, cols) → RGB uint8 (rows, cols, 3); out-of-range indices clamp to the ends."""
    table, first = palette_lut(attrs)
    if pixels.dtype.kind in "ui" and first == 0 and int(pixels.max(initial=0)) < len(table) and pixels.min() >= 0:
        indices = pixels
    else:
        indices = np.clip(pixels.astype(np.int64) - first, 0, len(table) - 1)
    return table[indices]
