from __future__ import annotations

import base64

import imagecodecs
import numpy as np
import pytest
from pydicom.pixels.processing import apply_color_lut

from healthimaging_mcp.imaging.codecs import decode_frame, encode_lossless
from healthimaging_mcp.imaging.palette import apply_palette
from healthimaging_mcp.imaging.render import (
    display_size,
    physical_spacing,
    reduce_for_size,
    render_frame,
    to_display,
)
from healthimaging_mcp.imaging.window import WindowSpec
from tests.support.dicom_files import read_bundled

CT = {
    "PhotometricInterpretation": "MONOCHROME2",
    "RescaleSlope": "1 ",
    "RescaleIntercept": "-1024 ",
    "WindowCenter": ["40 ", "-600"],
    "WindowWidth": ["400", "1500 "],
}


def _gradient() -> np.ndarray:
    """Stored values 0..4095 (HU -1024..3071), 64 rows × 4096 columns."""
    return np.tile(np.arange(4096, dtype=np.uint16), (64, 1))


def test_known_window_gives_expected_grey_levels_at_specific_pixels() -> None:
    display = to_display(_gradient(), CT, WindowSpec.explicit(40, 400))
    grey = display.pixels[0]
    hu = np.arange(4096) - 1024
    assert grey[hu == -1000][0] == 0  # below the window
    assert grey[hu == -160][0] == 0
    assert grey[hu == 40][0] == 128
    assert grey[hu == 239][0] == 255
    assert grey[hu == 2000][0] == 255  # above the window
    assert (display.window_center, display.window_width, display.window_source) == (40.0, 400.0, "explicit")
    assert np.all(np.diff(grey.astype(int)) >= 0)


def test_default_window_is_the_instances_first_window() -> None:
    display = to_display(_gradient(), CT)
    assert (display.window_center, display.window_width, display.window_source) == (40.0, 400.0, "dicom")


def test_presets_and_auto_report_their_source() -> None:
    assert to_display(_gradient(), CT, WindowSpec.named("lung")).window_source == "preset:lung"
    automatic = to_display(_gradient(), {"PhotometricInterpretation": "MONOCHROME2"})
    assert automatic.window_source == "auto"
    assert automatic.pixels.min() == 0 and automatic.pixels.max() == 255


def test_lookup_table_path_matches_the_float_path() -> None:
    stored = np.random.default_rng(3).integers(-2000, 3000, (50, 60), dtype=np.int16)
    attrs = {"RescaleSlope": "0.5", "RescaleIntercept": "12", "PhotometricInterpretation": "MONOCHROME2"}
    for spec in (WindowSpec.explicit(100, 700), WindowSpec.named("bone")):
        via_lut = to_display(stored, attrs, spec).pixels
        via_float = to_display(stored.astype(np.float32), attrs, spec).pixels
        np.testing.assert_array_equal(via_lut, via_float)


def test_auto_window_skips_the_pixel_padding_value() -> None:
    stored = np.full((100, 100), 0, dtype=np.uint16)  # padding outside the "body"
    stored[25:75, 25:75] = np.linspace(1000, 1100, 2500, dtype=np.uint16).reshape(50, 50)
    attrs = {"PhotometricInterpretation": "MONOCHROME2", "PixelPaddingValue": 0}
    display = to_display(stored, attrs, WindowSpec.auto())
    assert display.window_center is not None and 1040 < display.window_center < 1060
    body = display.pixels[25:75, 25:75]
    assert body.min() < 10 and body.max() > 245  # the body spans the grey range, padding is not counted


def test_monochrome1_is_inverted() -> None:
    stored = _gradient()
    normal = to_display(stored, CT).pixels
    inverted = to_display(stored, {**CT, "PhotometricInterpretation": "MONOCHROME1"}).pixels
    np.testing.assert_array_equal(inverted.astype(int), 255 - normal.astype(int))


def test_rgb_stays_colour_without_windowing() -> None:
    rgb = np.zeros((20, 30, 3), dtype=np.uint8)
    rgb[:, :, 0] = 200
    rgb[:, :, 2] = 50
    display = to_display(rgb, {"PhotometricInterpretation": "RGB"})
    assert display.window_source == "none"
    np.testing.assert_array_equal(display.pixels, rgb)
    rendered = render_frame(rgb, {"PhotometricInterpretation": "RGB"})
    decoded = imagecodecs.png_decode(rendered.data)
    assert decoded.shape == (180, 270, 3)  # enlarged 9× (the smallest whole factor reaching 256 px)
    assert decoded[..., 0].mean() != decoded[..., 1].mean() != decoded[..., 2].mean()


def test_16_bit_rgb_is_scaled_to_8_bit() -> None:
    rgb = np.zeros((4, 4, 3), dtype=np.uint16)
    rgb[..., 0] = 65535
    rgb[..., 1] = 32896
    display = to_display(rgb, {"PhotometricInterpretation": "RGB", "BitsStored": 16})
    assert tuple(display.pixels[0, 0]) == (255, 128, 0)


def test_explicit_window_on_colour_applies_per_channel() -> None:
    rgb = np.stack([np.full((2, 2), v, dtype=np.uint8) for v in (10, 128, 250)], axis=-1)
    display = to_display(rgb, {"PhotometricInterpretation": "RGB"}, WindowSpec.explicit(128, 100))
    assert tuple(display.pixels[0, 0]) == (0, 129, 255)  # 128 → ((128 - 127.5) / 99 + 0.5) × 255


def test_palette_colour_maps_through_the_lookup_tables() -> None:
    ds = read_bundled("examples_palette.dcm")
    indices = ds.pixel_array
    expected = (apply_color_lut(indices, ds) >> 8).astype(np.uint8)
    display = to_display(indices, ds)
    assert display.pixels.shape == (*indices.shape, 3)
    np.testing.assert_array_equal(display.pixels, expected)
    assert len(np.unique(display.pixels.reshape(-1, 3), axis=0)) > 10


def test_palette_from_healthimaging_metadata_uses_base64_tables() -> None:
    red = np.arange(256, dtype="<u2") * 257
    green = red[::-1].copy()
    blue = np.full(256, 0x8000, dtype="<u2")
    attrs = {
        "PhotometricInterpretation": "PALETTE COLOR",
        **{f"{c}PaletteColorLookupTableDescriptor": [256, 0, 16] for c in ("Red", "Green", "Blue")},
        "RedPaletteColorLookupTableData": base64.b64encode(red.tobytes()).decode(),
        "GreenPaletteColorLookupTableData": base64.b64encode(green.tobytes()).decode(),
        "BluePaletteColorLookupTableData": base64.b64encode(blue.tobytes()).decode(),
    }
    indices = np.array([[0, 255, 100]], dtype=np.uint8)
    assert apply_palette(indices, attrs).tolist() == [[[0, 255, 128], [255, 0, 128], [100, 155, 128]]]
    assert to_display(indices, attrs).window_source == "none"


def test_size_follows_anisotropic_pixel_spacing() -> None:
    stored = np.zeros((256, 256), dtype=np.uint16)
    attrs = {**CT, "PixelSpacing": ["1.0", "0.5"]}  # rows 1 mm apart, columns 0.5 mm: physically 2:1 tall
    rendered = render_frame(stored, attrs, max_size=512)
    assert (rendered.height, rendered.width) == (512, 256)
    small = render_frame(stored, attrs, max_size=128)
    assert (small.height, small.width) == (128, 64)
    assert imagecodecs.png_decode(small.data).shape == (128, 64)


def test_imager_pixel_spacing_is_the_fallback_and_square_is_the_default() -> None:
    assert physical_spacing({"ImagerPixelSpacing": ["0.2", "0.1"]}) == (0.2, 0.1)
    assert physical_spacing({"PixelSpacing": ["0.3", "0.3"], "ImagerPixelSpacing": ["1", "2"]}) == (0.3, 0.3)
    assert physical_spacing({}) is None
    assert display_size(100, 300, None, 512) == (100, 300)


def test_small_images_are_enlarged_by_a_whole_factor_and_large_ones_fit_max_size() -> None:
    rendered = render_frame(np.zeros((64, 80), dtype=np.int16), {**CT, "PixelSpacing": ["0.7", "0.7"]})
    assert (rendered.height, rendered.width) == (256, 320)  # 80 px → 4 × 80 = 320 ≥ 256
    capped = render_frame(np.zeros((64, 80), dtype=np.int16), CT, max_size=200)
    assert (capped.height, capped.width) == (160, 200)
    assert display_size(300, 256, None, 512) == (300, 256)  # 256 px and up: shown as stored
    assert display_size(255, 100, None, 512) == (510, 200)
    assert display_size(64, 80, None, 512, enlarge=False) == (64, 80)
    big = render_frame(np.zeros((1024, 512), dtype=np.int16), CT, max_size=256)
    assert (big.height, big.width) == (256, 128)


def test_pixel_aspect_ratio_sets_the_shape_when_there_is_no_spacing() -> None:
    # 120 rows × 256 columns with pixels 4 high for 3 wide (as pydicom-data's color-pl.dcm): 160 × 256 shown.
    attrs = {"PhotometricInterpretation": "RGB", "PixelAspectRatio": ["4", "3"]}
    assert physical_spacing(attrs) == (4.0, 3.0)
    rendered = render_frame(np.zeros((120, 256, 3), dtype=np.uint8), attrs)
    assert (rendered.height, rendered.width) == (160, 256)
    assert physical_spacing({**attrs, "PixelSpacing": ["0.5", "0.5"]}) == (0.5, 0.5)


def test_png_holds_exactly_the_display_pixels() -> None:
    stored = np.random.default_rng(5).integers(0, 4096, (297, 331), dtype=np.uint16)
    rendered = render_frame(stored, CT, window=WindowSpec.named("abdomen"))
    assert rendered.mime_type == "image/png"
    np.testing.assert_array_equal(
        imagecodecs.png_decode(rendered.data), to_display(stored, CT, WindowSpec.named("abdomen")).pixels
    )
    assert (rendered.window_center, rendered.window_width, rendered.window_source) == (
        60.0,
        400.0,
        "preset:abdomen",
    )


def test_jpeg_output() -> None:
    stored = _gradient()[:, ::8]
    rendered = render_frame(stored, CT, image_format="jpeg", jpeg_quality=80)
    assert rendered.mime_type == "image/jpeg"
    assert rendered.data[:2] == b"\xff\xd8"
    assert imagecodecs.jpeg8_decode(rendered.data).shape == (64, 512)
    with pytest.raises(ValueError):
        render_frame(stored, CT, image_format="gif")  # type: ignore[arg-type]


def test_reduced_htj2k_frames_render_with_the_full_frame_aspect() -> None:
    stored = np.random.default_rng(9).integers(0, 4096, (512, 256), dtype=np.uint16)
    reduced = decode_frame(encode_lossless(stored).data, None, reduce=1)
    assert reduced.shape == (256, 128)
    rendered = render_frame(reduced, {**CT, "PixelSpacing": ["0.5", "1.0"]})
    assert (rendered.height, rendered.width) == (256, 256)


def test_enhanced_per_frame_window_is_used_for_that_frame() -> None:
    attrs = {
        "PhotometricInterpretation": "MONOCHROME2",
        "PerFrameFunctionalGroupsSequence": [
            {"FrameVOILUTSequence": [{"WindowCenter": "100", "WindowWidth": "50"}]},
            {"FrameVOILUTSequence": [{"WindowCenter": "300", "WindowWidth": "80"}]},
        ],
    }
    stored = np.arange(400, dtype=np.uint16).reshape(20, 20)
    second = to_display(stored, attrs, frame_index=1)
    assert (second.window_center, second.window_width, second.window_source) == (300.0, 80.0, "dicom")


@pytest.mark.parametrize(
    ("rows", "columns", "height", "width", "levels"),
    [
        (512, 512, 512, 512, 0),
        (512, 512, 256, 256, 1),
        (512, 512, 128, 128, 2),
        (512, 512, 200, 200, 1),
        (2048, 1024, 256, 128, 3),
        (100, 100, 512, 512, 0),
        (512, 256, 128, 128, 1),
    ],
)
def test_reduce_for_size_keeps_the_decoded_frame_at_least_as_big_as_the_output(
    rows: int, columns: int, height: int, width: int, levels: int
) -> None:
    assert reduce_for_size(rows, columns, height, width) == levels
