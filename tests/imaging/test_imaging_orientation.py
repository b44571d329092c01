"""Orientation letters at the image edges: from ImageOrientationPatient, for acquired and reformatted planes."""

from __future__ import annotations

import numpy as np
import pytest

from healthimaging_mcp.imaging.font import GLYPH_HEIGHT
from healthimaging_mcp.imaging.orientation import EdgeLabels, direction_letters, draw_edge_labels, edge_labels
from healthimaging_mcp.imaging.reformat import PLANES

# (top, bottom, left, right) as a radiologist reads each standard view (patient: +x left, +y posterior, +z head).
STANDARD_VIEWS = {
    "axial": EdgeLabels(top="A", bottom="P", left="R", right="L"),
    "coronal": EdgeLabels(top="H", bottom="F", left="R", right="L"),
    "sagittal": EdgeLabels(top="H", bottom="F", left="A", right="P"),
}


@pytest.mark.parametrize("plane", sorted(STANDARD_VIEWS))
def test_each_reformatted_plane_is_labelled_as_a_radiologist_reads_it(plane: str) -> None:
    axes = PLANES[plane]
    assert edge_labels([*axes.across, *axes.down]) == STANDARD_VIEWS[plane]


def test_acquired_orientations_as_dicom_text_give_the_same_letters() -> None:
    assert edge_labels("1\\0\\0\\0\\1\\0") == STANDARD_VIEWS["axial"]
    assert edge_labels(["0", "1", "0", "0", "0", "-1"]) == STANDARD_VIEWS["sagittal"]
    # A patient scanned feet first and prone: rows run right → left, columns anterior → posterior.
    assert edge_labels([-1, 0, 0, 0, -1, 0]) == EdgeLabels(top="P", bottom="A", left="L", right="R")


def test_oblique_directions_name_both_axes_strongest_first() -> None:
    assert direction_letters((0.8, -0.6, 0.0)) == "LA"
    assert direction_letters((0.1, 0.0, -0.99)) == "F"  # under the threshold, a small component adds nothing
    tilted = edge_labels([0.8, 0.6, 0.0, -0.6, 0.8, 0.0])
    assert tilted is not None and (tilted.right, tilted.bottom) == ("LP", "PR")


@pytest.mark.parametrize("orientation", [None, "", [1, 0, 0], [0, 0, 0, 0, 0, 0], "a\\b\\c\\d\\e\\f"])
def test_missing_or_degenerate_orientations_get_no_letters(orientation: object) -> None:
    assert edge_labels(orientation) is None


def test_the_letters_are_drawn_centred_on_each_edge_and_nowhere_else() -> None:
    image = np.zeros((300, 400), dtype=np.uint8)
    drawn = draw_edge_labels(image, STANDARD_VIEWS["coronal"])
    assert not image.any()  # the input is left as it was
    changed = drawn > 0
    band = GLYPH_HEIGHT * 2 + 4  # scale 1 below 512 px: the letter box height, with a margin
    edges = np.zeros_like(changed)
    edges[:band, 150:250] = edges[-band:, 150:250] = True  # top and bottom, centred
    edges[100:200, :band] = edges[100:200, -band:] = True  # left and right, centred
    assert changed[:band, 150:250].any() and changed[-band:, 150:250].any()
    assert changed[100:200, :band].any() and changed[100:200, -band:].any()
    assert not (changed & ~edges).any()
