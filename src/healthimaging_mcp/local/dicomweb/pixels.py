"""Stored frames → what WADO-RS sends: the stored bytes as they are, or Explicit VR Little Endian samples.

Transcoded frames hold the pixels pydicom would give for the original file: colour as RGB whatever the
original PhotometricInterpretation was, so a decoded colour instance is written as RGB.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...dicom.part10 import PixelData
from ...dicom.values import as_text
from ...imaging.codecs import FrameDecodeError, decode_frame
from ...imaging.layout import FrameLayout
from ...imaging.native import encode_uncompressed, pack_bits
from ...imaging.syntaxes import (
    DECODABLE_SYNTAXES,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    NATIVE_SYNTAXES,
    VIDEO_SYNTAXES,
)
from .errors import NotAcceptableError

_LITTLE_ENDIAN_SAMPLES = frozenset({EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN})
_ITEM_TAG = b"\xfe\xff\x00\xe0"  # an encapsulated Pixel Data value starts with an item


def decodable(stored_syntax: str) -> bool:
    return stored_syntax in DECODABLE_SYNTAXES


def decode_layout(attributes: Mapping[str, Any], stored_syntax: str) -> FrameLayout:
    """The layout to decode stored frames with: transcoded colour frames hold RGB samples."""
    try:
        layout = FrameLayout.from_attributes(attributes)
    except ValueError as exc:
        raise NotAcceptableError(f"The pixel data cannot be decoded: {exc}") from None
    original = as_text(attributes.get("TransferSyntaxUID"))
    if layout.samples_per_pixel == 3 and stored_syntax != original and layout.photometric_interpretation != "RGB":
        return dataclasses.replace(layout, photometric_interpretation="RGB", planar_configuration=0)
    return layout


def explicit_le_frame(data: bytes, stored_syntax: str, layout: FrameLayout) -> bytes:
    """One frame as Explicit VR Little Endian sample bytes (1-bit samples packed)."""
    if stored_syntax in _LITTLE_ENDIAN_SAMPLES:
        return data
    return encode_uncompressed(_decode(data, stored_syntax, layout), layout.bits_allocated)


def native_pixel_data(frames: Sequence[bytes], stored_syntax: str, layout: FrameLayout) -> PixelData:
    """All frames as one native Pixel Data value (1-bit frames packed together, as the standard lays them).

    Colour comes out as RGB: decoders give RGB, and stored uncompressed frames were RGB when stored."""
    photometric = "RGB" if layout.samples_per_pixel == 3 else None
    if stored_syntax in _LITTLE_ENDIAN_SAMPLES and layout.bits_allocated != 1:
        return PixelData(native=b"".join(frames), photometric_interpretation=photometric)
    pixels = [_decode(data, stored_syntax, layout) for data in frames]
    if layout.bits_allocated == 1:
        return PixelData(native=pack_bits(np.concatenate([p.reshape(-1) for p in pixels])))
    data = b"".join(encode_uncompressed(p, layout.bits_allocated) for p in pixels)
    return PixelData(native=data, photometric_interpretation=photometric)


def stored_pixel_data(frames: Sequence[bytes], stored_syntax: str) -> PixelData:
    """The stored frames as the Pixel Data of their own transfer syntax."""
    if stored_syntax in NATIVE_SYNTAXES:
        return PixelData(native=b"".join(frames))
    if len(frames) == 1 and frames[0].startswith(_ITEM_TAG) and stored_syntax not in VIDEO_SYNTAXES:
        return PixelData(encapsulated=frames[0])  # kept as one blob: already the encapsulated value
    return PixelData(frames=tuple(frames))


def _decode(data: bytes, stored_syntax: str, layout: FrameLayout) -> np.ndarray:
    try:
        return decode_frame(data, stored_syntax, layout)
    except FrameDecodeError:
        raise NotAcceptableError(
            "The stored frames cannot be decoded to Explicit VR Little Endian; ask for transfer-syntax=* "
            "to receive them as stored"
        ) from None
