from __future__ import annotations

import numpy as np
import pytest

from healthimaging_mcp.imaging.font import GLYPH_HEIGHT, glyph, supported_characters, text_mask
from healthimaging_mcp.imaging.montage import GAP_LEVEL, choose_indices, fit_tile, make_montage


@pytest.mark.parametrize(
    ("total", "n", "expected"),
    [
        (100, 5, [0, 25, 50, 74, 99]),
        (10, 10, list(range(10))),
        (3, 8, [0, 1, 2]),
        (7, 2, [0, 6]),
        (7, 1, [3]),
        (0, 4, []),
        (5, 0, []),
    ],
)
def test_choose_indices_is_even_and_includes_both_ends(total: int, n: int, expected: list[int]) -> None:
    assert choose_indices(total, n) == expected


def test_choose_indices_returns_n_distinct_sorted_indices() -> None:
    for total in range(2, 60):
        for n in range(2, total + 1):
            picked = choose_indices(total, n)
            assert len(picked) == n and picked == sorted(set(picked))
            assert picked[0] == 0 and picked[-1] == total - 1


def test_grid_size_follows_columns_tile_size_and_gap() -> None:
    tiles = [np.full((50, 50), 100, dtype=np.uint8) for _ in range(7)]
    sheet = make_montage(tiles, [], columns=3, tile_size=64, gap=2)
    assert sheet.shape == (3 * 64 + 2 * 2, 3 * 64 + 2 * 2)
    assert sheet.dtype == np.uint8
    assert sheet[64, 10] == GAP_LEVEL  # the gap between rows
    default = make_montage(tiles, [], tile_size=32, gap=0)
    assert default.shape == (3 * 32, 3 * 32)  # ceil(sqrt(7)) = 3 columns


def test_labels_change_pixels_in_the_corner_only() -> None:
    tiles = [np.full((128, 128), 90, dtype=np.uint8) for _ in range(2)]
    plain = make_montage(tiles, [], tile_size=128)
    labelled = make_montage(tiles, ["12", "AX 3"], tile_size=128)
    changed = plain != labelled
    assert changed.any()
    rows, _ = np.nonzero(changed)
    assert rows.max() < 2 * GLYPH_HEIGHT + 4  # within the label box height at scale 2
    assert (labelled[changed] == 255).any() and (labelled[changed] == 0).any()
    first = make_montage(tiles, ["12", "AX 3"], tile_size=128)
    other = make_montage(tiles, ["13", "AX 3"], tile_size=128)
    assert not np.array_equal(first, other), "different text draws different pixels"


def test_colour_tiles_make_a_colour_sheet() -> None:
    grey = np.zeros((20, 20), dtype=np.uint8)
    red = np.zeros((20, 20, 3), dtype=np.uint8)
    red[..., 0] = 255
    sheet = make_montage([grey, red], ["A", "B"], columns=2, tile_size=32, gap=1)
    assert sheet.shape == (32, 65, 3)
    assert tuple(sheet[20, 33 + 20]) == (255, 0, 0)


def test_tiles_keep_their_aspect_inside_the_cell() -> None:
    wide = np.full((10, 40), 200, dtype=np.uint8)
    cell = fit_tile(wide, 64)
    assert cell.shape == (64, 64)
    assert cell[0, 32] == 0 and cell[32, 32] == 200  # letterboxed top and bottom


def test_long_labels_are_truncated_to_the_tile() -> None:
    tiles = [np.zeros((64, 64), dtype=np.uint8)]
    sheet = make_montage(tiles, ["X" * 100], tile_size=64)
    assert sheet.shape == (64, 64)


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError):
        make_montage([], [])
    with pytest.raises(ValueError):
        make_montage([np.zeros((4, 4), dtype=np.uint8)], ["a", "b"])
    with pytest.raises(ValueError):
        make_montage([np.zeros((4, 4), dtype=np.uint16)], [])


def test_font_has_distinct_glyphs_for_digits_and_letters() -> None:
    characters = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert set(characters) <= set(supported_characters())
    bitmaps = {glyph(c).tobytes() for c in characters}
    assert len(bitmaps) == len(characters)
    assert np.array_equal(glyph("a"), glyph("A"))
    assert np.array_equal(glyph("~"), glyph("?"))
    assert text_mask("AB", scale=3).shape == (21, 33)
