"""PALETTE COLOR: map stored indices through the Red/Green/Blue lookup tables (PS3.3 C.7.6.3.1.5-6, C.7.9).

Tables come as plain LUT data (8-bit entries, or 16-bit entries of which 8-bit tables may use the low byte)
or as segmented LUT data (discrete, linear and indirect segments). The result is 8-bit RGB.
"""

from __future__ import annotations

import numpy as np

from ..dicom.values import DicomAttributes, as_bytes, as_floats, get_value, is_big_endian
from .lut import ow_words

_CHANNELS = ("Red", "Green", "Blue")


class PaletteError(ValueError):
    """The palette colour lookup tables are missing or malformed."""


def _descriptor(attrs: DicomAttributes, channel: str) -> tuple[int, int, int]:
    values = [int(v) for v in as_floats(get_value(attrs, f"{channel}PaletteColorLookupTableDescriptor")) or []]
    if len(values) != 3:
        raise PaletteError(f"{channel}PaletteColorLookupTableDescriptor must have 3 values")
    entries, first, bits = values
    return (entries or 65536), first, bits


def _table(attrs: DicomAttributes, channel: str, entries: int, bits: int) -> np.ndarray:
    """One channel as 8-bit levels."""
    data = as_bytes(get_value(attrs, f"{channel}PaletteColorLookupTableData"))
    if data is None:
        segmented = as_bytes(get_value(attrs, f"Segmented{channel}PaletteColorLookupTableData"))
        if segmented is None:
            raise PaletteError(f"{channel}PaletteColorLookupTableData is missing")
        if bits == 8:
            table = expand_segmented(np.frombuffer(segmented, dtype=np.uint8), entries, word_bits=8)
        else:
            table = expand_segmented(ow_words(segmented, big_endian=is_big_endian(attrs)), entries)
    elif len(data) in (entries, entries + 1):  # 8-bit entries, one byte each (odd counts are padded)
        return np.frombuffer(data, dtype=np.uint8, count=entries).copy()
    else:
        table = ow_words(data, big_endian=is_big_endian(attrs))
    if table.size < entries:
        raise PaletteError(f"{channel} palette has {table.size} entries, descriptor says {entries}")
    table = table[:entries]
    if bits <= 8:  # 8-bit entries in 16-bit words (some writers use the high byte)
        return (table >> 8 if int(table.max(initial=0)) > 255 else table).astype(np.uint8)
    return (table >> np.uint16(bits - 8)).astype(np.uint8)


def expand_segmented(segments: np.ndarray, entries: int, *, word_bits: int = 16) -> np.ndarray:
    """Expand Segmented Palette Color LUT Data (PS3.3 C.7.9.2) into a plain table of at most `entries` values."""
    data = [int(v) for v in segments]
    table = _expand_segments(data, 0, None, word_bits, [])
    return np.asarray(table[:entries], dtype=np.uint16)


def _expand_segments(data: list[int], start: int, count: int | None, word_bits: int, table: list[int]) -> list[int]:
    """Append the segments found from `start` (all of them, or `count`) to `table`: discrete, linear, indirect."""
    index, done = start, 0
    try:
        while index + 1 < len(data) and done != count:
            opcode, length = data[index], data[index + 1]
            index += 2
            if opcode == 0:
                table.extend(data[index : index + length])
                index += length
            elif opcode == 1:
                if not table:
                    raise PaletteError("a linear palette segment cannot come first")
                y0, y1 = table[-1], data[index]
                table.extend(int(v) for v in np.around(np.linspace(y0 + (y1 - y0) / length, y1, length)))
                index += 1
            elif opcode == 2:
                if not table:
                    raise PaletteError("an indirect palette segment cannot come first")
                if word_bits == 8:
                    offset = data[index] | data[index + 1] << 8 | data[index + 2] << 16 | data[index + 3] << 24
                    index += 4
                else:
                    offset = data[index] | data[index + 1] << 16
                    index += 2
                _expand_segments(data, offset, length, word_bits, table)
            else:
                raise PaletteError(f"unknown palette segment type {opcode}")
            done += 1
    except IndexError:
        raise PaletteError("segmented palette data ends inside a segment") from None
    return table


def palette_lut(attrs: DicomAttributes) -> tuple[np.ndarray, int]:
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


def has_palette(attrs: DicomAttributes) -> bool:
    return get_value(attrs, "RedPaletteColorLookupTableDescriptor") is not None


def apply_palette(pixels: np.ndarray, attrs: DicomAttributes) -> np.ndarray:
    """Stored indices (rows, cols) → RGB uint8 (rows, cols, 3); out-of-range indices clamp to the ends."""
    table, first = palette_lut(attrs)
    if pixels.dtype.kind in "ui" and first == 0 and int(pixels.max(initial=0)) < len(table) and pixels.min() >= 0:
        indices = pixels
    else:
        indices = np.clip(pixels.astype(np.int64) - first, 0, len(table) - 1)
    rgb: np.ndarray = table[indices]
    return rgb
