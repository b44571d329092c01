"""Frames that need no image codec: uncompressed sample bytes (LE/BE, 1-bit packed) and DICOM RLE."""

from __future__ import annotations

import struct
from typing import Any

import imagecodecs
import numpy as np

from .layout import FrameLayout


class NativeFrameError(ValueError):
    """The bytes do not fit the frame layout."""


def unpack_bits(data: bytes, count: int, bit_offset: int = 0) -> np.ndarray:
    """Unpack `count` 1-bit samples (DICOM order: least significant bit first) into uint8 0/1."""
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
    if bits.size < bit_offset + count:
        raise NativeFrameError(f"1-bit frame needs {count} bits, got {bits.size - bit_offset}")
    return bits[bit_offset : bit_offset + count]


def pack_bits(pixels: np.ndarray) -> bytes:
    """Pack 0/1 samples into DICOM 1-bit order (least significant bit first); non-zero counts as 1."""
    flat = np.ascontiguousarray(pixels).reshape(-1) != 0
    return np.packbits(flat, bitorder="little").tobytes()


def decode_uncompressed(data: bytes, layout: FrameLayout, *, big_endian: bool = False) -> np.ndarray:
    """Interpret one uncompressed frame; returns native-endian, interleaved samples in DICOM order.

    YBR_FULL_422 sample pairs are expanded to full-resolution YBR; colour conversion happens later.
    """
    if layout.bits_allocated == 1:
        return unpack_bits(data, layout.pixel_count * layout.samples_per_pixel).reshape(layout.shape)
    itemsize = layout.bits_allocated // 8
    expected = layout.uncompressed_frame_bytes()
    if len(data) < expected:
        raise NativeFrameError(f"frame has {len(data)} bytes, layout needs {expected}")
    order = ">" if big_endian else "<"
    stored = np.dtype(f"{order}{layout.dtype.kind}{itemsize}")
    samples = np.frombuffer(data, dtype=stored, count=expected // itemsize)
    if not stored.isnative:
        samples = samples.astype(layout.dtype)
    if layout.samples_per_pixel == 1:
        return samples.reshape(layout.shape).copy()
    if layout.photometric_interpretation == "YBR_FULL_422":
        return _expand_ybr_422(samples, layout)
    if layout.planar_configuration == 1:
        planes = samples.reshape(layout.samples_per_pixel, layout.rows, layout.columns)
        return np.ascontiguousarray(np.moveaxis(planes, 0, -1))
    return samples.reshape(layout.shape).copy()


def _expand_ybr_422(samples: np.ndarray, layout: FrameLayout) -> np.ndarray:
    """Y0 Y1 Cb Cr groups (PS3.3 C.7.6.3.1.2) → one (Y, Cb, Cr) triple per pixel."""
    if layout.columns % 2:
        raise NativeFrameError("YBR_FULL_422 needs an even number of columns")
    groups = samples.reshape(layout.rows, layout.columns // 2, 4)
    out = np.empty((layout.rows, layout.columns, 3), dtype=samples.dtype)
    out[:, 0::2, 0] = groups[:, :, 0]
    out[:, 1::2, 0] = groups[:, :, 1]
    out[:, :, 1] = np.repeat(groups[:, :, 2], 2, axis=1)
    out[:, :, 2] = np.repeat(groups[:, :, 3], 2, axis=1)
    return out


def encode_uncompressed(pixels: np.ndarray, bits_allocated: int | None = None) -> bytes:
    """Little-endian, interleaved sample bytes of one frame (1-bit data packed when bits_allocated == 1)."""
    if bits_allocated == 1:
        return pack_bits(pixels)
    array = np.ascontiguousarray(pixels)
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def decode_rle(data: bytes, layout: FrameLayout) -> np.ndarray:
    """Decode one DICOM RLE Lossless frame (PS3.5 Annex G) to interleaved native-endian samples."""
    if layout.bits_allocated == 1:
        raise NativeFrameError("RLE with BitsAllocated 1 is not supported")
    if len(data) < 64:
        raise NativeFrameError("RLE frame is shorter than its 64-byte header")
    header = struct.unpack_from("<16I", data, 0)
    count = header[0]
    bytes_per_sample = layout.bits_allocated // 8
    expected = bytes_per_sample * layout.samples_per_pixel
    if count != expected:
        raise NativeFrameError(f"RLE frame has {count} segments, layout needs {expected}")
    offsets = [*header[1 : count + 1], len(data)]
    pixels = layout.pixel_count
    planes = np.empty((layout.samples_per_pixel, bytes_per_sample, pixels), dtype=np.uint8)
    for index in range(count):
        segment = imagecodecs.packbits_decode(data[offsets[index] : offsets[index + 1]])
        if len(segment) < pixels:
            raise NativeFrameError(f"RLE segment {index} decodes to {len(segment)} bytes, needs {pixels}")
        sample, byte = divmod(index, bytes_per_sample)
        planes[sample, byte] = np.frombuffer(segment, dtype=np.uint8, count=pixels)
    # Segments are most significant byte first; assemble little-endian interleaved samples.
    interleaved = np.ascontiguousarray(planes[:, ::-1, :].transpose(2, 0, 1))
    samples: np.ndarray[Any, Any] = interleaved.view(f"<{layout.dtype.kind}{bytes_per_sample}")
    samples = samples.reshape(layout.shape)
    if samples.dtype != layout.dtype:
        samples = samples.astype(layout.dtype)
    return samples
