"""Pure image pipeline: decode stored frames, encode lossless HTJ2K / JPEG 2000, window, render. No I/O.

Modules: `syntaxes` (transfer syntax facts), `codecs` (decode/encode one frame, checksum),
`dataset_pixels` (frames of a pydicom Dataset), `window` (modality LUT, VOI), `palette`,
`resample` (numpy resize), `render` (PNG/JPEG of a frame), `montage` (labelled contact sheets).
"""

from __future__ import annotations

from .codecs import (
    EncodedFrame,
    FrameDecodeError,
    FrameEncodeError,
    FrameLayout,
    decode_frame,
    encode_for_storage,
    encode_lossless,
    lossless_encoding_supported,
    pixel_checksum,
)
from .montage import choose_indices, make_montage
from .render import DisplayImage, RenderedImage, render_frame, to_display
from .window import WINDOW_PRESETS, ResolvedWindow, WindowSpec, apply_modality_lut, apply_voi

__all__ = [
    "WINDOW_PRESETS",
    "DisplayImage",
    "EncodedFrame",
    "FrameDecodeError",
    "FrameEncodeError",
    "FrameLayout",
    "RenderedImage",
    "ResolvedWindow",
    "WindowSpec",
    "apply_modality_lut",
    "apply_voi",
    "choose_indices",
    "decode_frame",
    "encode_for_storage",
    "encode_lossless",
    "lossless_encoding_supported",
    "make_montage",
    "pixel_checksum",
    "render_frame",
    "to_display",
]
