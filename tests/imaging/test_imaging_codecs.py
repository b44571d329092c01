from __future__ import annotations

import zlib

import imagecodecs
import numpy as np
import pytest

from healthimaging_mcp.imaging.codecs import (
    FrameDecodeError,
    FrameEncodeError,
    decode_frame,
    encode_for_storage,
    encode_lossless,
    lossless_encoding_supported,
    pixel_checksum,
    resolution_levels_for,
)
from healthimaging_mcp.imaging.headers import parse_j2k_header
from healthimaging_mcp.imaging.layout import FrameLayout
from healthimaging_mcp.imaging.native import encode_uncompressed, pack_bits

RNG = np.random.default_rng(1234)


def _layout(pixels: np.ndarray, bits_stored: int | None = None, photometric: str | None = None) -> FrameLayout:
    samples = 1 if pixels.ndim == 2 else pixels.shape[2]
    bits = pixels.dtype.itemsize * 8
    return FrameLayout(
        rows=pixels.shape[0],
        columns=pixels.shape[1],
        samples_per_pixel=samples,
        bits_allocated=bits,
        bits_stored=bits_stored or bits,
        pixel_representation=1 if pixels.dtype.kind == "i" else 0,
        photometric_interpretation=photometric or ("MONOCHROME2" if samples == 1 else "RGB"),
    )


SAMPLES: dict[str, np.ndarray] = {
    "uint8": RNG.integers(0, 256, (61, 47), dtype=np.uint8),
    "int8": RNG.integers(-128, 128, (33, 20), dtype=np.int8),
    "uint16": RNG.integers(0, 65536, (64, 80), dtype=np.uint16),
    "int16": RNG.integers(-32768, 32768, (50, 70), dtype=np.int16),
    "12-bit in 16": RNG.integers(0, 4096, (128, 96), dtype=np.uint16),
    "signed 12-bit in 16": RNG.integers(-2048, 2048, (40, 40), dtype=np.int16),
    "rgb8": RNG.integers(0, 256, (45, 60, 3), dtype=np.uint8),
    "rgb16": RNG.integers(0, 65536, (30, 20, 3), dtype=np.uint16),
    "binary": RNG.integers(0, 2, (64, 64), dtype=np.uint8),
    "uint32": RNG.integers(0, 2**32, (10, 10), dtype=np.uint32),
    "int32": RNG.integers(-(2**31), 2**31, (12, 9), dtype=np.int32),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_htj2k_round_trip_is_bit_exact(name: str) -> None:
    pixels = SAMPLES[name]
    encoded = encode_lossless(pixels, "HTJ2K")
    assert encoded.transfer_syntax_uid == "1.2.840.10008.1.2.4.202"
    decoded = decode_frame(encoded.data, encoded.transfer_syntax_uid, _layout(pixels))
    assert decoded.dtype == pixels.dtype
    np.testing.assert_array_equal(decoded, pixels)


@pytest.mark.parametrize("name", sorted(set(SAMPLES) - {"uint32", "int32"}))
def test_jpeg2000_lossless_round_trip_is_bit_exact(name: str) -> None:
    pixels = SAMPLES[name]
    encoded = encode_lossless(pixels, "JPEG_2000_LOSSLESS")
    assert encoded.transfer_syntax_uid == "1.2.840.10008.1.2.4.90"
    assert encoded.data[:4] == b"\xff\x4f\xff\x51", "a raw J2K codestream, not a JP2 file"
    np.testing.assert_array_equal(decode_frame(encoded.data, encoded.transfer_syntax_uid, _layout(pixels)), pixels)


def test_jpeg2000_refuses_samples_wider_than_24_bits() -> None:
    with pytest.raises(FrameEncodeError, match="24 bits"):
        encode_lossless(SAMPLES["uint32"], "JPEG_2000_LOSSLESS")


def test_jpeg2000_handles_32_bit_containers_with_24_bit_values() -> None:
    dose = RNG.integers(0, 2**24, (10, 10), dtype=np.uint32)
    encoded = encode_lossless(dose, "JPEG_2000_LOSSLESS")
    np.testing.assert_array_equal(decode_frame(encoded.data, encoded.transfer_syntax_uid, _layout(dose)), dose)


def test_storage_falls_back_to_explicit_little_endian_when_the_format_cannot_hold_the_depth() -> None:
    dose = SAMPLES["uint32"]
    layout = _layout(dose)
    assert lossless_encoding_supported(layout, "HTJ2K")
    assert not lossless_encoding_supported(layout, "JPEG_2000_LOSSLESS")
    stored = encode_for_storage(dose, layout, "JPEG_2000_LOSSLESS")
    assert stored.transfer_syntax_uid == "1.2.840.10008.1.2.1"
    assert stored.data == dose.astype("<u4").tobytes()
    np.testing.assert_array_equal(decode_frame(stored.data, stored.transfer_syntax_uid, layout), dose)
    assert encode_for_storage(dose, layout, "HTJ2K").transfer_syntax_uid == "1.2.840.10008.1.2.4.202"


def test_htj2k_codestream_is_rpcl_with_tlm_and_a_small_lowest_resolution() -> None:
    pixels = RNG.integers(0, 4096, (2048, 1024), dtype=np.uint16)
    header = parse_j2k_header(encode_lossless(pixels).data)
    assert header is not None
    assert header.progression == "RPCL"
    assert header.has_tlm
    assert (header.rows, header.columns, header.precision, header.is_signed) == (2048, 1024, 16, False)
    assert max(header.rows, header.columns) / 2**header.levels <= 64


@pytest.mark.parametrize(("size", "levels"), [(1, 5), (64, 5), (512, 5), (2048, 5), (4096, 6), (5000, 7)])
def test_resolution_levels_reach_64_pixels(size: int, levels: int) -> None:
    assert resolution_levels_for(size, size // 2 or 1) == levels


@pytest.mark.parametrize(("reduce", "shape"), [(0, (300, 500)), (1, (150, 250)), (2, (75, 125)), (3, (38, 63))])
def test_htj2k_reduce_halves_the_output_per_level(reduce: int, shape: tuple[int, int]) -> None:
    pixels = RNG.integers(0, 4096, (300, 500), dtype=np.uint16)
    encoded = encode_lossless(pixels)
    decoded = decode_frame(encoded.data, None, _layout(pixels), reduce=reduce)
    assert decoded.shape == shape
    assert decoded.dtype == np.uint16


def test_htj2k_reduce_beyond_the_available_levels_stops_at_the_smallest() -> None:
    pixels = RNG.integers(0, 256, (64, 64), dtype=np.uint8)
    encoded = encode_lossless(pixels)
    assert decode_frame(encoded.data, None, reduce=50).shape == (2, 2)


def test_jpeg2000_ignores_reduce_and_decodes_full_size() -> None:
    pixels = SAMPLES["uint16"]
    encoded = encode_lossless(pixels, "JPEG_2000_LOSSLESS")
    assert decode_frame(encoded.data, encoded.transfer_syntax_uid, reduce=2).shape == pixels.shape


def test_missing_stored_syntax_means_htj2k() -> None:
    pixels = SAMPLES["int16"]
    np.testing.assert_array_equal(decode_frame(encode_lossless(pixels).data, None, _layout(pixels)), pixels)


def test_checksum_is_crc32_of_the_little_endian_sample_bytes() -> None:
    for pixels in SAMPLES.values():
        assert pixel_checksum(pixels) == zlib.crc32(pixels.tobytes())
    big_endian = SAMPLES["uint16"].astype(">u2")
    assert pixel_checksum(big_endian) == zlib.crc32(SAMPLES["uint16"].tobytes())
    strided = SAMPLES["rgb8"][:, ::2]
    assert pixel_checksum(strided) == zlib.crc32(np.ascontiguousarray(strided).tobytes())
    assert 0 <= pixel_checksum(SAMPLES["int16"]) < 2**32


def test_checksum_survives_a_lossless_round_trip() -> None:
    pixels = SAMPLES["12-bit in 16"]
    decoded = decode_frame(encode_lossless(pixels).data, None, _layout(pixels))
    assert pixel_checksum(decoded) == pixel_checksum(pixels)


def test_uncompressed_frames_need_a_layout() -> None:
    with pytest.raises(FrameDecodeError, match="FrameLayout"):
        decode_frame(b"\x00" * 16, "1.2.840.10008.1.2.1")


def test_uncompressed_little_and_big_endian_frames_decode_to_native_values() -> None:
    pixels = SAMPLES["int16"]
    layout = _layout(pixels)
    np.testing.assert_array_equal(decode_frame(pixels.astype("<i2").tobytes(), "1.2.840.10008.1.2.1", layout), pixels)
    decoded = decode_frame(pixels.astype(">i2").tobytes(), "1.2.840.10008.1.2.2", layout)
    assert decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, pixels)


def test_uncompressed_values_are_masked_or_sign_extended_to_bits_stored() -> None:
    raw = np.array([[0xF000 | 0x07FF, 0x1001]], dtype="<u2")  # junk above bit 12
    unsigned = FrameLayout(1, 2, 1, 16, 12, 0, "MONOCHROME2")
    np.testing.assert_array_equal(decode_frame(raw.tobytes(), "1.2.840.10008.1.2.1", unsigned), [[0x07FF, 0x0001]])
    signed = FrameLayout(1, 2, 1, 16, 12, 1, "MONOCHROME2")
    np.testing.assert_array_equal(decode_frame(raw.tobytes(), "1.2.840.10008.1.2.1", signed), [[2047, 1]])
    negative = np.array([[0x0800, 0x0FFF]], dtype="<u2")
    np.testing.assert_array_equal(decode_frame(negative.tobytes(), "1.2.840.10008.1.2.1", signed), [[-2048, -1]])


def test_planar_configuration_one_is_interleaved() -> None:
    rgb = SAMPLES["rgb8"]
    planar = np.moveaxis(rgb, -1, 0).tobytes()
    layout = FrameLayout(rgb.shape[0], rgb.shape[1], 3, 8, 8, 0, "RGB", planar_configuration=1)
    np.testing.assert_array_equal(decode_frame(planar, "1.2.840.10008.1.2.1", layout), rgb)


def test_binary_segmentation_frames_pack_and_unpack_least_significant_bit_first() -> None:
    mask = SAMPLES["binary"][:5, :7]  # 35 bits: not a whole number of bytes
    packed = pack_bits(mask)
    assert len(packed) == 5
    assert packed[0] == int("".join(str(b) for b in mask.reshape(-1)[:8][::-1]), 2)
    layout = FrameLayout(5, 7, 1, 1, 1, 0, "MONOCHROME2")
    decoded = decode_frame(packed, "1.2.840.10008.1.2.1", layout)
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, mask)
    stored = encode_for_storage(mask, layout, "HTJ2K")
    np.testing.assert_array_equal(decode_frame(stored.data, stored.transfer_syntax_uid, layout), mask)


def test_uncompressed_ybr_full_422_is_upsampled_and_converted_to_rgb() -> None:
    # Two pixels share Cb/Cr: neutral chroma keeps grey levels.
    layout = FrameLayout(1, 2, 3, 8, 8, 0, "YBR_FULL_422")
    decoded = decode_frame(bytes([10, 200, 128, 128]), "1.2.840.10008.1.2.1", layout)
    np.testing.assert_array_equal(decoded, [[[10, 10, 10], [200, 200, 200]]])


def test_truncated_uncompressed_frame_is_a_decode_error() -> None:
    layout = FrameLayout(4, 4, 1, 16, 16, 0, "MONOCHROME2")
    with pytest.raises(FrameDecodeError):
        decode_frame(b"\x00" * 10, "1.2.840.10008.1.2.1", layout)


def test_video_and_unknown_syntaxes_are_decode_errors() -> None:
    with pytest.raises(FrameDecodeError, match="video"):
        decode_frame(b"\x00\x00\x01\xb3", "1.2.840.10008.1.2.4.102")
    with pytest.raises(FrameDecodeError, match="unsupported"):
        decode_frame(b"\x00", "1.2.3.4")


def test_corrupt_codestream_is_a_decode_error() -> None:
    encoded = encode_lossless(SAMPLES["uint16"]).data
    with pytest.raises(FrameDecodeError):
        decode_frame(encoded[:40], None, _layout(SAMPLES["uint16"]))
    with pytest.raises(FrameDecodeError):
        decode_frame(b"not a jpeg", "1.2.840.10008.1.2.4.50")
    assert issubclass(FrameDecodeError, ValueError)


def test_jpeg_baseline_decodes_to_rgb() -> None:
    rgb = np.zeros((32, 32, 3), dtype=np.uint8)
    rgb[:, :16] = (220, 30, 40)
    rgb[:, 16:] = (20, 200, 60)
    encoded = imagecodecs.jpeg8_encode(rgb, level=95)  # JFIF, YCbCr inside
    decoded = decode_frame(bytes(encoded), "1.2.840.10008.1.2.4.50", _layout(rgb, photometric="YBR_FULL_422"))
    assert decoded.shape == rgb.shape
    # Away from the colour edge (chroma is subsampled) the colours survive the lossy round trip.
    assert np.abs(decoded[:, :10].astype(int) - rgb[:, :10]).max() <= 6
    assert np.abs(decoded[:, 22:].astype(int) - rgb[:, 22:]).max() <= 6


def test_jpeg_lossless_round_trips_16_bit_signed_data() -> None:
    pixels = SAMPLES["signed 12-bit in 16"]
    stored = (pixels.astype(np.int32) & 0xFFFF).astype(np.uint16)  # what a signed encoder writes
    encoded = imagecodecs.jpeg8_encode(stored, lossless=True, predictor=1, bitspersample=16)
    layout = _layout(pixels, bits_stored=12)
    np.testing.assert_array_equal(decode_frame(bytes(encoded), "1.2.840.10008.1.2.4.70", layout), pixels)


def test_jpeg_ls_signed_data_comes_back_signed() -> None:
    # JPEG-LS has no sign: a signed encoder writes two's complement bit patterns as unsigned samples.
    pixels = SAMPLES["int16"]
    encoded = imagecodecs.jpegls_encode(pixels.view(np.uint16))
    decoded = decode_frame(bytes(encoded), "1.2.840.10008.1.2.4.80", _layout(pixels))
    assert decoded.dtype == np.int16
    np.testing.assert_array_equal(decoded, pixels)


def test_jpeg_xl_lossless_decodes() -> None:
    pixels = SAMPLES["uint8"]
    encoded = imagecodecs.jpegxl_encode(pixels, lossless=True)
    np.testing.assert_array_equal(decode_frame(bytes(encoded), "1.2.840.10008.1.2.4.110", _layout(pixels)), pixels)


def test_rle_frames_decode_without_pydicom() -> None:
    pixels = SAMPLES["rgb16"]
    layout = _layout(pixels)
    segments = []
    for sample in range(3):
        for byte in (1, 0):  # most significant byte first
            plane = ((pixels[:, :, sample] >> (8 * byte)) & 0xFF).astype(np.uint8).tobytes()
            segments.append(imagecodecs.packbits_encode(plane))
    offsets, position = [], 64
    for segment in segments:
        offsets.append(position)
        position += len(segment)
    header = np.zeros(16, dtype="<u4")
    header[0] = len(segments)
    header[1 : 1 + len(segments)] = offsets
    frame = header.tobytes() + b"".join(segments)
    np.testing.assert_array_equal(decode_frame(frame, "1.2.840.10008.1.2.5", layout), pixels)


def test_encode_uncompressed_writes_little_endian() -> None:
    pixels = np.array([[1, 256]], dtype=">u2")
    assert encode_uncompressed(pixels) == b"\x01\x00\x00\x01"


def test_encoding_rejects_floats_and_odd_shapes() -> None:
    with pytest.raises(FrameEncodeError):
        encode_lossless(np.zeros((4, 4), dtype=np.float32))
    with pytest.raises(FrameEncodeError):
        encode_lossless(np.zeros((4, 4, 2), dtype=np.uint8))
