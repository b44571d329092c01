"""Which DICOM attribute lives at which level of a HealthImaging metadata document.

HealthImaging places each top-level attribute at exactly one level. The Patient, Study and Series element
lists below follow the three tables of the developer guide page "Metadata normalization" (keys generated from
the DICOM PS3.6 2022b dictionary); every other attribute, including private tags and file meta elements,
lives at Instance level.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "PATIENT_TAGS",
    "SERIES_TAGS",
    "STUDY_TAGS",
    "Level",
    "level_of",
]

Level = Literal["Patient", "Study", "Series", "Instance"]

# --- Patient level -------------------------------------------------------------------------------------
# Patient Module, with the Issuer of Patient ID macro and the patient attributes the guide lists with it
# (birth/death calendar, sex, photo, species/breed/strain, responsible person, de-identification).
_PATIENT_MODULE = (
    0x00100010, 0x00100020, 0x00100021, 0x00100024, 0x00100022, 0x00100030, 0x00100033, 0x00100034,
    0x00100035, 0x00100040, 0x00101100, 0x00100200, 0x00081120, 0x00100032, 0x00101002, 0x00101001,
    0x00102160, 0x00104000, 0x00102201, 0x00102202, 0x00102292, 0x00102293, 0x00102294, 0x00100212,
    0x00100213, 0x00100219, 0x00100218, 0x00100216, 0x00100221, 0x00102297, 0x00102298, 0x00102299,
    0x00120062, 0x00120063, 0x00120064,
)  # fmt: skip
# Patient Group Macro
_PATIENT_GROUP_MACRO = (0x00100026, 0x00100027)
# Clinical Trial Subject Module
_CLINICAL_TRIAL_SUBJECT = (
    0x00120010, 0x00120020, 0x00120021, 0x00120030, 0x00120031, 0x00120040, 0x00120042, 0x00120081,
    0x00120082,
)  # fmt: skip

# --- Study level ---------------------------------------------------------------------------------------
# General Study Module
_GENERAL_STUDY = (
    0x0020000D, 0x00080020, 0x00080030, 0x00080090, 0x00080096, 0x0008009C, 0x0008009D, 0x00200010,
    0x00080050, 0x00080051, 0x00081030, 0x00081048, 0x00081049, 0x00081060, 0x00081062, 0x00321033,
    0x00321034, 0x00081110, 0x00081032, 0x00401012,
)  # fmt: skip
# Patient Study Module
_PATIENT_STUDY = (
    0x00081080, 0x00081084, 0x00101010, 0x00101020, 0x00101030, 0x00101022, 0x00101023, 0x00101024,
    0x00101021, 0x00102000, 0x00102110, 0x001021A0, 0x001021C0, 0x001021D0, 0x00380500, 0x00102180,
    0x001021B0, 0x00380010, 0x00380014, 0x00321066, 0x00321067, 0x00380060, 0x00380064, 0x00380062,
    0x00102203,
)  # fmt: skip
# Clinical Trial Study Module
_CLINICAL_TRIAL_STUDY = (0x00120050, 0x00120051, 0x00120052, 0x00120053, 0x00120083)

# --- Series level --------------------------------------------------------------------------------------
# General Series Module
_GENERAL_SERIES = (
    0x00080060, 0x0020000E, 0x00200011, 0x00200060, 0x00080021, 0x00080031, 0x00081050, 0x00081052,
    0x00181030, 0x0008103E, 0x0008103F, 0x00081070, 0x00081072, 0x00081111, 0x00081250, 0x00180015,
    0x00185100, 0x00280108, 0x00280109, 0x00400275, 0x00102210, 0x300A0700,
)  # fmt: skip
# Clinical Trial Series Module
_CLINICAL_TRIAL_SERIES = (0x00120060, 0x00120071, 0x00120072)
# General Equipment Module (note: Pixel Padding Value is a Series-level attribute here)
_GENERAL_EQUIPMENT = (
    0x00080070, 0x00080080, 0x00080081, 0x00081010, 0x00081040, 0x00081041, 0x00081090, 0x0018100B,
    0x00181000, 0x00181020, 0x00181008, 0x0018100A, 0x00181002, 0x00181050, 0x00181200, 0x00181201,
    0x00280120,
)  # fmt: skip
# Frame of Reference Module
_FRAME_OF_REFERENCE = (0x00200052, 0x00201040)

PATIENT_TAGS: frozenset[int] = frozenset(_PATIENT_MODULE + _PATIENT_GROUP_MACRO + _CLINICAL_TRIAL_SUBJECT)
STUDY_TAGS: frozenset[int] = frozenset(_GENERAL_STUDY + _PATIENT_STUDY + _CLINICAL_TRIAL_STUDY)
SERIES_TAGS: frozenset[int] = frozenset(
    _GENERAL_SERIES + _CLINICAL_TRIAL_SERIES + _GENERAL_EQUIPMENT + _FRAME_OF_REFERENCE
)


def level_of(tag: int) -> Level:
    """The document level holding a top-level attribute with this tag (private tags: Instance)."""
    if tag in PATIENT_TAGS:
        return "Patient"
    if tag in STUDY_TAGS:
        return "Study"
    if tag in SERIES_TAGS:
        return "Series"
    return "Instance"
