"""Patient orientation letters (R/L, A/P, H/F) for the edges of a cross-sectional image (PS3.3 C.7.6.2.1.1).

ImageOrientationPatient gives the patient-space directions of the rows (left → right on screen) and the
columns (top → bottom). Patient axes: +x = left (L), +y = posterior (P), +z = head (H).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dicom.values import as_floats
from .font import GLYPH_HEIGHT, text_width
from .labels import draw_label

_AXES = (("R", "L"), ("A", "P"), ("F", "H"))  # (negative, positive) direction of x, y, z
OBLIQUE_THRESHOLD = 0.25  # a component this large (cosine) adds its letter: "LP" for an oblique row


@dataclass(frozen=True)
class EdgeLabels:
    top: str
    bottom: str
    left: str
    right: str


def direction_letters(vector: tuple[float, float, float]) -> str:
    """The letters a direction points to, strongest first: (1, 0, 0) → "L", (0.7, -0.7, 0) → "LA"."""
    ranked = sorted(range(3), key=lambda axis: -abs(vector[axis]))
    letters = [_AXES[axis][vector[axis] > 0] for axis in ranked if abs(vector[axis]) >= OBLIQUE_THRESHOLD]
    return "".join(letters)


def edge_labels(image_orientation: Any) -> EdgeLabels | None:
    """Letters for each edge from ImageOrientationPatient (6 cosines); None when absent or degenerate."""
    cosines = as_floats(image_orientation)
    if cosines is None or len(cosines) != 6:
        return None
    row = (cosines[0], cosines[1], cosines[2])
    column = (cosines[3], cosines[4], cosines[5])
    right, bottom = direction_letters(row), direction_letters(column)
    left = direction_letters((-row[0], -row[1], -row[2]))
    top = direction_letters((-column[0], -column[1], -column[2]))
    if not (right and bottom):
        return None
    return EdgeLabels(top=top, bottom=bottom, left=left, right=right)


def label_scale_for(height: int, width: int) -> int:
    """Glyph scale: 7 px letters below 256 px, 14 px up to 511, 21 px from 768 …"""
    return max(1, min(height, width) // 256)


def draw_edge_labels(image: np.ndarray, labels: EdgeLabels) -> np.ndarray:
    """A copy of `image` (uint8 grey or RGB) with the letters centred on each edge, white on black boxes."""
    out = np.array(image, copy=True)
    height, width = out.shape[:2]
    scale = label_scale_for(height, width)
    box_h = GLYPH_HEIGHT * scale + 2 * scale

    def box_width(text: str) -> int:
        return text_width(len(text), scale) + 2 * scale

    def put(text: str, top: int, left: int) -> None:
        top = int(np.clip(top, 0, max(height - box_h, 0)))
        left = int(np.clip(left, 0, max(width - box_width(text), 0)))
        draw_label(out, text, top=top, left=left, max_width=width - left, scale=scale)

    put(labels.top, 0, (width - box_width(labels.top)) // 2)
    put(labels.bottom, height - box_h, (width - box_width(labels.bottom)) // 2)
    put(labels.left, (height - box_h) // 2, 0)
    put(labels.right, (height - box_h) // 2, width - box_width(labels.right))
    return out
