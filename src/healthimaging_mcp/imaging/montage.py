"""Contact sheets: decoded frames displayed, sized with their physical aspect and tiled in a labelled grid."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .font import GLYPH_HEIGHT
from .labels import draw_label
from .render import DisplayImage, ImageFormat, display_size, encode_image, physical_spacing, to_display
from .resample import resize
from .window import WindowSpec, apply_modality_lut, auto_window

GAP_LEVEL = 64  # grey between tiles, distinct from the black letterbox inside a tile
MAX_SIDE = 2048  # pixels, either way
MAX_BYTES = 768 * 1024  # encoded; about 1 MB as base64 in an MCP answer
GAP = 2
MIN_TILE = 64


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


def sheet_layout(count: int, tile_size: int) -> tuple[int, int]:
    """(columns, tile side) for `count` tiles of at most `tile_size`: as square as possible, within MAX_SIDE."""
    columns = math.ceil(math.sqrt(count)) if count else 1
    return columns, min(tile_size, max(MIN_TILE, (MAX_SIDE - GAP * (columns - 1)) // columns))


@dataclass(frozen=True)
class MontageFrame:
    """One decoded frame to tile, with the attributes that say how to display it, and its label."""

    pixels: np.ndarray
    attributes: Mapping[str, Any]
    frame_index: int
    label: str


@dataclass(frozen=True)
class Montage:
    """An encoded contact sheet."""

    data: bytes
    width: int
    height: int
    tile: int  # the tile side used: smaller than asked when the picture had to shrink to MAX_BYTES
    displays: list[DisplayImage]  # each frame as displayed, with its window


def render_montage(
    frames: Sequence[MontageFrame],
    window: WindowSpec,
    *,
    columns: int,
    tile: int,
    image_format: ImageFormat,
    share_auto_window: bool = True,
) -> Montage:
    """The frames displayed in `window`, tiled `columns` wide and encoded within MAX_BYTES (tiles shrink, down to
    MIN_TILE, until the picture fits). When every frame gets an automatic window they share one, computed over
    all of them, so tiles of a series compare (unless `share_auto_window` is False: frames of different series)."""
    displays = [to_display(f.pixels, f.attributes, window, frame_index=f.frame_index) for f in frames]
    if share_auto_window and all(d.window_source == "auto" for d in displays):
        values = [apply_modality_lut(f.pixels, f.attributes, f.frame_index).ravel() for f in frames]
        shared = WindowSpec.explicit(*auto_window(np.concatenate(values)))
        displays = [
            replace(to_display(f.pixels, f.attributes, shared, frame_index=f.frame_index), window_source="auto")
            for f in frames
        ]
    labels = [f.label for f in frames]
    while True:
        tiles = [_tile(d.pixels, f, tile) for d, f in zip(displays, frames)]
        sheet = make_montage(tiles, labels, columns=columns, tile_size=tile, gap=GAP)
        data = encode_image(sheet, image_format)
        if len(data) <= MAX_BYTES or tile <= MIN_TILE:
            return Montage(data, int(sheet.shape[1]), int(sheet.shape[0]), tile, displays)
        tile = max(MIN_TILE, int(tile * math.sqrt(MAX_BYTES / len(data)) * 0.95))


def _tile(pixels: np.ndarray, frame: MontageFrame, tile: int) -> np.ndarray:
    """A frame's display pixels with its physical aspect, at most `tile` pixels on its longer side."""
    rows, columns = pixels.shape[:2]
    spacing = physical_spacing(frame.attributes, frame.frame_index)
    height, width = display_size(rows, columns, spacing, tile, enlarge=False)
    return pixels if (height, width) == (rows, columns) else resize(pixels, height, width)


def side_by_side(panels: Sequence[np.ndarray], labels: Sequence[str], *, scale: int) -> np.ndarray:
    """uint8 grey panels next to each other, bottom-aligned on black, each under a header band with its label."""
    header = GLYPH_HEIGHT * scale + 4 * scale
    height = max(p.shape[0] for p in panels) + header
    width = sum(p.shape[1] for p in panels) + GAP * (len(panels) - 1)
    sheet = np.full((height, width), GAP_LEVEL, dtype=np.uint8)
    left = 0
    for panel, label in zip(panels, labels):
        rows, columns = panel.shape[:2]
        sheet[:, left : left + columns] = 0
        sheet[height - rows :, left : left + columns] = panel
        draw_label(sheet, label, top=scale, left=left + scale, max_width=columns - 2 * scale, scale=scale)
        left += columns + GAP
    return sheet
