from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydicom

from healthimaging_mcp.dicom.document import ImageSetDocument
from healthimaging_mcp.dicom.key_elements import hierarchy_key_elements, key_element_conflicts
from healthimaging_mcp.dicom.normalize import normalize_instance
from healthimaging_mcp.dicom.search_tags import dicom_tags_summary


def test_dicom_tags_summary_builds_the_search_summary_object(document: dict[str, Any]) -> None:
    assert dicom_tags_summary(document) == {
        "DICOMPatientId": "PAT-1",
        "DICOMPatientName": "DOE^JANE",
        "DICOMPatientSex": "F",
        "DICOMStudyInstanceUID": "2.25.100",
        "DICOMStudyId": "S1",
        "DICOMStudyDescription": "CT CHEST",
        "DICOMAccessionNumber": "ACC42",
        "DICOMStudyDate": "20240105",
        "DICOMStudyTime": "101500",
        "DICOMSeriesInstanceUID": "2.25.200",
        "DICOMSeriesModality": "CT",
        "DICOMSeriesBodyPart": "CHEST",
        "DICOMSeriesNumber": 3,
        "DICOMNumberOfStudyRelatedSeries": 2,
        "DICOMNumberOfStudyRelatedInstances": 6,
    }


def test_dicom_tags_summary_omits_null_and_unparseable_values(document: dict[str, Any]) -> None:
    del document["Study"]["Series"]["2.25.300"]  # leave only the CT series
    document["Study"]["DICOM"]["StudyDescription"] = None
    document["Study"]["Series"]["2.25.200"]["DICOM"]["SeriesNumber"] = "three"
    document["Study"]["Series"]["2.25.200"]["DICOM"].pop("BodyPartExamined")
    tags = dicom_tags_summary(ImageSetDocument.from_json(document))
    assert "DICOMPatientBirthDate" not in tags  # null in the document
    assert "DICOMStudyDescription" not in tags
    assert "DICOMSeriesNumber" not in tags
    assert "DICOMSeriesBodyPart" not in tags
    assert tags["DICOMSeriesModality"] == "CT"


def test_hierarchy_key_elements_from_a_document(document: dict[str, Any]) -> None:
    assert hierarchy_key_elements(document) == {
        "StudyDate": "20240105",
        "AccessionNumber": "ACC42",
        "PatientID": "PAT-1",
        "StudyInstanceUID": "2.25.100",
        "StudyID": "S1",
        "SeriesInstanceUID": "2.25.200",
        "SeriesNumber": 3,
    }


def test_hierarchy_key_elements_from_a_normalised_instance(
    read_sample: Callable[[str], pydicom.Dataset],
) -> None:
    keys = hierarchy_key_elements(normalize_instance(read_sample("CT_small.dcm")))
    assert keys["PatientID"] == "1CT1"
    assert keys["AccessionNumber"] is None  # empty in the file
    assert keys["SeriesNumber"] == 1  # "1 " in the file
    assert keys["StudyID"] == "1CT1"


def test_key_element_conflicts_compare_normalised_values() -> None:
    existing = {"PatientID": "P1", "SeriesNumber": "3 ", "StudyID": "S1", "AccessionNumber": "A"}
    assert key_element_conflicts(existing, {"PatientID": "P1 ", "SeriesNumber": 3}) == []
    assert key_element_conflicts(existing, {"PatientID": "P2", "StudyID": None}) == ["PatientID"]
    assert key_element_conflicts(existing, {"PatientID": "P1"}, strict=True) == [
        "AccessionNumber",
        "StudyID",
        "SeriesNumber",
    ]
