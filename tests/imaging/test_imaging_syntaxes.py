from __future__ import annotations

import pytest

from healthimaging_mcp.imaging import syntaxes as ts


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("1.2.840.10008.1.2.4.202", "image/jph"),
        (None, "image/jph"),
        ("", "image/jph"),
        ("1.2.840.10008.1.2.4.203", "image/jphc"),
        ("1.2.840.10008.1.2.4.50", "image/jpeg"),
        ("1.2.840.10008.1.2.4.91", "image/j2c"),
        ("1.2.840.10008.1.2.4.90", "image/j2c"),
        ("1.2.840.10008.1.2.4.201", "image/jph"),
        ("1.2.840.10008.1.2.4.112", "image/jxl"),
        ("1.2.840.10008.1.2.1", "application/octet-stream"),
        ("1.2.840.10008.1.2.4.100", "video/mpeg"),
        ("1.2.840.10008.1.2.4.102.1", "video/mp4"),
        ("1.2.840.10008.1.2.4.107", "video/H256"),
        ("1.2.3.4", "application/octet-stream"),
    ],
)
def test_content_type_follows_the_stored_syntax(stored: str | None, expected: str) -> None:
    assert ts.content_type_for(stored) == expected


def test_content_type_ignores_uid_padding() -> None:
    assert ts.content_type_for("1.2.840.10008.1.2.4.50\x00") == "image/jpeg"


@pytest.mark.parametrize(
    "kept",
    [
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.203",
        "1.2.840.10008.1.2.4.112",
    ],
)
@pytest.mark.parametrize("storage_format", ["HTJ2K", "JPEG_2000_LOSSLESS"])
def test_lossy_capable_inputs_are_kept_as_is(kept: str, storage_format: str) -> None:
    assert ts.stored_syntax_for(kept, storage_format, binary_segmentation=False) == kept


@pytest.mark.parametrize(
    "transcoded",
    [
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.92",
        "1.2.840.10008.1.2.4.93",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.5",
    ],
)
def test_lossless_inputs_are_transcoded_to_the_storage_format(transcoded: str) -> None:
    assert ts.stored_syntax_for(transcoded, "HTJ2K", binary_segmentation=False) == "1.2.840.10008.1.2.4.202"
    assert ts.stored_syntax_for(transcoded, "JPEG_2000_LOSSLESS", binary_segmentation=False) == "1.2.840.10008.1.2.4.90"


def test_explicit_little_endian_is_kept_only_for_binary_segmentation() -> None:
    explicit = "1.2.840.10008.1.2.1"
    assert ts.stored_syntax_for(explicit, "HTJ2K", binary_segmentation=True) == explicit
    assert ts.stored_syntax_for(explicit, "HTJ2K", binary_segmentation=False) == ts.HTJ2K_LOSSLESS_RPCL
    # Only explicit VR little endian is kept for segmentations; implicit is still transcoded.
    assert ts.stored_syntax_for("1.2.840.10008.1.2", "HTJ2K", binary_segmentation=True) == ts.HTJ2K_LOSSLESS_RPCL


@pytest.mark.parametrize("video", sorted(ts.VIDEO_SYNTAXES))
def test_video_has_no_stored_frame_syntax(video: str) -> None:
    assert ts.stored_syntax_for(video, "HTJ2K", binary_segmentation=False) is None
    assert ts.is_video(video)


def test_unknown_syntax_cannot_be_transcoded() -> None:
    assert ts.stored_syntax_for("1.2.840.10008.1.2.4.52", "HTJ2K", binary_segmentation=False) is None


def test_unknown_storage_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="storage format"):
        ts.stored_syntax_for("1.2.840.10008.1.2.1", "PNG", binary_segmentation=False)
