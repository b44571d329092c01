"""Pure image pipeline: decode stored frames, encode lossless HTJ2K / JPEG 2000, window, render. No I/O.

Modules: `syntaxes` (transfer syntax facts), `codecs` (decode/encode one frame, checksum),
`dataset_pixels` (frames of a pydicom Dataset), `window` (modality LUT, VOI), `palette`,
`resample` (numpy resize), `render` (PNG/JPEG of a frame), `montage` (labelled contact sheets).
"""

from __future__ import annotations

from healthimaging_mcp.lazy import lazy_exports

_EXPORTS = {
    "EncodedFrame": "codecs",
    "FrameDecodeError": "codecs",
    "FrameEncodeError": "codecs",
    "FrameLayout": "codecs",
    "decode_frame": "codecs",
    "encode_for_storage": "codecs",
    "encode_lossless": "codecs",
    "lossless_encoding_supported": "codecs",
    "pixel_checksum": "codecs",
    "choose_indices": "montage",
    "make_montage": "montage",
    "DisplayImage": "render",
    "RenderedImage": "render",
    "render_frame": "render",
    "to_display": "render",
    "WINDOW_PRESETS": "window",
    "ResolvedWindow": "window",
    "WindowSpec": "window",
    "apply_modality_lut": "window",
    "apply_voi": "window",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


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
