"""The ``DICOMTags`` of an image set's search summary, and the length limits of its searchable attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthimaging_mcp.dicom.document import ImageSetDocument
from healthimaging_mcp.dicom.values import as_int, as_text

__all__ = ["MAX_LENGTHS", "SEARCH_TAGS", "dicom_tags_summary"]

SEARCH_TAGS: dict[str, tuple[str, str]] = {
    "DICOMPatientId": ("patient", "PatientID"),
    "DICOMPatientName": ("patient", "PatientName"),
    "DICOMPatientBirthDate": ("patient", "PatientBirthDate"),
    "DICOMPatientSex": ("patient", "PatientSex"),
    "DICOMStudyInstanceUID": ("study", "StudyInstanceUID"),
    "DICOMStudyId": ("study", "StudyID"),
    "DICOMStudyDescription": ("study", "StudyDescription"),
    "DICOMAccessionNumber": ("study", "AccessionNumber"),
    "DICOMSeriesInstanceUID": ("series", "SeriesInstanceUID"),
    "DICOMSeriesModality": ("series", "Modality"),
    "DICOMSeriesBodyPart": ("series", "BodyPartExamined"),
    "DICOMStudyDate": ("study", "StudyDate"),
    "DICOMStudyTime": ("study", "StudyTime"),
}
"""Text members of ``DICOMTags`` → (level, DICOM keyword); series members come from the first series."""

MAX_LENGTHS: dict[str, int] = {
    "PatientName": 256,
    "PatientID": 256,
    "PatientBirthDate": 18,
    "PatientSex": 16,
    "StudyInstanceUID": 256,
    "StudyID": 16,
    "StudyDescription": 64,
    "AccessionNumber": 256,
    "StudyDate": 18,
    "StudyTime": 28,
}
"""The longest value (characters) HealthImaging accepts for a searchable attribute, by DICOM keyword."""


def dicom_tags_summary(doc: ImageSetDocument | Mapping[str, Any]) -> dict[str, Any]:
    """The ``DICOMTags`` object of a search summary; absent or null attributes are left out.

    Series members come from the first series (by SeriesNumber); the two counts cover this image set.
    """
    document = doc if isinstance(doc, ImageSetDocument) else ImageSetDocument.from_json(doc)
    first_series = document.series[0].attributes if document.series else {}
    levels: dict[str, Mapping[str, Any]] = {
        "patient": document.patient,
        "study": document.study,
        "series": first_series,
    }
    tags: dict[str, Any] = {}
    for member, (level, keyword) in SEARCH_TAGS.items():
        text = as_text(levels[level].get(keyword))
        if text is not None:
            tags[member] = text
    tags["DICOMNumberOfStudyRelatedSeries"] = len(document.series)
    tags["DICOMNumberOfStudyRelatedInstances"] = document.instance_count
    series_number = as_int(first_series.get("SeriesNumber"))
    if series_number is not None:
        tags["DICOMSeriesNumber"] = series_number
    return tags
