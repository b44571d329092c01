"""Frame codecs: decode one frame of any supported syntax, encode lossless HTJ2K / JPEG 2000, checksum.

Decoded frames follow pydicom's `pixel_array` conventions: shape (rows, cols) or (rows, cols, samples),
native-endian dtype from BitsAllocated/PixelRepresentation, values sign-extended or masked to BitsStored,
colour returned as RGB. All functions are pure and keep no global state, so they are thread-safe.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import imagecodecs
import numpy as np

from .headers import JpegHeader, parse_j2k_header, parse_jpeg_header
from .layout import FrameLayout
from .native import decode_rle, decode_uncompressed, encode_uncompressed
from .syntaxes import (
    ENCAPSULATED_UNCOMPRESSED,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    HTJ2K_LOSSLESS_RPCL,
    HTJ2K_SYNTAXES,
    JPEG_2000_SYNTAXES,
    JPEG_LOSSLESS_SYNTAXES,
    JPEG_LS_SYNTAXES,
    JPEG_SYNTAXES,
    JPEG_XL_SYNTAXES,
    NATIVE_SYNTAXES,
    RLE_LOSSLESS,
    VIDEO_SYNTAXES,
    lossless_target_for,
    normalize_uid,
)

__all__ = [
    "EncodedFrame",
    "FrameDecodeError",
    "FrameEncodeError",
    "decode_frame",
    "encode_for_storage",
    "encode_lossless",
    "lossless_encoding_supported",
    "pixel_checksum",
    "resolution_levels_for",
]

#: Largest sample precision OpenJPEG (our JPEG 2000 encoder) round-trips losslessly.
J2K_MAX_LOSSLESS_BITS = 24
#: HTJ2K codestreams get enough decomposition levels for the smallest resolution to be <= this size.
SMALLEST_RESOLUTION = 64
_MIN_LEVELS = 5
_HTJ2K_TILEPARTS_BY_RESOLUTION = 1


class FrameDecodeError(ValueError):
    """A frame could not be decoded (unsupported syntax, missing layout, corrupt data)."""


class FrameEncodeError(ValueError):
    """Pixels could not be encoded in the requested lossless format."""


@dataclass(frozen=True)
class EncodedFrame:
    """One stored frame: its bytes and the transfer syntax they are encoded in."""

    data: bytes
    transfer_syntax_uid: str


@dataclass
class _Decoded:
    """A decoder's raw output plus what post-processing still has to do."""

    pixels: np.ndarray
    family: str  # "native" | "jpeg" | "jpegls" | "j2k" | "jxl"
    is_rgb: bool = False  # colour already converted to RGB (or known to be RGB)
    precision: int | None = None
    is_signed: bool | None = None


# --------------------------------------------------------------------------------------------- decoding


def decode_frame(
    data: bytes,
    transfer_syntax_uid: str | None,
    layout: FrameLayout | None = None,
    *,
    reduce: int = 0,
) -> np.ndarray:
    """Decode ONE frame encoded in `transfer_syntax_uid` (None ⇒ HTJ2K, HealthImaging's default).

    `layout` is required for uncompressed and RLE frames and makes compressed output follow the
    pydicom conventions; without it compressed frames come back as the codec produced them.
    `reduce` skips that many HTJ2K resolution levels (each halves width and height); other syntaxes
    ignore it and decode at full size.
    """
    uid = normalize_uid(transfer_syntax_uid) or HTJ2K_LOSSLESS_RPCL
    if reduce < 0:
        raise FrameDecodeError("reduce must be >= 0")
    decoder = _decoder_for(uid)
    try:
        decoded = decoder(bytes(data) if not isinstance(data, bytes) else data, layout, reduce)
        return _conform(decoded, layout)
    except FrameDecodeError:
        raise
    except Exception as exc:
        raise FrameDecodeError(f"cannot decode frame in transfer syntax {uid}: {exc}") from exc


def _decoder_for(uid: str) -> Callable[[bytes, FrameLayout | None, int], _Decoded]:
    if uid in NATIVE_SYNTAXES or uid == ENCAPSULATED_UNCOMPRESSED:
        return _decode_native_be if uid == EXPLICIT_VR_BIG_ENDIAN else _decode_native_le
    if uid == RLE_LOSSLESS:
        return _decode_rle
    if uid in HTJ2K_SYNTAXES:
        return _decode_htj2k
    if uid in JPEG_2000_SYNTAXES:
        return _decode_j2k
    if uid in JPEG_SYNTAXES:
        return _decode_jpeg
    if uid in JPEG_LOSSLESS_SYNTAXES:
        return _decode_jpeg_lossless
    if uid in JPEG_LS_SYNTAXES:
        return _decode_jpegls
    if uid in JPEG_XL_SYNTAXES:
        return _decode_jxl
    if uid in VIDEO_SYNTAXES:
        raise FrameDecodeError(f"video transfer syntax {uid} cannot be decoded to frames")
    raise FrameDecodeError(f"unsupported transfer syntax {uid}")


def _require(layout: FrameLayout | None, what: str) -> FrameLayout:
    if layout is None:
        raise FrameDecodeError(f"{what} frames need a FrameLayout (Rows, Columns, BitsAllocated, ...)")
    return layout


def _decode_native_le(data: bytes, layout: FrameLayout | None, reduce: int) -> _Decoded:
    return _Decoded(decode_uncompressed(data, _require(layout, "uncompressed")), "native")


def _decode_native_be(data: bytes, layout: FrameLayout | None, reduce: int) -> _Decoded:
    pixels = decode_uncompressed(data, _require(layout, "uncompressed"), big_endian=True)
    return _Decoded(pixels, "native")


def _decode_rle(data: bytes, layout: FrameLayout | None, reduce: int) -> _Decoded:
    return _Decoded(decode_rle(data, _require(layout, "RLE")), "native")


def _decode_htj2k(data: bytes, layout: FrameLayout | None, reduce: int) -> _Decoded:
    header = parse_j2k_header(data)
    if header is None:
        raise FrameDecodeError("not a JPEG 2000 / HTJ2K codestream")
    skip = min(reduce, header.levels)
    try:
        if skip:
            pixels = imagecodecs.htj2k_decode(data, skipres=skip, planar=False)
        else:
            pixels = imagecodecs.htj2k_decode(data, planar=False)
    except Exception:
        # OpenJPH only decodes HT code blocks; OpenJPEG also reads Part 1 blocks (full size only).
        pixels = imagecodecs.jpeg2k_decode(data)
    return _Decoded(pixels, "j2k", header.uses_mct, header.precision, header.is_signed)


def _decode_j2k(data: bytes, layout: FrameLayout | None, reduce: int) -> _Decoded:
    header = parse_j2k_header(data)
    if header is None:
        raise FrameDecodeError("not a JPEG 2000 codestream")
    pixels = imagecodecs.jpeg2k_decode(data)
    return _Decoded(pixels, "j2k", header.uses_mct, header.precision, header.is_signed)


def _jpeg_is_ybr(header: JpegHeader | None, layout: FrameLayout | None) -> bool:
    """Whether 3-component JPEG data holds YCbCr, following pydicom (component ids, JFIF) and Adobe APP14."""
    if header is None or header.components != 3:
        return False
    if header.has_rgb_component_ids:
        return False
    if header.has_jfif:
        return True
    if header.adobe_transform is not None:
        return header.adobe_transform != 0
    return layout.is_ybr_full if layout is not None else True


def _decode_jpeg(data: bytes, layout: FrameLayout | None, reduce: int) -> _Decoded:
    header = parse_jpeg_header(data)
    if header is not None and header.components == 3:
        source = "YCbCr" if _jpeg_is_ybr(header, layout) else "RGB"
        pixels = imagecodecs.jpeg8_decode(data, colorspace=source, outcolorspace="RGB")
    else:
        pixels = imagecodecs.jpeg8_decode(data)
    return _Decoded(pixels, "jpeg", is_rgb=True, precision=header.precision if header else None)


def _decode_jpeg_lossless(data: bytes, layout: FrameLayout | None, reduce: int) -> _Decoded:
    header = parse_jpeg_header(data)
    is_colour = header is not None and header.components == 3
    try:
        if is_colour:  # raw components (no colour conversion): keeps the decode lossless
            pixels = imagecodecs.jpeg8_decode(data, colorspace="RGB", outcolorspace="RGB")
        else:
            pixels = imagecodecs.jpeg8_decode(data)
    except Exception:
        try:
            pixels = imagecodecs.ljpeg_decode(data)
        except Exception:
            pixels = np.ascontiguousarray(imagecodecs.jpegsof3_decode(data))
    return _Decoded(pixels, "jpeg", is_rgb=not _jpeg_is_ybr(header, layout))


def _decode_jpegls(data: bytes, layout: FrameLayout | None, reduce: int) -> _Decoded:
    header = parse_jpeg_header(data)
    pixels = imagecodecs.jpegls_decode(data)
    precision = header.precision if header else None
    return _Decoded(pixels, "jpegls", is_rgb=not _jpeg_is_ybr(header, layout), precision=precision)


def _decode_jxl(data: bytes, layout: FrameLayout | None, reduce: int) -> _Decoded:
    return _Decoded(imagecodecs.jpegxl_decode(data), "jxl", is_rgb=True)


# ------------------------------------------------------------------------------------- post-processing


def _conform(decoded: _Decoded, layout: FrameLayout | None) -> np.ndarray:
    """Apply pydicom's conventions: dtype, sign/unused-bit correction, RGB output."""
    pixels = decoded.pixels
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if not pixels.dtype.isnative:
        pixels = pixels.astype(pixels.dtype.newbyteorder("="))
    if layout is None:
        return np.ascontiguousarray(pixels)
    samples = 1 if pixels.ndim == 2 else pixels.shape[2]
    if samples != layout.samples_per_pixel:
        raise FrameDecodeError(
            f"decoded frame has {samples} samples per pixel, metadata says {layout.samples_per_pixel}"
        )
    if layout.bits_allocated == 1:
        return np.ascontiguousarray(pixels.astype(np.uint8, copy=False) & 1)
    target = layout.dtype
    pixels = _reinterpret(pixels, target)
    shift = _correction_shift(decoded, layout)
    if shift > 0:
        pixels = _writable(pixels)
        np.left_shift(pixels, shift, out=pixels)
        np.right_shift(pixels, shift, out=pixels)
    if samples == 3 and layout.is_ybr_full and not decoded.is_rgb:
        from pydicom.pixels.processing import convert_color_space  # only YBR needs pydicom

        pixels = convert_color_space(_writable(pixels), "YBR_FULL", "RGB")
    return np.ascontiguousarray(pixels)


def _reinterpret(pixels: np.ndarray, target: np.dtype[Any]) -> np.ndarray:
    """Same item size: reinterpret the bits (like pydicom); otherwise convert values."""
    if pixels.dtype == target:
        return pixels
    if pixels.dtype.kind in "ui" and pixels.dtype.itemsize == target.itemsize:
        return pixels.view(target)
    return pixels.astype(target)


def _correction_shift(decoded: _Decoded, layout: FrameLayout) -> int:
    """Bit shift that sign-extends / masks samples the way pydicom does for this codec family."""
    bits = layout.dtype.itemsize * 8
    if decoded.family == "j2k":
        precision = decoded.precision or layout.bits_stored
        signed = bool(decoded.is_signed) if decoded.is_signed is not None else layout.pixel_representation == 1
        mismatch = signed != (layout.pixel_representation == 1)
        return bits - precision if layout.is_monochrome and mismatch and precision < bits else 0
    if decoded.family == "jpegls":
        precision = decoded.precision or layout.bits_stored
        return bits - precision if layout.pixel_representation == 1 and precision < bits else 0
    return layout.bits_allocated - layout.bits_stored


def _writable(pixels: np.ndarray) -> np.ndarray:
    return pixels if pixels.flags.writeable and pixels.flags.c_contiguous else np.array(pixels, order="C")


# --------------------------------------------------------------------------------------------- encoding


def resolution_levels_for(rows: int, columns: int) -> int:
    """Decomposition levels so the smallest resolution is <= 64 px (at least 5, OpenJPH's default)."""
    largest = max(rows, columns, 1)
    needed = math.ceil(math.log2(largest / SMALLEST_RESOLUTION)) if largest > SMALLEST_RESOLUTION else 0
    return min(max(needed, _MIN_LEVELS), 32)


def lossless_encoding_supported(layout: FrameLayout, storage_format: str = "HTJ2K") -> bool:
    """Whether frames of this layout can be stored in `storage_format` losslessly.

    HTJ2K (OpenJPH) round-trips every integer depth up to 32 bits. JPEG 2000 (OpenJPEG) is exact only
    up to 24-bit samples, so 32-bit data with BitsStored > 24 (e.g. RT Dose) must stay uncompressed.
    """
    lossless_target_for(storage_format)  # validates the name
    if storage_format == "HTJ2K":
        return layout.bits_allocated <= 32
    return layout.bits_allocated <= 16 or layout.bits_stored <= J2K_MAX_LOSSLESS_BITS


def _prepare_for_encoding(pixels: np.ndarray) -> np.ndarray:
    array = np.asarray(pixels)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    if array.dtype.kind not in "ui" or array.dtype.itemsize not in (1, 2, 4):
        raise FrameEncodeError(f"cannot encode {array.dtype} samples losslessly (8/16/32-bit integers only)")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise FrameEncodeError(f"cannot encode a frame of shape {array.shape}")
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return np.ascontiguousarray(array)


_htj2k_encoder_lock = threading.Lock()
_htj2k_encoder_ready = False


def _prime_htj2k_encoder() -> None:
    """Run one tiny HTJ2K encode alone before any concurrent one.

    OpenJPH (0.26, in imagecodecs) fills its block-coder tables on first use without a lock: two threads
    encoding at once in a fresh process can produce a corrupt codestream (measured: 4 of 40 fresh processes).
    """
    global _htj2k_encoder_ready
    if _htj2k_encoder_ready:
        return
    with _htj2k_encoder_lock:
        if not _htj2k_encoder_ready:
            imagecodecs.htj2k_encode(np.zeros((8, 8), np.uint16), reversible=True)
            _htj2k_encoder_ready = True


def encode_lossless(pixels: np.ndarray, storage_format: str = "HTJ2K") -> EncodedFrame:
    """Encode one frame reversibly: HTJ2K RPCL with TLM markers (`.4.202`) or a J2K codestream (`.4.90`)."""
    array = _prepare_for_encoding(pixels)
    target = lossless_target_for(storage_format)
    if storage_format == "HTJ2K":
        _prime_htj2k_encoder()
        levels = resolution_levels_for(array.shape[0], array.shape[1])
        data = imagecodecs.htj2k_encode(
            array,
            reversible=True,
            tlm=True,
            tilepart=_HTJ2K_TILEPARTS_BY_RESOLUTION,
            resolutions=levels,
        )
        return EncodedFrame(bytes(data), target)
    if array.dtype.itemsize == 4 and not _fits_bits(array, J2K_MAX_LOSSLESS_BITS):
        raise FrameEncodeError("JPEG 2000 lossless cannot hold samples wider than 24 bits; keep them uncompressed")
    data = imagecodecs.jpeg2k_encode(array, codecformat="J2K", reversible=True)
    return EncodedFrame(bytes(data), target)


def _fits_bits(array: np.ndarray, bits: int) -> bool:
    if array.size == 0:
        return True
    low, high = int(array.min()), int(array.max())
    if array.dtype.kind == "i":
        return -(1 << (bits - 1)) <= low and high < (1 << (bits - 1))
    return high < (1 << bits)


def encode_for_storage(pixels: np.ndarray, layout: FrameLayout, storage_format: str = "HTJ2K") -> EncodedFrame:
    """Encode losslessly when the format can hold the layout, else keep explicit VR little endian bytes."""
    if lossless_encoding_supported(layout, storage_format):
        return encode_lossless(pixels, storage_format)
    return EncodedFrame(encode_uncompressed(pixels, layout.bits_allocated), EXPLICIT_VR_LITTLE_ENDIAN)


# --------------------------------------------------------------------------------------------- checksum


def pixel_checksum(pixels: np.ndarray) -> int:
    """CRC32 of the little-endian, C-contiguous sample bytes (HealthImaging's full-resolution checksum)."""
    array = np.ascontiguousarray(pixels)
    array = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return zlib.crc32(array.data) & 0xFFFFFFFF
