"""Display pipeline: pixels → modality LUT → VOI / palette / colour → aspect-correct resize → orientation
labels → PNG/JPEG."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import imagecodecs
import numpy as np

from ..dicom.values import DicomAttributes, as_floats, as_int, as_text, find_value, get_value
from .orientation import draw_edge_labels, edge_labels
from .palette import apply_palette, has_palette
from .png import encode_png
from .resample import fit_size, resize
from .window import (
    ResolvedWindow,
    WindowSpec,
    apply_modality_lut,
    apply_voi,
    auto_window,
    padding_value_of,
    rescale_of,
    resolve_window,
)

__all__ = [
    "DisplayImage",
    "ImageFormat",
    "RenderedImage",
    "display_size",
    "encode_image",
    "physical_spacing",
    "picture",
    "reduce_for_size",
    "render_frame",
    "to_display",
]

ImageFormat = Literal["png", "jpeg"]
_LUT_MAX_ENTRIES = 1 << 20  # integer inputs spanning fewer values than this go through a lookup table
MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}


@dataclass(frozen=True)
class DisplayImage:
    """8-bit pixels ready to encode, plus the window that produced them."""

    pixels: np.ndarray  # (H, W) or (H, W, 3) uint8
    window_center: float | None
    window_width: float | None
    window_source: str  # "explicit" | "preset:<name>" | "dicom" | "auto" | "none"


@dataclass(frozen=True)
class RenderedImage:
    """An encoded picture of one frame."""

    data: bytes
    mime_type: str
    width: int
    height: int
    window_center: float | None
    window_width: float | None
    window_source: str


def _photometric(attrs: DicomAttributes, pixels: np.ndarray) -> str:
    text = as_text(get_value(attrs, "PhotometricInterpretation"))
    if text:
        return text.upper()
    return "MONOCHROME2" if pixels.ndim == 2 else "RGB"


def to_display(
    pixels: np.ndarray,
    attrs: DicomAttributes,
    window: WindowSpec | None = None,
    *,
    frame_index: int = 0,
) -> DisplayImage:
    """Map decoded pixels to 8-bit display values (grey for monochrome, RGB for colour and palette)."""
    photometric = _photometric(attrs, pixels)
    if pixels.ndim == 2 and photometric == "PALETTE COLOR" and has_palette(attrs):
        return _colour_to_display(apply_palette(pixels, attrs), attrs, window)
    if pixels.ndim == 3:
        return _colour_to_display(pixels, attrs, window)
    invert = photometric == "MONOCHROME1"
    if pixels.dtype.kind in "ui" and pixels.size:
        low, high = int(pixels.min()), int(pixels.max())
        if high - low < _LUT_MAX_ENTRIES:
            return _grey_via_lut(pixels, low, high, attrs, window, invert, frame_index)
    return _grey_via_float(pixels, attrs, window, invert, frame_index)


def _grey_via_float(
    pixels: np.ndarray,
    attrs: DicomAttributes,
    window: WindowSpec | None,
    invert: bool,
    frame_index: int,
) -> DisplayImage:
    """General path: modality LUT and VOI over every pixel in float32."""
    values = apply_modality_lut(pixels, attrs, frame_index)
    resolved = resolve_window(window, attrs, values, frame_index=frame_index) or _full_range_window(values)
    return _display(apply_voi(values, resolved, invert=invert), resolved)


def _display(grey: np.ndarray, resolved: ResolvedWindow) -> DisplayImage:
    source = "none" if resolved.source == "range" else resolved.source
    return DisplayImage(grey, resolved.center, resolved.width, source)


def _full_range_window(values: np.ndarray) -> ResolvedWindow:
    low = float(values.min()) if values.size else 0.0
    high = float(values.max()) if values.size else 1.0
    return ResolvedWindow((low + high) / 2.0 + 0.5, max(high - low + 1.0, 1.0), "range")


def _grey_via_lut(
    pixels: np.ndarray,
    low: int,
    high: int,
    attrs: DicomAttributes,
    window: WindowSpec | None,
    invert: bool,
    frame_index: int,
) -> DisplayImage:
    """Integer fast path: modality + VOI computed once per stored value in [low, high], then one lookup."""
    table_values = apply_modality_lut(np.arange(low, high + 1, dtype=np.float32), attrs, frame_index)
    resolved = resolve_window(
        window,
        attrs,
        table_values,
        frame_index=frame_index,
        auto=lambda: _auto_from_histogram(pixels, low, table_values, attrs, frame_index),
    )
    if resolved is None:  # window "none": map the whole value range
        resolved = _full_range_window(table_values)
    table = apply_voi(table_values, resolved, invert=invert)
    offset = np.subtract(pixels, low, dtype=np.int32 if pixels.dtype.itemsize <= 2 else np.int64)
    return _display(np.take(table, offset), resolved)


def _auto_from_histogram(
    pixels: np.ndarray,
    low: int,
    table_values: np.ndarray,
    attrs: DicomAttributes,
    frame_index: int,
) -> tuple[float, float]:
    """0.5–99.5 percentile (center, width) from a histogram of stored values (padding value excluded)."""
    counts = np.bincount((pixels.reshape(-1).astype(np.int64) - low), minlength=table_values.size)
    padding = padding_value_of(attrs)
    if padding is not None and low <= padding < low + counts.size and counts.sum() > counts[int(padding) - low]:
        counts[int(padding) - low] = 0
    cumulative = np.cumsum(counts)
    total = cumulative[-1]
    if total == 0:
        return auto_window(table_values)
    lo_index = int(np.searchsorted(cumulative, total * 0.005, side="left"))
    hi_index = int(np.searchsorted(cumulative, total * 0.995, side="left"))
    first, second = float(table_values[lo_index]), float(table_values[hi_index])
    lo_value, hi_value = min(first, second), max(first, second)
    step = abs(rescale_of(attrs, frame_index)[0])  # one stored value in modality units (e.g. 1 HU, 0.001 Gy)
    if hi_value <= lo_value:
        hi_value = lo_value + step
    return (lo_value + hi_value) / 2.0, max(hi_value - lo_value, step)


def _colour_to_display(pixels: np.ndarray, attrs: DicomAttributes, window: WindowSpec | None) -> DisplayImage:
    """Colour stays colour: no VOI unless an explicit/preset window is asked for (then per channel)."""
    rgb = pixels[:, :, :3]
    if window is not None and window.kind in ("explicit", "preset"):
        resolved = resolve_window(window, attrs)
        assert resolved is not None
        return _display(apply_voi(rgb, resolved), resolved)
    if rgb.dtype == np.uint8:
        return DisplayImage(np.ascontiguousarray(rgb), None, None, "none")
    bits = as_int(get_value(attrs, "BitsStored")) or rgb.dtype.itemsize * 8
    maximum = float((1 << bits) - 1) if rgb.dtype.kind == "u" else float(max(int(rgb.max()), 1))
    scaled = rgb.astype(np.float32) * np.float32(255.0 / maximum)
    np.clip(scaled, 0, 255, out=scaled)
    return DisplayImage((scaled + 0.5).astype(np.uint8), None, None, "none")


# --------------------------------------------------------------------------------------------- geometry


#: Images whose longest side is shorter than this are enlarged (by a whole factor) for display.
MIN_DISPLAY_SIZE = 256


def physical_spacing(attrs: DicomAttributes, frame_index: int = 0) -> tuple[float, float] | None:
    """(row spacing, column spacing): PixelSpacing, else ImagerPixelSpacing (mm), else PixelAspectRatio
    (vertical : horizontal, a ratio only); None if unknown (square pixels)."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing", "PixelAspectRatio"):
        values = as_floats(find_value(attrs, keyword, frame_index)) or []
        if len(values) >= 2 and values[0] > 0 and values[1] > 0:
            return values[0], values[1]
    return None


def display_size(
    rows: int, columns: int, spacing: tuple[float, float] | None, max_size: int, *, enlarge: bool = True
) -> tuple[int, int]:
    """Output (height, width): physical aspect (the coarser axis stretched), small images enlarged by a whole
    factor up to MIN_DISPLAY_SIZE (unless `enlarge` is False), the result fitted in max_size."""
    height, width = float(rows), float(columns)
    if spacing is not None:
        row_spacing, column_spacing = spacing
        finest = min(row_spacing, column_spacing)
        height, width = rows * row_spacing / finest, columns * column_spacing / finest
    longest = max(height, width)
    if enlarge and longest < MIN_DISPLAY_SIZE:
        factor = math.ceil(MIN_DISPLAY_SIZE / longest)
        height, width = height * factor, width * factor
    return fit_size(height, width, max_size)


def reduce_for_size(rows: int, columns: int, height: int, width: int, max_levels: int = 32) -> int:
    """Most HTJ2K resolution levels to skip while the decoded frame still covers (height, width).

    Decoding a reduced resolution is much cheaper than decoding full size and resizing: pass the result
    as `decode_frame(..., reduce=...)` when rendering thumbnails or montage tiles.
    """
    levels = 0
    while levels < max_levels:
        next_rows, next_columns = -(-rows // 2 ** (levels + 1)), -(-columns // 2 ** (levels + 1))
        if next_rows < height or next_columns < width:
            break
        levels += 1
    return levels


# --------------------------------------------------------------------------------------------- encoding


def encode_image(pixels: np.ndarray, image_format: ImageFormat = "png", jpeg_quality: int = 90) -> bytes:
    """Encode uint8 grey or RGB pixels as PNG (SUB filter + libdeflate level 1) or baseline JPEG."""
    array = np.ascontiguousarray(pixels)
    if image_format == "png":
        return encode_png(array)
    if image_format == "jpeg":
        return bytes(imagecodecs.jpeg8_encode(array, level=int(jpeg_quality)))
    raise ValueError(f"unsupported image format {image_format!r}")


def render_frame(
    pixels: np.ndarray,
    attributes: DicomAttributes,
    *,
    window: WindowSpec | None = None,
    max_size: int = 512,
    image_format: ImageFormat = "png",
    jpeg_quality: int = 90,
    frame_index: int = 0,
) -> RenderedImage:
    """Render one decoded frame to PNG/JPEG: windowed, resized to fit max_size with the physical aspect (small
    images enlarged), with patient orientation letters at the edges of cross-sectional images."""
    display = to_display(pixels, attributes, window, frame_index=frame_index)
    image = picture(display, attributes, max_size, frame_index=frame_index)
    return RenderedImage(
        data=encode_image(image, image_format, jpeg_quality),
        mime_type=MIME_TYPES[image_format],
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        window_center=display.window_center,
        window_width=display.window_width,
        window_source=display.window_source,
    )


def picture(display: DisplayImage, attributes: DicomAttributes, max_size: int, *, frame_index: int = 0) -> np.ndarray:
    """Display pixels resized to fit max_size with their physical aspect (small images enlarged), with patient
    orientation letters at the edges of cross-sectional images."""
    if max_size < 1:
        raise ValueError("max_size must be >= 1")
    rows, columns = display.pixels.shape[:2]
    height, width = display_size(rows, columns, physical_spacing(attributes, frame_index), max_size)
    image = display.pixels if (height, width) == (rows, columns) else resize(display.pixels, height, width)
    labels = edge_labels(find_value(attributes, "ImageOrientationPatient", frame_index))
    if labels is not None:
        image = draw_edge_labels(image, labels)
    return image
