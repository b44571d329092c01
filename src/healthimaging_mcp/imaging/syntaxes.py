"""Transfer syntax facts: UIDs, how HealthImaging stores each one, and GetImageFrame content types."""

from __future__ import annotations

from typing import Literal

from ..dicom.values import as_text

StorageFormat = Literal["HTJ2K", "JPEG_2000_LOSSLESS"]

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
ENCAPSULATED_UNCOMPRESSED = "1.2.840.10008.1.2.1.98"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"

JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
JPEG_LS_NEAR_LOSSLESS = "1.2.840.10008.1.2.4.81"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG_2000 = "1.2.840.10008.1.2.4.91"
JPEG_2000_PART2_LOSSLESS = "1.2.840.10008.1.2.4.92"
JPEG_2000_PART2 = "1.2.840.10008.1.2.4.93"
JPEG_XL_LOSSLESS = "1.2.840.10008.1.2.4.110"
JPEG_XL_JPEG_RECOMPRESSION = "1.2.840.10008.1.2.4.111"
JPEG_XL = "1.2.840.10008.1.2.4.112"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"
HTJ2K_LOSSLESS_RPCL = "1.2.840.10008.1.2.4.202"
HTJ2K = "1.2.840.10008.1.2.4.203"

MPEG2_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2.4.100",
        "1.2.840.10008.1.2.4.100.1",
        "1.2.840.10008.1.2.4.101",
        "1.2.840.10008.1.2.4.101.1",
    }
)
H264_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2.4.102",
        "1.2.840.10008.1.2.4.102.1",
        "1.2.840.10008.1.2.4.103",
        "1.2.840.10008.1.2.4.103.1",
        "1.2.840.10008.1.2.4.104",
        "1.2.840.10008.1.2.4.104.1",
        "1.2.840.10008.1.2.4.105",
        "1.2.840.10008.1.2.4.105.1",
        "1.2.840.10008.1.2.4.106",
        "1.2.840.10008.1.2.4.106.1",
    }
)
HEVC_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108"})
VIDEO_SYNTAXES = MPEG2_SYNTAXES | H264_SYNTAXES | HEVC_SYNTAXES

#: Pixel data stored as plain sample bytes (the data set itself may be deflated or big endian).
NATIVE_SYNTAXES = frozenset(
    {
        IMPLICIT_VR_LITTLE_ENDIAN,
        EXPLICIT_VR_LITTLE_ENDIAN,
        DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        EXPLICIT_VR_BIG_ENDIAN,
    }
)
JPEG_SYNTAXES = frozenset({JPEG_BASELINE, JPEG_EXTENDED})
JPEG_LOSSLESS_SYNTAXES = frozenset({JPEG_LOSSLESS, JPEG_LOSSLESS_SV1})
JPEG_LS_SYNTAXES = frozenset({JPEG_LS_LOSSLESS, JPEG_LS_NEAR_LOSSLESS})
JPEG_2000_SYNTAXES = frozenset({JPEG_2000_LOSSLESS, JPEG_2000, JPEG_2000_PART2_LOSSLESS, JPEG_2000_PART2})
HTJ2K_SYNTAXES = frozenset({HTJ2K_LOSSLESS, HTJ2K_LOSSLESS_RPCL, HTJ2K})
JPEG_XL_SYNTAXES = frozenset({JPEG_XL_LOSSLESS, JPEG_XL_JPEG_RECOMPRESSION, JPEG_XL})

#: Every syntax whose frames `codecs.decode_frame` can turn into pixels.
DECODABLE_SYNTAXES = (
    NATIVE_SYNTAXES
    | {ENCAPSULATED_UNCOMPRESSED, RLE_LOSSLESS}
    | JPEG_SYNTAXES
    | JPEG_LOSSLESS_SYNTAXES
    | JPEG_LS_SYNTAXES
    | JPEG_2000_SYNTAXES
    | HTJ2K_SYNTAXES
    | JPEG_XL_SYNTAXES
)

OCTET_STREAM = "application/octet-stream"

#: GetImageFrame Content-Type by StoredTransferSyntaxUID (reference §5.1; `.4.90`/`.4.201` inferred).
CONTENT_TYPE_BY_STORED_SYNTAX: dict[str, str] = {
    HTJ2K_LOSSLESS_RPCL: "image/jph",
    HTJ2K_LOSSLESS: "image/jph",
    HTJ2K: "image/jphc",
    JPEG_BASELINE: "image/jpeg",
    JPEG_2000: "image/j2c",
    JPEG_2000_LOSSLESS: "image/j2c",
    JPEG_XL: "image/jxl",
    EXPLICIT_VR_LITTLE_ENDIAN: OCTET_STREAM,
    **{uid: "video/mpeg" for uid in MPEG2_SYNTAXES},
    **{uid: "video/mp4" for uid in H264_SYNTAXES},
    **{uid: "video/H256" for uid in HEVC_SYNTAXES},
}

#: Input syntaxes HealthImaging keeps in their original encoding (reference §5.2).
KEPT_AS_IS_SYNTAXES = frozenset({JPEG_BASELINE, JPEG_2000, HTJ2K, JPEG_XL}) | VIDEO_SYNTAXES

LOSSLESS_TARGET_BY_FORMAT: dict[str, str] = {
    "HTJ2K": HTJ2K_LOSSLESS_RPCL,
    "JPEG_2000_LOSSLESS": JPEG_2000_LOSSLESS,
}


def normalize_uid(uid: str | None) -> str | None:
    """A UID without the padding (NUL or space) DICOM UI values may carry; ``None`` when empty."""
    return as_text(uid)


def content_type_for(stored_uid: str | None) -> str:
    """Return the GetImageFrame Content-Type for a StoredTransferSyntaxUID (missing ⇒ HTJ2K ⇒ image/jph)."""
    uid = normalize_uid(stored_uid)
    if uid is None:
        return CONTENT_TYPE_BY_STORED_SYNTAX[HTJ2K_LOSSLESS_RPCL]
    return CONTENT_TYPE_BY_STORED_SYNTAX.get(uid, OCTET_STREAM)


def lossless_target_for(storage_format: str) -> str:
    """Return the stored syntax UID of the data store's lossless storage format."""
    try:
        return LOSSLESS_TARGET_BY_FORMAT[storage_format]
    except KeyError:
        raise ValueError(f"unknown lossless storage format: {storage_format!r}") from None


def is_video(uid: str | None) -> bool:
    """True for the MPEG-2 / H.264 / HEVC syntaxes (frames we never decode)."""
    return normalize_uid(uid) in VIDEO_SYNTAXES


def stored_syntax_for(
    input_uid: str,
    storage_format: StorageFormat | str,
    *,
    binary_segmentation: bool,
) -> str | None:
    """Return the StoredTransferSyntaxUID HealthImaging gives an instance imported in `input_uid`.

    Kept as-is: JPEG baseline, JPEG 2000 (lossy-capable), HTJ2K (lossy-capable), JPEG XL, video, and
    explicit VR little endian for binary segmentation. Everything else is transcoded to the data store's
    lossless format. Video (and any syntax we cannot decode) returns None: the caller keeps the bytes
    as one blob.
    """
    uid = normalize_uid(input_uid)
    target = lossless_target_for(storage_format)
    if uid is None:
        raise ValueError("input transfer syntax UID is missing")
    if uid in VIDEO_SYNTAXES:
        return None
    if uid in KEPT_AS_IS_SYNTAXES:
        return uid
    if uid == EXPLICIT_VR_LITTLE_ENDIAN and binary_segmentation:
        return uid
    if uid not in DECODABLE_SYNTAXES:
        return None
    return target
