"""Minimal codestream header parsing: what decoders need to know before/after decoding a frame.

JPEG / JPEG-LS: sample precision, component ids and the JFIF / Adobe APP markers (colour space hints).
JPEG 2000 / HTJ2K: image size, precision, signedness, decomposition levels, multi-component transform.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_J2K_SOC_SIZ = b"\xff\x4f\xff\x51"
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}  # F7 = JPEG-LS SOF55
_PROGRESSIONS = ("LRCP", "RLCP", "RPCL", "PCRL", "CPRL")


@dataclass(frozen=True)
class JpegHeader:
    """Facts from a JPEG (ISO 10918) or JPEG-LS (ISO 14495) frame header."""

    precision: int
    rows: int
    columns: int
    components: int
    component_ids: tuple[int, ...]
    has_jfif: bool
    adobe_transform: int | None

    @property
    def has_rgb_component_ids(self) -> bool:
        return self.component_ids in ((82, 71, 66), (114, 103, 98))


@dataclass(frozen=True)
class J2kHeader:
    """Facts from a JPEG 2000 / HTJ2K main header (SIZ and COD)."""

    rows: int
    columns: int
    components: int
    precision: int
    is_signed: bool
    levels: int
    progression: str
    uses_mct: bool
    is_jp2: bool
    has_tlm: bool


def parse_jpeg_header(data: bytes) -> JpegHeader | None:
    """Walk JPEG markers up to the first SOS; None if `data` is not a JPEG stream."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    has_jfif = False
    adobe: int | None = None
    sof: tuple[int, int, int, tuple[int, ...]] | None = None
    size = len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            pos += 1
            continue
        marker = data[pos + 1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 1 if marker == 0xFF else 2
            continue
        if marker == 0xDA:  # start of scan: header is complete
            break
        length = struct.unpack_from(">H", data, pos + 2)[0]
        segment = data[pos + 4 : pos + 2 + length]
        if marker == 0xE0 and segment.startswith(b"JFIF\x00"):
            has_jfif = True
        elif marker == 0xEE and segment.startswith(b"Adobe") and len(segment) >= 12:
            adobe = segment[11]
        elif marker in _JPEG_SOF_MARKERS and sof is None and len(segment) >= 6:
            precision, rows, columns, count = struct.unpack_from(">BHHB", segment, 0)
            ids = tuple(segment[6 + 3 * i] for i in range(count) if 6 + 3 * i < len(segment))
            sof = (precision, rows, columns, ids)
        pos += 2 + length
    if sof is None:
        return None
    precision, rows, columns, ids = sof
    return JpegHeader(precision, rows, columns, len(ids), ids, has_jfif, adobe)


def find_j2k_codestream(data: bytes) -> int:
    """Offset of the J2K codestream (SOC+SIZ) in `data`: 0 if raw, > 0 inside JP2, -1 if none."""
    if data[:4] == _J2K_SOC_SIZ:
        return 0
    # JP2 file: the codestream lives in the 'jp2c' box; a search is enough for a header peek.
    return data.find(_J2K_SOC_SIZ, 0, 1 << 16)


def parse_j2k_header(data: bytes) -> J2kHeader | None:
    """Parse SIZ and COD of a J2K codestream (raw or wrapped in JP2); None if not JPEG 2000."""
    start = find_j2k_codestream(data)
    if start < 0 or len(data) < start + 42:
        return None
    pos = start + 2
    siz_length = struct.unpack_from(">H", data, pos + 2)[0]
    siz = data[pos + 4 : pos + 2 + siz_length]
    if len(siz) < 38:
        return None
    _rsiz, width, height, x_offset, y_offset = struct.unpack_from(">HIIII", siz, 0)
    components = struct.unpack_from(">H", siz, 34)[0]
    ssiz = siz[36]
    levels, progression, uses_mct, has_tlm = 0, "LRCP", False, False
    pos += 2 + siz_length
    while pos + 4 <= len(data):
        marker = struct.unpack_from(">H", data, pos)[0]
        if marker in (0xFF90, 0xFF93, 0xFFD9) or marker >> 8 != 0xFF:
            break
        length = struct.unpack_from(">H", data, pos + 2)[0]
        segment = data[pos + 4 : pos + 2 + length]
        if marker == 0xFF52 and len(segment) >= 6:
            progression = _PROGRESSIONS[segment[1]] if segment[1] < len(_PROGRESSIONS) else "unknown"
            uses_mct = segment[4] != 0
            levels = segment[5]
        elif marker == 0xFF55:
            has_tlm = True
        pos += 2 + length
    return J2kHeader(
        rows=height - y_offset,
        columns=width - x_offset,
        components=components,
        precision=(ssiz & 0x7F) + 1,
        is_signed=bool(ssiz & 0x80),
        levels=levels,
        progression=progression,
        uses_mct=uses_mct,
        is_jp2=start > 0,
        has_tlm=has_tlm,
    )
