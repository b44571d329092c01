"""Fixtures for the pure DICOM metadata core: pydicom sample files and synthesised metadata documents."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest

PYDICOM_DATA = Path(pydicom.__file__).parent / "data"
TEST_FILES = PYDICOM_DATA / "test_files"
CHARSET_FILES = PYDICOM_DATA / "charset_files"

STUDY_UID = "2.25.100"
SERIES_UID = "2.25.200"
OTHER_SERIES_UID = "2.25.300"


@pytest.fixture
def read_sample() -> Callable[[str], pydicom.Dataset]:
    """Read one of pydicom's bundled files (never the download helpers)."""

    def read(name: str) -> pydicom.Dataset:
        folder = CHARSET_FILES if name.startswith("chr") else TEST_FILES
        return pydicom.dcmread(folder / name)

    return read


def frame(frame_id: str, width: int = 64) -> dict[str, Any]:
    """One ImageFrames entry; the checksum list is deliberately not sorted by width."""
    return {
        "ID": frame_id,
        "PixelDataChecksumFromBaseToFullResolution": [
            {"Width": width, "Height": width, "Checksum": 1000 + width},
            {"Width": 8, "Height": 8, "Checksum": 7},
        ],
        "MinPixelValue": 0,
        "MaxPixelValue": 4095,
        "FrameSizeInBytes": 1234,
    }


def instance(
    sop_uid: str,
    number: Any,
    z: float | None,
    frame_ids: list[str],
    **extra: Any,
) -> dict[str, Any]:
    """One instance object with axial orientation and the slice at height ``z``."""
    dicom: dict[str, Any] = {
        "SOPInstanceUID": sop_uid,
        "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
        "Rows": 64,
    }
    if number is not None:
        dicom["InstanceNumber"] = number
    if z is not None:
        dicom["ImagePositionPatient"] = ["-100.0", "-100.0", f"{z} "]
        dicom["ImageOrientationPatient"] = ["1", "0", "0", "0", "1", "0 "]
    body: dict[str, Any] = {
        "DICOM": dicom,
        "DICOMVRs": {},
        "StoredTransferSyntaxUID": "1.2.840.10008.1.2.4.202",
        "ChecksumType": "DECOMPRESSED",
        "ImageFrames": [frame(frame_id) for frame_id in frame_ids],
    }
    body.update(extra)
    return body


def build_document() -> dict[str, Any]:
    """A two-series image set whose instances are listed out of display order on purpose."""
    ct_instances = {
        "2.25.203": instance("2.25.203", "3 ", 30.0, ["f" * 31 + "3"]),
        "2.25.201": instance("2.25.201", "1 ", 10.0, ["f" * 31 + "1"]),
        # two slices share InstanceNumber 2: position along the normal decides (-5 before 20)
        "2.25.222": instance("2.25.222", 2, 20.0, ["f" * 31 + "b"]),
        "2.25.221": instance("2.25.221", "2", -5.0, ["f" * 31 + "a"]),
        # no InstanceNumber: after the numbered ones
        "2.25.299": instance("2.25.299", None, None, ["f" * 31 + "9"], StoredTransferSyntaxUID=None),
    }
    mr_instances = {
        "2.25.301": instance(
            "2.25.301",
            "1",
            0.0,
            ["e" * 31 + "1", "e" * 31 + "2", "e" * 31 + "3"],
            DICOMVRs={"00091001": "LO"},
        ),
    }
    mr_instances["2.25.301"]["DICOM"]["00091001"] = "VENDOR"
    del mr_instances["2.25.301"]["StoredTransferSyntaxUID"]
    return {
        "SchemaVersion": "1.1",
        "DatastoreID": "0" * 32,
        "ImageSetID": "1" * 32,
        "Patient": {
            "DICOM": {
                "PatientID": "PAT-1",
                "PatientName": "DOE^JANE",
                "PatientBirthDate": None,
                "PatientSex": "F",
            }
        },
        "Study": {
            "DICOM": {
                "StudyInstanceUID": STUDY_UID,
                "StudyDate": "20240105",
                "StudyTime": "101500",
                "AccessionNumber": "ACC42",
                "StudyID": "S1",
                "StudyDescription": "CT CHEST",
            },
            "Series": {
                # listed with the higher SeriesNumber first
                OTHER_SERIES_UID: {
                    "DICOM": {"SeriesInstanceUID": OTHER_SERIES_UID, "Modality": "MR", "SeriesNumber": "7 "},
                    "Instances": mr_instances,
                },
                SERIES_UID: {
                    "DICOM": {
                        "SeriesInstanceUID": SERIES_UID,
                        "Modality": "CT",
                        "SeriesNumber": "3 ",
                        "SeriesDescription": "AXIAL",
                        "BodyPartExamined": "CHEST",
                    },
                    "Instances": ct_instances,
                },
            },
        },
    }


@pytest.fixture
def document() -> dict[str, Any]:
    """A fresh synthesised metadata document."""
    return build_document()


@pytest.fixture
def pristine() -> Callable[[Any], Any]:
    """Deep copies to compare inputs against after a call (proves nothing was mutated)."""
    return copy.deepcopy


@pytest.fixture
def make_instance() -> Callable[..., dict[str, Any]]:
    """The instance-object builder, for tests that add instances of their own."""
    return instance
