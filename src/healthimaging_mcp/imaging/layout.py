"""FrameLayout: the Image Pixel module attributes a decoder needs to interpret one frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dicom.values import DicomAttributes, as_int, as_text, get_value

MONOCHROME_INTERPRETATIONS = frozenset({"MONOCHROME1", "MONOCHROME2"})
YBR_FULL_INTERPRETATIONS = frozenset({"YBR_FULL", "YBR_FULL_422"})


@dataclass(frozen=True)
class FrameLayout:
    """Geometry and sample format of one frame (DICOM Image Pixel module)."""

    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric_interpretation: str
    planar_configuration: int = 0

    def __post_init__(self) -> None:
        if self.rows <= 0 or self.columns <= 0:
            raise ValueError(f"invalid frame size {self.rows}x{self.columns}")
        if self.bits_allocated not in (1, 8, 16, 32):
            raise ValueError(f"unsupported BitsAllocated {self.bits_allocated}")
        if not 1 <= self.bits_stored <= self.bits_allocated:
            raise ValueError(f"BitsStored {self.bits_stored} not in 1..{self.bits_allocated}")
        if self.samples_per_pixel not in (1, 3, 4):
            raise ValueError(f"unsupported SamplesPerPixel {self.samples_per_pixel}")

    @classmethod
    def from_attributes(cls, attrs: DicomAttributes) -> FrameLayout:
        """Build from DICOM keywords in a HealthImaging metadata dict or a pydicom Dataset."""
        rows = as_int(get_value(attrs, "Rows"))
        columns = as_int(get_value(attrs, "Columns"))
        bits_allocated = as_int(get_value(attrs, "BitsAllocated"))
        if rows is None or columns is None or bits_allocated is None:
            raise ValueError("Rows, Columns and BitsAllocated are required to interpret pixel data")
        samples = as_int(get_value(attrs, "SamplesPerPixel")) or 1
        bits_stored = as_int(get_value(attrs, "BitsStored")) or bits_allocated
        photometric = as_text(get_value(attrs, "PhotometricInterpretation"))
        if photometric is None:
            photometric = "MONOCHROME2" if samples == 1 else "RGB"
        return cls(
            rows=rows,
            columns=columns,
            samples_per_pixel=samples,
            bits_allocated=bits_allocated,
            bits_stored=min(bits_stored, bits_allocated),
            pixel_representation=1 if as_int(get_value(attrs, "PixelRepresentation")) == 1 else 0,
            photometric_interpretation=photometric.upper(),
            planar_configuration=1 if as_int(get_value(attrs, "PlanarConfiguration")) == 1 else 0,
        )

    @property
    def dtype(self) -> np.dtype[Any]:
        """Native-endian numpy dtype of decoded samples (1-bit data decodes to uint8 0/1)."""
        if self.bits_allocated == 1:
            return np.dtype(np.uint8)
        kind = "i" if self.pixel_representation == 1 else "u"
        return np.dtype(f"{kind}{self.bits_allocated // 8}")

    @property
    def shape(self) -> tuple[int, ...]:
        """Decoded frame shape: (rows, columns) or (rows, columns, samples)."""
        if self.samples_per_pixel == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples_per_pixel)

    @property
    def pixel_count(self) -> int:
        return self.rows * self.columns

    @property
    def is_monochrome(self) -> bool:
        return self.photometric_interpretation in MONOCHROME_INTERPRETATIONS

    @property
    def is_ybr_full(self) -> bool:
        """YBR_FULL or YBR_FULL_422: samples need conversion to RGB after decoding."""
        return self.photometric_interpretation in YBR_FULL_INTERPRETATIONS

    def uncompressed_frame_bytes(self) -> int:
        """Byte length of one uncompressed frame (1-bit frames round up to whole bytes)."""
        if self.bits_allocated == 1:
            return (self.pixel_count * self.samples_per_pixel + 7) // 8
        samples = self.pixel_count * self.samples_per_pixel
        if self.photometric_interpretation == "YBR_FULL_422" and self.samples_per_pixel == 3:
            samples = self.pixel_count * 2
        return samples * (self.bits_allocated // 8)
