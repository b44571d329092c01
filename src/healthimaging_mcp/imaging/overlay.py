"""Measurements drawn on a displayed image: region outlines, lines and point markers in colour over grey."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ROI_COLOUR = (255, 220, 0)  # yellow: stands out from every grey level

__all__ = ["ROI_COLOUR", "draw_marker", "draw_outline", "draw_segment", "to_rgb"]


def to_rgb(grey: np.ndarray) -> np.ndarray:
    """A uint8 grey image as RGB (an RGB image is copied)."""
    if grey.ndim == 3:
        return np.array(grey[:, :, :3], copy=True)
    return np.repeat(grey[:, :, None], 3, axis=2)


def draw_outline(canvas: np.ndarray, mask: np.ndarray, colour: Sequence[int] = ROI_COLOUR) -> None:
    """Colour the pixels of `mask` that touch a pixel outside it (4-neighbours), in place."""
    inside = np.pad(mask, 1, constant_values=False)
    interior = inside[1:-1, 1:-1] & inside[:-2, 1:-1] & inside[2:, 1:-1] & inside[1:-1, :-2] & inside[1:-1, 2:]
    canvas[mask & ~interior] = colour


def draw_segment(
    canvas: np.ndarray, start: Sequence[float], end: Sequence[float], colour: Sequence[int] = ROI_COLOUR
) -> None:
    """A one-pixel line between two (column, row) points, in place (clipped to the canvas)."""
    steps = int(max(abs(end[0] - start[0]), abs(end[1] - start[1]))) + 1
    columns = np.rint(np.linspace(start[0], end[0], steps + 1)).astype(np.intp)
    rows = np.rint(np.linspace(start[1], end[1], steps + 1)).astype(np.intp)
    inside = (rows >= 0) & (rows < canvas.shape[0]) & (columns >= 0) & (columns < canvas.shape[1])
    canvas[rows[inside], columns[inside]] = colour


def draw_marker(canvas: np.ndarray, point: Sequence[float], size: int = 6, colour: Sequence[int] = ROI_COLOUR) -> None:
    """A cross centred on a (column, row) point, with a gap in the middle so the point itself stays visible."""
    column, row = point
    for sign in (-1, 1):
        draw_segment(canvas, (column + sign * 2, row), (column + sign * size, row), colour)
        draw_segment(canvas, (column, row + sign * 2), (column, row + sign * size), colour)
