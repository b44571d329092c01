"""Every image bundled with pydicom and in pydicom-data renders as pydicom's reference pipeline renders it."""

from __future__ import annotations

import pytest

from tests.support.dicom_files import pydicom_data_dir
from tests.support.reference_pipeline import Comparison, compare_all, table

#: Differences allowed: lossy JPEG decoded by libjpeg-turbo (ours) and by libjpeg (the reference) differ by a
#: level or two on a few pixels; lossless paths must match to rounding.
MAX_MEAN_DIFFERENCE = 0.2
MAX_DIFFERENCE = 5
#: Why a file may be left out: not an image, or one that pydicom itself cannot decode.
ACCEPTED_SKIPS = ("no pixel data", "pydicom cannot decode", "bad NumberOfFrames")


@pytest.fixture(scope="module")
def comparisons() -> list[Comparison]:
    rows = list(compare_all())
    print("\n" + table(rows))
    return rows


def test_every_image_matches_the_pydicom_reference(comparisons: list[Comparison]) -> None:
    compared = [row for row in comparisons if row.skipped is None]
    assert len(compared) >= (55 if pydicom_data_dir() is None else 120)
    worst = sorted(compared, key=lambda row: -(row.mad or 0))[:5]
    for row in compared:
        assert row.mad is not None and row.mad <= MAX_MEAN_DIFFERENCE, worst
        assert row.max_difference is not None and row.max_difference <= MAX_DIFFERENCE, row


def test_only_non_images_and_files_pydicom_cannot_decode_are_left_out(comparisons: list[Comparison]) -> None:
    for row in comparisons:
        if row.skipped is not None:
            assert row.skipped.startswith(ACCEPTED_SKIPS), row


def test_the_modality_paths_are_all_exercised(comparisons: list[Comparison]) -> None:
    modes = {mode for row in comparisons if row.mode for mode in row.mode.split("/")}
    expected = {"dicom window", "full range", "colour", "palette", "mask"}
    if pydicom_data_dir() is not None:
        expected |= {"VOI LUT"}
        by_name = {row.name: row for row in comparisons}
        assert by_name["mlut_18.dcm"].skipped is None  # Modality LUT Sequence
        assert by_name["gdcm-US-ALOKA-16.dcm"].mode == "palette"  # segmented 16-bit palette
        assert by_name["OBXXXX1A_expb_2frame.dcm"].mad == 0.0  # big-endian palette, both frames
    assert expected <= modes
