from __future__ import annotations

import numpy as np
import pytest

from healthimaging_mcp.imaging.resample import fit_size, resample_weights, resize


def test_weight_rows_sum_to_one_for_down_and_up_scaling() -> None:
    for size_in, size_out in [(512, 128), (100, 37), (10, 40), (7, 7), (1, 5), (5, 1)]:
        weights = resample_weights(size_in, size_out)
        assert weights.shape == (size_out, size_in)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)
        assert (weights >= 0).all()


def test_downscaling_averages_every_input_pixel() -> None:
    # A one-pixel checkerboard must turn into flat grey, not alias into stripes.
    checker = (np.indices((256, 256)).sum(axis=0) % 2 * 255).astype(np.uint8)
    small = resize(checker, 64, 64)
    assert small.dtype == np.uint8
    assert abs(int(small.mean()) - 128) <= 1
    assert small.max() - small.min() <= 2


def test_upscaling_is_bilinear() -> None:
    ramp = np.array([[0.0, 100.0]], dtype=np.float32)
    wide = resize(ramp, 1, 4)
    np.testing.assert_allclose(wide[0], [0, 25, 75, 100])


def test_constant_images_stay_constant_and_dtype_range_is_kept() -> None:
    for dtype, value in [(np.uint8, 255), (np.uint16, 65535), (np.int16, -32768)]:
        image = np.full((33, 47), value, dtype=dtype)
        out = resize(image, 10, 90)
        assert out.dtype == dtype
        assert (out == value).all()


def test_colour_images_keep_their_channels() -> None:
    rgb = np.zeros((40, 60, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    rgb[..., 2] = 30
    out = resize(rgb, 20, 30)
    assert out.shape == (20, 30, 3)
    assert (out[..., 0] == 200).all() and (out[..., 1] == 0).all() and (out[..., 2] == 30).all()


def test_resize_preserves_position_of_features() -> None:
    image = np.zeros((100, 100), dtype=np.float32)
    image[:, 75:] = 1.0  # right quarter bright
    out = resize(image, 20, 20)
    assert out[:, :14].max() < 0.05 and out[:, 16:].min() > 0.95


def test_same_size_returns_a_copy() -> None:
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = resize(image, 3, 4)
    np.testing.assert_array_equal(out, image)
    assert out is not image


def test_fit_size_keeps_aspect_and_never_grows() -> None:
    assert fit_size(1024, 512, 256) == (256, 128)
    assert fit_size(100, 50, 512) == (100, 50)
    assert fit_size(3, 5000, 100) == (1, 100)


def test_invalid_shapes_are_rejected() -> None:
    with pytest.raises(ValueError):
        resize(np.zeros((2, 2, 2, 2)), 1, 1)
    with pytest.raises(ValueError):
        resample_weights(0, 3)
