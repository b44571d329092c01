from __future__ import annotations

import pytest
from pydicom.datadict import keyword_for_tag

from healthimaging_mcp.dicom.keys import keyword_or_hex, tag_of
from healthimaging_mcp.dicom.levels import PATIENT_TAGS, SERIES_TAGS, STUDY_TAGS, level_of


def test_level_lists_have_the_sizes_of_the_developer_guide_tables() -> None:
    assert (len(PATIENT_TAGS), len(STUDY_TAGS), len(SERIES_TAGS)) == (46, 50, 44)


def test_every_listed_tag_is_a_known_public_attribute() -> None:
    for tag in PATIENT_TAGS | STUDY_TAGS | SERIES_TAGS:
        assert keyword_for_tag(tag), f"{tag:08X} has no keyword"
    keywords = {keyword_for_tag(tag) for tag in PATIENT_TAGS | STUDY_TAGS | SERIES_TAGS}
    assert len(keywords) == 140


def test_each_attribute_lives_at_exactly_one_level() -> None:
    assert not PATIENT_TAGS & STUDY_TAGS
    assert not PATIENT_TAGS & SERIES_TAGS
    assert not STUDY_TAGS & SERIES_TAGS


@pytest.mark.parametrize(
    ("tag", "level"),
    [
        (0x00100010, "Patient"),  # PatientName
        (0x00081120, "Patient"),  # ReferencedPatientSequence
        (0x00120064, "Patient"),  # DeidentificationMethodCodeSequence
        (0x00080020, "Study"),  # StudyDate
        (0x00101010, "Study"),  # PatientAge (Patient Study module)
        (0x00080060, "Series"),  # Modality
        (0x00280120, "Series"),  # PixelPaddingValue (General Equipment)
        (0x00200052, "Series"),  # FrameOfReferenceUID
        (0x00280010, "Instance"),  # Rows
        (0x00200013, "Instance"),  # InstanceNumber
        (0x00020010, "Instance"),  # TransferSyntaxUID
        (0x00091001, "Instance"),  # private
    ],
)
def test_level_of_places_attributes(tag: int, level: str) -> None:
    assert level_of(tag) == level


def test_keys_are_keywords_or_uppercase_hex() -> None:
    assert keyword_or_hex(0x00100010) == "PatientName"
    assert keyword_or_hex(0x0009100A) == "0009100A"
    assert keyword_or_hex(0x60003000) == "OverlayData"
    assert keyword_or_hex(0x60023000) == "60023000"  # later repeating groups must not reuse the keyword
    assert keyword_or_hex(0x00F00010) == "00F00010"  # unknown public tag


def test_tag_of_inverts_keys() -> None:
    assert tag_of("PatientName") == 0x00100010
    assert tag_of("0009100a") == 0x0009100A
    assert tag_of("OverlayData") == 0x60003000
    assert tag_of("patientname") is None
    assert tag_of("NotAKeyword") is None
