from __future__ import annotations

import numpy as np
import pytest

from healthimaging_mcp.imaging.window import (
    WINDOW_PRESETS,
    ResolvedWindow,
    WindowSpec,
    apply_modality_lut,
    apply_voi,
    auto_window,
    dicom_window_of,
    rescale_of,
    resolve_window,
)


def test_rescale_reads_padded_ds_strings_and_numbers() -> None:
    stored = np.array([[0, 1000, 2000]], dtype=np.uint16)
    values = apply_modality_lut(stored, {"RescaleSlope": "1 ", "RescaleIntercept": "-1024 "})
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, [[-1024, -24, 976]])
    np.testing.assert_array_equal(
        apply_modality_lut(stored, {"RescaleSlope": 2.5, "RescaleIntercept": 10}), [[10, 2510, 5010]]
    )


def test_missing_rescale_is_identity() -> None:
    assert rescale_of({}) == (1.0, 0.0)
    signed = np.array([[-5, 7]], dtype=np.int16)
    np.testing.assert_array_equal(apply_modality_lut(signed, {}), [[-5, 7]])


def test_rescale_is_found_in_enhanced_functional_groups() -> None:
    attrs = {
        "SharedFunctionalGroupsSequence": [
            {"PixelValueTransformationSequence": [{"RescaleSlope": "2", "RescaleIntercept": "-100"}]}
        ]
    }
    assert rescale_of(attrs) == (2.0, -100.0)


def _ps33_linear(x: float, c: float, w: float) -> int:
    """PS3.3 C.11.2.1.2.1 written out literally, rounded half up to 0..255."""
    if x <= c - 0.5 - (w - 1) / 2:
        return 0
    if x > c - 0.5 + (w - 1) / 2:
        return 255
    return int(((x - (c - 0.5)) / (w - 1) + 0.5) * 255 + 0.5)


@pytest.mark.parametrize(("center", "width"), [(40.0, 400.0), (-600.0, 1500.0), (0.5, 2.0), (1000.0, 1.0)])
def test_linear_window_gives_the_ps33_grey_levels(center: float, width: float) -> None:
    xs = np.concatenate([np.linspace(center - width, center + width, 997), [center, center - 0.5]])
    grey = apply_voi(xs.astype(np.float32), ResolvedWindow(center, width, "explicit"))
    assert grey.dtype == np.uint8
    expected = [_ps33_linear(float(np.float32(x)), center, width) for x in xs]
    assert np.abs(grey.astype(int) - expected).max() <= 1  # float32 vs float64 at rounding boundaries
    assert (grey.astype(int) == expected).mean() > 0.99


def test_known_grey_levels_for_a_soft_tissue_window() -> None:
    # c=40, w=400: x <= -160 → 0, x > 239 → 255.
    window = ResolvedWindow(40.0, 400.0, "explicit")
    grey = apply_voi(np.array([-1000, -160, -159, 39.5, 239, 240, 3000], dtype=np.float32), window)
    assert grey.tolist() == [0, 0, 1, 128, 255, 255, 255]


def test_values_below_and_above_the_window_saturate() -> None:
    window = ResolvedWindow(-600.0, 1500.0, "preset:lung")
    grey = apply_voi(np.array([-3000, -1350.5, 150, 5000], dtype=np.float32), window)
    assert grey.tolist() == [0, 0, 255, 255]


def test_linear_exact_uses_the_exact_formula() -> None:
    window = ResolvedWindow(100.0, 200.0, "explicit", "LINEAR_EXACT")
    grey = apply_voi(np.array([0, 50, 100, 150, 200], dtype=np.float32), window)
    assert grey.tolist() == [0, 64, 128, 191, 255]


def test_sigmoid_is_centred_and_monotonic() -> None:
    window = ResolvedWindow(0.0, 100.0, "dicom", "SIGMOID")
    grey = apply_voi(np.array([-1000, -50, 0, 50, 1000], dtype=np.float32), window)
    assert grey[2] == 128
    assert grey[0] == 0 and grey[-1] == 255
    assert list(grey) == sorted(grey)


def test_invert_flips_grey_levels_for_monochrome1() -> None:
    window = ResolvedWindow(40.0, 400.0, "explicit")
    values = np.array([-1000, 40, 1000], dtype=np.float32)
    normal = apply_voi(values, window)
    inverted = apply_voi(values, window, invert=True)
    assert inverted.tolist() == [255, 127, 0]
    assert (normal.astype(int) + inverted).tolist() == [255, 255, 255]


def test_instance_window_takes_the_first_of_several_values() -> None:
    assert dicom_window_of({"WindowCenter": ["40 ", "-600"], "WindowWidth": ["400", "1500 "]}) == (
        40.0,
        400.0,
    )
    assert dicom_window_of({"WindowCenter": "40\\-600", "WindowWidth": "400\\1500"}) == (40.0, 400.0)
    assert dicom_window_of({"WindowCenter": 50, "WindowWidth": 350}) == (50.0, 350.0)
    assert dicom_window_of({"WindowCenter": ["40"]}) is None
    assert dicom_window_of({"WindowCenter": None, "WindowWidth": None}) is None


def test_presets_are_public_and_resolve_by_name() -> None:
    for name in ("lung", "mediastinum", "soft_tissue", "bone", "brain", "abdomen", "liver"):
        assert name in WINDOW_PRESETS
    assert WINDOW_PRESETS["lung"] == (-600.0, 1500.0)
    assert WINDOW_PRESETS["brain"] == (40.0, 80.0)
    resolved = resolve_window(WindowSpec.named("Soft Tissue"), {})
    assert resolved == ResolvedWindow(40.0, 400.0, "preset:soft_tissue")
    with pytest.raises(ValueError, match="unknown window preset"):
        WindowSpec.named("kidney-ish")


def test_resolution_prefers_the_instance_window_then_auto() -> None:
    values = np.linspace(-1000, 1000, 1001, dtype=np.float32)
    with_window = {"WindowCenter": "35", "WindowWidth": "300", "VOILUTFunction": "LINEAR_EXACT"}
    assert resolve_window(None, with_window, values) == ResolvedWindow(35.0, 300.0, "dicom", "LINEAR_EXACT")
    automatic = resolve_window(None, {}, values)
    assert automatic is not None and automatic.source == "auto"
    assert automatic.center == pytest.approx(0.0, abs=1.0)
    assert automatic.width == pytest.approx(1980.0, abs=2.0)  # 0.5th to 99.5th percentile
    assert resolve_window(WindowSpec.none(), with_window, values) is None
    explicit = resolve_window(WindowSpec.explicit(10, 20), with_window, values)
    assert explicit is not None and (explicit.center, explicit.width, explicit.source) == (
        10.0,
        20.0,
        "explicit",
    )


def test_auto_window_ignores_the_padding_value() -> None:
    values = np.full(10_000, -2000, dtype=np.float32)
    values[:5000] = np.linspace(0, 100, 5000)
    center, width = auto_window(values, exclude=-2000)
    assert 40 < center < 60 and 95 < width < 101
    padded_center, _ = auto_window(values)
    assert padded_center < -500


def test_auto_window_of_a_constant_image_has_positive_width() -> None:
    center, width = auto_window(np.full(100, 7.0, dtype=np.float32))
    assert center == 7.0 and width >= 1.0
