"""Contact sheets: a grid of 8-bit tiles, each labelled in its top-left corner."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .font import GLYPH_HEIGHT, text_mask, text_width
from .resample import resize

GAP_LEVEL = 64  # grey between tiles, distinct from the black letterbox inside a tile
INK_LEVEL = 255
BOX_LEVEL = 0


def choose_indices(total: int, n: int) -> list[int]:
    """`n` evenly spaced indices in range(total), including the first and the last (n == 1 ⇒ the middle)."""
    if total <= 0 or n <= 0:
        return []
    if n >= total:
        return list(range(total))
    if n == 1:
        return [(total - 1) // 2]
    step = (total - 1) / (n - 1)
    indices = sorted({round(i * step) for i in range(n)})
    return indices


def label_scale(tile_size: int) -> int:
    """Font scale for a tile size: 7 px glyphs up to 119 px tiles, 14 px at 128–199, 21 px at 200–279..."""
    return max(1, round(tile_size / 80))


def fit_tile(tile: np.ndarray, tile_size: int) -> np.ndarray:
    """Scale a uint8 tile to fit tile_size × tile_size keeping its aspect, centred on black."""
    if tile.dtype != np.uint8 or tile.ndim not in (2, 3):
        raise ValueError(f"tiles must be uint8 grey (H, W) or RGB (H, W, 3), got {tile.dtype} {tile.shape}")
    height, width = tile.shape[:2]
    scale = tile_size / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    scaled = resize(tile, new_h, new_w) if (new_h, new_w) != (height, width) else tile
    canvas = np.zeros((tile_size, tile_size, *tile.shape[2:]), dtype=np.uint8)
    top, left = (tile_size - new_h) // 2, (tile_size - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = scaled
    return canvas


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


def make_montage(
    tiles: Sequence[np.ndarray],
    labels: Sequence[str],
    *,
    columns: int | None = None,
    tile_size: int = 128,
    gap: int = 2,
) -> np.ndarray:
    """Lay tiles out in a grid (default: as square as possible) with each label in its tile's corner.

    Returns uint8 (H, W) when every tile is grey, else (H, W, 3). Size:
    rows × tile_size + (rows - 1) × gap by columns × tile_size + (columns - 1) × gap.
    """
    if not tiles:
        raise ValueError("a montage needs at least one tile")
    if len(labels) not in (0, len(tiles)):
        raise ValueError("give one label per tile (or none)")
    if tile_size < 8 or gap < 0:
        raise ValueError("tile_size must be >= 8 and gap >= 0")
    count = len(tiles)
    columns = max(1, min(columns or math.ceil(math.sqrt(count)), count))
    rows = math.ceil(count / columns)
    colour = any(tile.ndim == 3 for tile in tiles)
    height = rows * tile_size + (rows - 1) * gap
    width = columns * tile_size + (columns - 1) * gap
    sheet = np.full((height, width, 3) if colour else (height, width), GAP_LEVEL, dtype=np.uint8)
    scale = label_scale(tile_size)
    for index, tile in enumerate(tiles):
        fitted = fit_tile(tile, tile_size)
        if colour and fitted.ndim == 2:
            fitted = np.repeat(fitted[:, :, None], 3, axis=2)
        row, column = divmod(index, columns)
        top, left = row * (tile_size + gap), column * (tile_size + gap)
        cell = sheet[top : top + tile_size, left : left + tile_size]
        cell[...] = fitted[:, :, :3] if colour else fitted
        if labels:
            draw_label(cell, str(labels[index]), top=0, left=0, max_width=tile_size, scale=scale)
    return sheet
