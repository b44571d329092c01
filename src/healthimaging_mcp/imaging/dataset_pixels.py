"""Frames out of a pydicom Dataset (no I/O): native syntaxes via pydicom, encapsulated ones via imagecodecs.

pydicom 3 decodes uncompressed (LE/BE, deflated) and RLE pixel data itself; JPEG, JPEG-LS and JPEG 2000
need plugins that are not installed here, so encapsulated frames go through `codecs.decode_frame`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.pixels.utils import iter_pixels

from ..dicom.values import as_int, get_value
from .codecs import FrameDecodeError, decode_frame
from .layout import FrameLayout
from .native import encode_uncompressed
from .syntaxes import NATIVE_SYNTAXES, RLE_LOSSLESS, normalize_uid

#: Syntaxes whose pixel data pydicom decodes without plugins.
_PYDICOM_NATIVE = NATIVE_SYNTAXES | {RLE_LOSSLESS}


def transfer_syntax_of(ds: Dataset) -> str:
    """The dataset's transfer syntax UID; FrameDecodeError if the file meta information lacks it."""
    meta = getattr(ds, "file_meta", None)
    uid = normalize_uid(getattr(meta, "TransferSyntaxUID", None)) if meta is not None else None
    if uid is None:
        raise FrameDecodeError("the dataset has no (0002,0010) Transfer Syntax UID")
    return uid


def frame_layout(ds: Dataset) -> FrameLayout:
    """The Image Pixel module of `ds` as a FrameLayout."""
    try:
        return FrameLayout.from_attributes(ds)
    except ValueError as exc:
        raise FrameDecodeError(str(exc)) from exc


def number_of_frames(ds: Dataset) -> int:
    """NumberOfFrames (missing, empty or 0 ⇒ 1)."""
    raw: Any = get_value(ds, "NumberOfFrames")
    if raw is None or raw == "":
        return 1
    count = as_int(raw)
    if count is None or count < 0:
        raise FrameDecodeError(f"invalid NumberOfFrames {raw!r}")
    return max(count, 1)


def iter_frames(ds: Dataset) -> Iterator[np.ndarray]:
    """Yield every frame as pixels (see `codecs.decode_frame` for the array conventions)."""
    if "PixelData" not in ds:
        raise FrameDecodeError("the dataset has no Pixel Data")
    uid = transfer_syntax_of(ds)
    if uid in _PYDICOM_NATIVE:
        yield from _iter_pydicom_frames(ds)
        return
    layout = frame_layout(ds)
    for encoded in iter_encoded_frames(ds):
        yield decode_frame(encoded, uid, layout)


def _iter_pydicom_frames(ds: Dataset) -> Iterator[np.ndarray]:
    frame_layout(ds)  # fail early with a clear message on a broken Image Pixel module
    try:
        for frame in iter_pixels(ds):
            if not frame.dtype.isnative:
                frame = frame.astype(frame.dtype.newbyteorder("="))
            yield np.ascontiguousarray(frame)
    except (ValueError, AttributeError, TypeError, NotImplementedError, RuntimeError) as exc:
        raise FrameDecodeError(f"pydicom could not decode the pixel data: {exc}") from exc


def iter_encoded_frames(ds: Dataset) -> Iterator[bytes]:
    """Yield each frame's stored bytes.

    Encapsulated syntaxes yield the original codestream of each frame (what HealthImaging keeps for
    `.4.50`/`.4.91`/`.4.203`/`.4.112`). Native syntaxes yield each frame as explicit VR little endian
    sample bytes, 1-bit data packed per frame (what HealthImaging keeps for binary segmentations).
    """
    if "PixelData" not in ds:
        raise FrameDecodeError("the dataset has no Pixel Data")
    uid = transfer_syntax_of(ds)
    if uid in NATIVE_SYNTAXES:
        layout = frame_layout(ds)
        for frame in _iter_pydicom_frames(ds):
            yield encode_uncompressed(frame, layout.bits_allocated)
        return
    count = number_of_frames(ds)
    try:
        frames = generate_frames(ds.PixelData, number_of_frames=count, extended_offsets=_extended_offsets(ds))
        yielded = 0
        for fragment_bytes in frames:
            if yielded == count:
                break
            yielded += 1
            yield bytes(fragment_bytes)
    except (ValueError, TypeError) as exc:
        raise FrameDecodeError(f"cannot split the encapsulated pixel data into frames: {exc}") from exc
    if yielded < count:
        raise FrameDecodeError(f"found {yielded} frames of encapsulated pixel data, NumberOfFrames is {count}")


def _extended_offsets(ds: Dataset) -> tuple[bytes, bytes] | None:
    offsets = ds.get("ExtendedOffsetTable")
    lengths = ds.get("ExtendedOffsetTableLengths")
    if offsets and lengths:
        return bytes(offsets), bytes(lengths)
    return None
