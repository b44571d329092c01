"""Synthetic image set documents for the metadata view tests: N-slice series, multi-series image sets."""

from __future__ import annotations

import hashlib
from typing import Any

from healthimaging_mcp.dicom.document import ImageSetDocument

AXIAL = ["1", "0", "0", "0", "1", "0 "]
SAGITTAL = ["0", "1", "0", "0", "0", "-1"]


def make_instance(
    sop_uid: str,
    number: int,
    position: float,
    *,
    rows: int = 512,
    columns: int = 512,
    frames: int = 1,
    orientation: list[str] | None = None,
    syntax: str | None = "1.2.840.10008.1.2.4.202",
    **attributes: Any,
) -> dict[str, Any]:
    """One instance object; ``position`` is the offset along the slice normal (z for axial)."""
    orientation = orientation or AXIAL
    xyz = ["-180", "-180", f"{position} "] if orientation == AXIAL else [f"{-position}", "-3", "7"]
    dicom = {
        "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
        "SOPInstanceUID": sop_uid,
        "InstanceNumber": f"{number} ",
        "ImagePositionPatient": xyz,
        "ImageOrientationPatient": orientation,
        "SliceLocation": f"{position} ",
        "AcquisitionNumber": "1 ",
        "Rows": rows,
        "Columns": columns,
        "BitsAllocated": 16,
        "BitsStored": 12,
        "PixelSpacing": ["0.7", "0.7 "],
        "SliceThickness": "2.5 ",
        "PhotometricInterpretation": "MONOCHROME2",
        "WindowCenter": ["40", "-600 "],
        "WindowWidth": ["400", "1500 "],
        **attributes,
    }
    return {
        "DICOM": dicom,
        "DICOMVRs": {},
        "StoredTransferSyntaxUID": syntax,
        "ChecksumType": "DECOMPRESSED",
        "ImageFrames": [
            {
                "ID": hashlib.md5(f"{sop_uid}/{index}".encode()).hexdigest(),
                "PixelDataChecksumFromBaseToFullResolution": [{"Width": columns, "Height": rows, "Checksum": 1}],
                "MinPixelValue": -1024,
                "MaxPixelValue": 2000 + index,
                "FrameSizeInBytes": 190_000,
            }
            for index in range(frames)
        ],
    }


def make_series(
    uid: str,
    number: int,
    count: int,
    *,
    modality: str = "CT",
    description: str = "AXIAL 2.5MM",
    gap: float = 2.5,
    **series_attributes: Any,
) -> dict[str, Any]:
    """A series of ``count`` single-frame slices ``gap`` mm apart, listed in reverse order on purpose."""
    instances = {f"{uid}.{i}": make_instance(f"{uid}.{i}", i + 1, -i * gap) for i in reversed(range(count))}
    dicom = {
        "SeriesInstanceUID": uid,
        "SeriesNumber": f"{number} ",
        "Modality": modality,
        "SeriesDescription": description,
        "BodyPartExamined": "CHEST",
        "SeriesDate": "20240105",
        "Manufacturer": "ACME",
        **series_attributes,
    }
    return {"DICOM": dicom, "Instances": instances}


def make_document(series: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An image set document holding ``series`` (SeriesInstanceUID → series object)."""
    return {
        "SchemaVersion": "1.1",
        "DatastoreID": "0" * 32,
        "ImageSetID": "9" * 32,
        "Patient": {
            "DICOM": {
                "PatientName": "DEMO^ALICE",
                "PatientID": "PAT-1",
                "PatientBirthDate": "19700101",
                "PatientSex": "F",
            }
        },
        "Study": {
            "DICOM": {
                "StudyInstanceUID": "2.25.1",
                "StudyDate": "20240105",
                "StudyTime": "101500.123",
                "StudyID": "S1",
                "AccessionNumber": "ACC123",
                "StudyDescription": "CT CHEST W CONTRAST",
                "ReferringPhysicianName": "WHO^DOCTOR",
                "PatientAge": "054Y",
            },
            "Series": series,
        },
    }


def document_of(*series: tuple[str, dict[str, Any]]) -> ImageSetDocument:
    return ImageSetDocument.from_json(make_document(dict(series)))


def json_length(model: Any) -> int:
    return len(model.model_dump_json(exclude_none=True))
