"""Lookup tables of the Modality LUT and VOI LUT sequences (PS3.3 C.11.1, C.11.2): descriptor + data → mapping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dicom.values import DicomAttributes, as_bytes, as_floats, as_list, get_value, is_big_endian


@dataclass(frozen=True)
class LookupTable:
    """Input values first_mapped … first_mapped + len(data) - 1 map to `data`; others clamp to the ends."""

    first_mapped: int
    data: np.ndarray  # float32 entries
    bits: int  # nominal bits per entry (the output range is 0 … 2**bits - 1)

    @property
    def output_maximum(self) -> float:
        return float((1 << self.bits) - 1)

    def map(self, values: np.ndarray) -> np.ndarray:
        """Look every value up (values between entries take the lower one); float32 output."""
        indices = np.floor(np.asarray(values, dtype=np.float64)) - self.first_mapped
        np.clip(indices, 0, self.data.size - 1, out=indices)
        return self.data[indices.astype(np.intp)]


def ow_words(data: bytes, *, big_endian: bool = False) -> np.ndarray:
    """OW data as a numpy uint16 array in native order (a trailing odd byte is dropped)."""
    words = np.frombuffer(data[: len(data) // 2 * 2], dtype=">u2" if big_endian else "<u2")
    return words.astype(np.uint16)


def read_lut(item: DicomAttributes, *, signed_input: bool = False, big_endian: bool = False) -> LookupTable | None:
    """The table of one Modality/VOI LUT Sequence item; None when the descriptor or data is unusable."""
    descriptor = [int(v) for v in as_floats(get_value(item, "LUTDescriptor")) or []]
    if len(descriptor) != 3:
        return None
    entries, first, bits = descriptor
    entries = entries or 65536
    if signed_input and first >= 32768:  # "US or SS": the first mapped value of signed pixel data
        first -= 65536
    data = _entries(get_value(item, "LUTData"), entries, bits, big_endian)
    if data is None or data.size < entries:
        return None
    return LookupTable(first, data[:entries].astype(np.float32), bits if bits > 0 else 16)


def _entries(value: Any, entries: int, bits: int, big_endian: bool) -> np.ndarray | None:
    """LUTData as numbers: a list of US values, or OW bytes (base64 in HealthImaging metadata)."""
    items = as_list(value)
    if items and all(isinstance(v, (int, float)) for v in items):
        return np.asarray(items, dtype=np.float64)
    data = as_bytes(value)
    if data is None:
        return None
    if bits <= 8 and len(data) in (entries, entries + 1):
        return np.frombuffer(data, dtype=np.uint8, count=entries).astype(np.float64)
    return ow_words(data, big_endian=big_endian).astype(np.float64)


def first_lut(attrs: DicomAttributes, items: Any, *, signed_input: bool = False) -> LookupTable | None:
    """The table of the first item of a LUT sequence value (`ModalityLUTSequence`, `VOILUTSequence`) of `attrs`."""
    listed = as_list(items)
    if not listed:
        return None
    return read_lut(listed[0], signed_input=signed_input, big_endian=is_big_endian(attrs))
