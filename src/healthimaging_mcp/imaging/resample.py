"""Separable image resizing with numpy only: antialiased triangle filter down, bilinear up.

Each axis gets a dense (out × in) weight matrix; the image is multiplied by one matrix per axis.
Downscaling widens the triangle filter by the scale factor (like Pillow's BILINEAR with reducing),
so every input pixel contributes and thin structures do not alias.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def _weights_cached(size_in: int, size_out: int) -> np.ndarray:
    scale = size_in / size_out
    support = max(scale, 1.0)  # triangle half-width in input pixels
    centers = (np.arange(size_out, dtype=np.float64) + 0.5) * scale - 0.5
    positions = np.arange(size_in, dtype=np.float64)
    distance = np.abs(positions[None, :] - centers[:, None]) / support
    weights = np.clip(1.0 - distance, 0.0, None)
    totals = weights.sum(axis=1, keepdims=True)
    # An output pixel whose window falls between samples (tiny upscales at the edge) takes the nearest.
    empty = totals[:, 0] == 0
    if empty.any():
        nearest = np.clip(np.rint(centers[empty]).astype(int), 0, size_in - 1)
        weights[empty] = 0.0
        weights[np.flatnonzero(empty), nearest] = 1.0
        totals = weights.sum(axis=1, keepdims=True)
    result: np.ndarray = (weights / totals).astype(np.float32)
    result.flags.writeable = False
    return result


def resample_weights(size_in: int, size_out: int) -> np.ndarray:
    """The (size_out, size_in) float32 weight matrix for one axis (rows sum to 1; read-only, cached)."""
    if size_in <= 0 or size_out <= 0:
        raise ValueError("sizes must be positive")
    return _weights_cached(int(size_in), int(size_out))


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D or (H, W, C) image to (height, width); the output keeps the input dtype and range."""
    if image.ndim not in (2, 3):
        raise ValueError(f"expected a 2-D or (H, W, C) image, got shape {image.shape}")
    in_h, in_w = image.shape[:2]
    if (in_h, in_w) == (height, width):
        return image.copy()
    work = image.astype(np.float32, copy=False)
    if in_h != height:
        rows = resample_weights(in_h, height)
        flat = work.reshape(in_h, -1)
        work = (rows @ flat).reshape((height, *image.shape[1:]))
    if in_w != width:
        cols = resample_weights(in_w, width)
        if work.ndim == 2:
            work = work @ cols.T
        else:
            channels = work.shape[2]
            moved = np.ascontiguousarray(work.transpose(0, 2, 1))  # (H, C, W)
            work = (moved @ cols.T).transpose(0, 2, 1)
            work = np.ascontiguousarray(work).reshape(height, width, channels)
    return _restore_dtype(work, image.dtype)


def _restore_dtype(work: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        np.rint(work, out=work)
        np.clip(work, info.min, info.max, out=work)
        return work.astype(dtype)
    if dtype == np.bool_:
        return work >= 0.5
    return work.astype(dtype, copy=False)


def fit_size(height: float, width: float, max_size: int) -> tuple[int, int]:
    """Largest (h, w) with the same aspect that fits in max_size × max_size, never above (height, width)."""
    if height <= 0 or width <= 0:
        raise ValueError("sizes must be positive")
    scale = min(1.0, max_size / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))
