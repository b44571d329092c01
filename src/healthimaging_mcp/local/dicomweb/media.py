"""Media types: parsing Accept and Content-Type, and the DICOMweb media type of each transfer syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...imaging.syntaxes import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    H264_SYNTAXES,
    HEVC_SYNTAXES,
    HTJ2K_SYNTAXES,
    JPEG_2000,
    JPEG_2000_LOSSLESS,
    JPEG_2000_PART2,
    JPEG_2000_PART2_LOSSLESS,
    JPEG_LOSSLESS_SYNTAXES,
    JPEG_LS_SYNTAXES,
    JPEG_SYNTAXES,
    JPEG_XL_SYNTAXES,
    MPEG2_SYNTAXES,
    RLE_LOSSLESS,
)

DICOM_JSON = "application/dicom+json"
DICOM = "application/dicom"
MULTIPART = "multipart/related"
OCTET_STREAM = "application/octet-stream"

_FRAME_MEDIA_TYPES: dict[str, str] = {
    EXPLICIT_VR_LITTLE_ENDIAN: OCTET_STREAM,
    RLE_LOSSLESS: "image/dicom-rle",
    JPEG_2000_LOSSLESS: "image/jp2",
    JPEG_2000: "image/jp2",
    JPEG_2000_PART2_LOSSLESS: "image/jpx",
    JPEG_2000_PART2: "image/jpx",
    **{uid: "image/jpeg" for uid in JPEG_SYNTAXES | JPEG_LOSSLESS_SYNTAXES},
    **{uid: "image/jls" for uid in JPEG_LS_SYNTAXES},
    **{uid: "image/jphc" for uid in HTJ2K_SYNTAXES},
    **{uid: "image/jxl" for uid in JPEG_XL_SYNTAXES},
    **{uid: "video/mpeg2" for uid in MPEG2_SYNTAXES},
    **{uid: "video/mp4" for uid in H264_SYNTAXES},
    **{uid: "video/H265" for uid in HEVC_SYNTAXES},
}

_SPLIT_OUTSIDE_QUOTES = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')
_PARAMETER = re.compile(r';\s*([^=;\s]+)\s*=\s*("(?:[^"]*)"|[^;]*)')


def frame_media_type(transfer_syntax_uid: str) -> str:
    """The media type of one frame (or bulk data) in a transfer syntax (PS3.18 Table 8.7.3-5)."""
    return _FRAME_MEDIA_TYPES.get(transfer_syntax_uid, OCTET_STREAM)


@dataclass(frozen=True)
class MediaType:
    """One media type or range with its parameters (names lower-case, values unquoted) and quality."""

    name: str
    parameters: dict[str, str] = field(default_factory=dict)
    quality: float = 1.0

    @property
    def part_type(self) -> str | None:
        """The `type` parameter of multipart/related, lower-case."""
        value = self.parameters.get("type")
        return value.lower() if value else None

    @property
    def transfer_syntax(self) -> str | None:
        return self.parameters.get("transfer-syntax")

    def allows(self, media_type: str) -> bool:
        """Whether this range covers `media_type` (``*/*`` and ``type/*`` are ranges)."""
        return _covers(self.name, media_type)


def _covers(pattern: str, media_type: str) -> bool:
    if pattern in ("*/*", "*"):
        return True
    major, _, minor = pattern.partition("/")
    wanted_major, _, wanted_minor = media_type.lower().partition("/")
    return major == wanted_major and minor in ("*", wanted_minor)


def covers(pattern: str | None, media_type: str) -> bool:
    """Whether a part `type` (None: anything) covers `media_type`."""
    return pattern is None or _covers(pattern, media_type)


def parse_media_type(text: str) -> MediaType:
    name, _, rest = text.strip().partition(";")
    parameters = {key.lower(): value.strip().strip('"') for key, value in _PARAMETER.findall(";" + rest)}
    quality = parameters.pop("q", "1")
    try:
        weight = float(quality)
    except ValueError:
        weight = 0.0
    return MediaType(name.strip().lower(), parameters, weight)


def parse_accept(header: str | None) -> list[MediaType]:
    """Accepted media types, best first (quality, then the order given); no header accepts anything."""
    if not header or not header.strip():
        return [MediaType("*/*")]
    ranges = [parse_media_type(part) for part in _SPLIT_OUTSIDE_QUOTES.split(header) if part.strip()]
    ranges = [r for r in ranges if r.quality > 0]
    return sorted(ranges, key=lambda r: -r.quality)


def accepts(header: str | None, *media_types: str) -> bool:
    """Whether the Accept header allows one of `media_types` as a single (not multipart) body."""
    return any(r.allows(t) for r in parse_accept(header) for t in media_types if r.name != MULTIPART)
