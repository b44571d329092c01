"""Every pydicom bundled image: decode, compare with pydicom or an uncompressed twin, re-encode losslessly."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from healthimaging_mcp.imaging.codecs import FrameDecodeError, decode_frame, encode_lossless
from healthimaging_mcp.imaging.dataset_pixels import (
    frame_layout,
    iter_encoded_frames,
    iter_frames,
    number_of_frames,
    transfer_syntax_of,
)
from healthimaging_mcp.imaging.syntaxes import NATIVE_SYNTAXES, RLE_LOSSLESS
from tests.support.dicom_files import PYDICOM_FILES, read_bundled

#: Bundled files with Pixel Data that cannot be decoded, and why (pydicom cannot decode them either).
UNDECODABLE = {
    "JPEG2000-embedded-sequence-delimiter.dcm": "a crafted 250-byte fragment whose J2K SIZ header is invalid",
    "MR_truncated.dcm": "Pixel Data is shorter than Rows x Columns x 2 bytes",
    "badVR.dcm": "NumberOfFrames is the invalid IS value '1A'",
    "meta_missing_tsyntax.dcm": "the file meta information has no Transfer Syntax UID",
    "nested_priv_SQ.dcm": "Pixel Data without an Image Pixel module (no Rows/Columns/BitsAllocated)",
}

#: Compressed lossless files and the bundled uncompressed file holding the same pixels.
LOSSLESS_TWINS = {
    "MR_small_jp2klossless.dcm": "MR_small.dcm",
    "MR_small_jpeg_ls_lossless.dcm": "MR_small.dcm",
    "MR_small_RLE.dcm": "MR_small.dcm",
    "SC_rgb_jpeg_gdcm.dcm": "SC_rgb_rle.dcm",
    "rtdose_rle.dcm": "rtdose.dcm",
    "SC_rgb_jpeg.dcm": "SC_rgb_jpeg_dcmd.dcm",  # dcmtk's decompression of the same lossy JPEG
    "SC_jpeg_no_color_transform.dcm": "SC_rgb_jpeg_dcmd.dcm",
}


def _bundled_images() -> list[str]:
    names = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in sorted(PYDICOM_FILES.rglob("*")):
            if not path.is_file():
                continue
            try:
                ds = pydicom.dcmread(path, force=True, stop_before_pixels=False)
            except Exception:
                continue
            if "PixelData" in ds:
                names.append(path.relative_to(PYDICOM_FILES).as_posix())
    return names


BUNDLED_IMAGES = _bundled_images()
DECODABLE = [name for name in BUNDLED_IMAGES if name not in UNDECODABLE]


def _frames(ds: Dataset) -> list[np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(iter_frames(ds))


def _pydicom_frames(ds: Dataset) -> list[np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        array = ds.pixel_array
    return [array] if number_of_frames(ds) == 1 else list(array)


def test_the_bundled_collection_is_found() -> None:
    assert len(BUNDLED_IMAGES) >= 80
    assert set(UNDECODABLE) <= set(BUNDLED_IMAGES)


@pytest.mark.parametrize("name", sorted(UNDECODABLE))
def test_broken_bundled_files_raise_a_clear_decode_error(name: str) -> None:
    with pytest.raises(FrameDecodeError):
        _frames(read_bundled(name))


@pytest.mark.parametrize("name", DECODABLE)
def test_every_bundled_image_decodes_to_the_layout(name: str) -> None:
    ds = read_bundled(name)
    layout = frame_layout(ds)
    frames = _frames(ds)
    assert len(frames) == number_of_frames(ds)
    for frame in frames:
        assert frame.shape == layout.shape
        assert frame.dtype == layout.dtype
        assert frame.dtype.isnative and frame.flags.c_contiguous


NATIVE = [n for n in DECODABLE if transfer_syntax_of(read_bundled(n)) in NATIVE_SYNTAXES | {RLE_LOSSLESS}]


@pytest.mark.parametrize("name", NATIVE)
def test_natively_decodable_frames_equal_pydicom_pixel_array(name: str) -> None:
    ds = read_bundled(name)
    ours, theirs = _frames(ds), _pydicom_frames(ds)
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, reference)


@pytest.mark.parametrize("name", [n for n in NATIVE if transfer_syntax_of(read_bundled(n)) == RLE_LOSSLESS])
def test_our_rle_decoder_matches_pydicom(name: str) -> None:
    ds = read_bundled(name)
    layout = frame_layout(ds)
    for encoded, reference in zip(iter_encoded_frames(ds), _pydicom_frames(ds), strict=True):
        np.testing.assert_array_equal(decode_frame(encoded, RLE_LOSSLESS, layout), reference)


@pytest.mark.parametrize(("compressed", "twin"), sorted(LOSSLESS_TWINS.items()))
def test_compressed_frames_equal_their_uncompressed_twin_bit_for_bit(compressed: str, twin: str) -> None:
    ours = _frames(read_bundled(compressed))
    reference = _pydicom_frames(read_bundled(twin))
    assert len(ours) == len(reference)
    for mine, expected in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(mine, expected)


def test_j2k_sign_mismatch_is_corrected_like_pydicom() -> None:
    frame = _frames(read_bundled("J2K_pixelrep_mismatch.dcm"))[0]
    assert frame.dtype == np.int16
    assert frame[0, 0] == -2000
    assert frame[47:57, 279].tolist() == [621, 412, 138, -193, -520, -767, -907, -966, -988, -995]
    assert frame[328:338, 106].tolist() == [-377, -121, 141, 383, 633, 910, 1198, 1455, 1638, 1732]


def test_j2k_with_jp2_header_and_rct_decodes_to_rgb() -> None:
    frame = _frames(read_bundled("GDCMJ2K_TextGBR.dcm"))[0]
    assert tuple(frame[45, 140]) == (223, 32, 32)
    assert tuple(frame[46, 140]) == (255, 0, 0)
    assert tuple(frame[350, 195]) == (128, 128, 128)


@pytest.mark.parametrize("name", ["JPGExtended.dcm", "JPEG-lossy.dcm"])
def test_12_bit_extended_jpeg_matches_pydicom_reference(name: str) -> None:
    frame = _frames(read_bundled(name))[0]
    assert frame.dtype == np.uint16
    assert frame[420, 140] == 244
    assert frame[230, 120] == 95


# The SC_rgb test pattern: colour bands at these rows of column 50.
SC_RGB_BANDS = {
    5: (255, 0, 0),
    15: (255, 128, 128),
    25: (0, 255, 0),
    35: (128, 255, 128),
    45: (0, 0, 255),
    55: (128, 128, 255),
    65: (0, 0, 0),
    75: (64, 64, 64),
    85: (192, 192, 192),
    95: (255, 255, 255),
}


@pytest.mark.parametrize(
    "name",
    [
        "SC_rgb_dcmtk_+eb+cr.dcm",
        "SC_rgb_dcmtk_+eb+cy+n1.dcm",
        "SC_rgb_dcmtk_+eb+cy+n2.dcm",
        "SC_rgb_dcmtk_+eb+cy+np.dcm",
        "SC_rgb_dcmtk_+eb+cy+s2.dcm",
        "SC_rgb_dcmtk_+eb+cy+s4.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "SC_rgb_jpeg_lossy_gdcm.dcm",
        "SC_rgb_gdcm_KY.dcm",
        "SC_rgb_jls_lossy_line.dcm",
        "SC_rgb_jls_lossy_sample.dcm",
    ],
)
def test_lossy_colour_files_decode_to_the_rgb_test_pattern(name: str) -> None:
    """JPEG YBR_FULL(_422), RGB-in-JPEG, J2K and JPEG-LS near-lossless all come back as RGB."""
    frame = _frames(read_bundled(name))[0]
    for row, colour in SC_RGB_BANDS.items():
        assert np.abs(frame[row, 50].astype(int) - colour).max() <= 8, (row, tuple(frame[row, 50]), colour)


def test_multiframe_jpeg_yields_every_frame() -> None:
    ds = read_bundled("examples_ybr_color.dcm")
    encoded = list(iter_encoded_frames(ds))
    assert len(encoded) == 30
    assert all(frame[:2] == b"\xff\xd8" for frame in encoded)
    frames = _frames(ds)
    assert len(frames) == 30
    assert not np.array_equal(frames[0], frames[15])


@pytest.mark.parametrize("name", DECODABLE)
def test_every_decoded_frame_round_trips_through_lossless_storage(name: str) -> None:
    ds = read_bundled(name)
    layout = frame_layout(ds)
    for storage_format in ("HTJ2K", "JPEG_2000_LOSSLESS"):
        for frame in _frames(ds):
            if storage_format == "JPEG_2000_LOSSLESS" and frame.dtype.itemsize == 4 and frame.max() >= 2**24:
                continue  # kept uncompressed instead (see encode_for_storage)
            encoded = encode_lossless(frame, storage_format)
            decoded = decode_frame(encoded.data, encoded.transfer_syntax_uid, layout)
            np.testing.assert_array_equal(decoded, frame)


def test_native_encoded_frames_are_little_endian_sample_bytes() -> None:
    little = _pydicom_frames(read_bundled("MR_small.dcm"))[0]
    (frame_bytes,) = iter_encoded_frames(read_bundled("MR_small_bigendian.dcm"))
    assert frame_bytes == little.astype("<i2").tobytes()


def test_binary_segmentation_frames_are_repacked_per_frame() -> None:
    ds = read_bundled("liver_1frame.dcm")
    layout = frame_layout(ds)
    (packed,) = iter_encoded_frames(ds)
    assert len(packed) == 512 * 512 // 8
    np.testing.assert_array_equal(decode_frame(packed, "1.2.840.10008.1.2.1", layout), _pydicom_frames(ds)[0])


def test_number_of_frames_defaults_to_one_and_rejects_garbage(bundled: Callable[[str], Dataset]) -> None:
    assert number_of_frames(bundled("MR_small.dcm")) == 1
    assert number_of_frames(bundled("rtdose.dcm")) == 15
    with pytest.raises(FrameDecodeError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        number_of_frames(bundled("badVR.dcm"))
