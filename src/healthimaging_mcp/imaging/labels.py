"""Text burnt into 8-bit images: white letters on a black box (tile numbers, orientation markers)."""

from __future__ import annotations

import numpy as np

from .font import GLYPH_HEIGHT, text_mask, text_width

INK_LEVEL = 255
BOX_LEVEL = 0


def draw_label(canvas: np.ndarray, text: str, *, top: int, left: int, max_width: int, scale: int) -> None:
    """Burn `text` (white on a black box) into `canvas` in place, truncated to max_width pixels."""
    pad = scale
    fits = max(0, (max_width - 2 * pad + scale) // ((5 + 1) * scale))
    text = text[:fits]
    if not text:
        return
    mask = text_mask(text, scale)
    box_h = GLYPH_HEIGHT * scale + 2 * pad
    box_w = text_width(len(text), scale) + 2 * pad
    canvas[top : top + box_h, left : left + box_w] = BOX_LEVEL
    region = canvas[top + pad : top + pad + mask.shape[0], left + pad : left + pad + mask.shape[1]]
    region[mask[: region.shape[0], : region.shape[1]]] = INK_LEVEL
