"""The series to compare with: one named by image set, or the prior, found with SearchImageSets (same patient,
earlier study date) and the metadata (same modality and body part)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..dicom.document import ImageSetDocument, SeriesView
from ..dicom.values import as_text
from ..errors import ErrorType, HealthImagingError, invalid
from ..runtime import Runtime

MAX_CANDIDATES = 200  # image sets of the patient read while looking for the prior


@dataclass(frozen=True)
class Counterpart:
    """The image set (and series in it) to show beside the current one, and how it was chosen."""

    image_set_id: str
    version: str
    series_uid: str
    how: str


def body_part(document: ImageSetDocument, series: SeriesView) -> str | None:
    """BodyPartExamined of the series (or of its first instance)."""
    found = as_text(series.attributes.get("BodyPartExamined"))
    if not found and series.instances:
        found = as_text(series.instances[0].attributes.get("BodyPartExamined"))
    return found.upper() if found else None


def matching_series(document: ImageSetDocument, modality: str | None) -> SeriesView | None:
    """The series with the most frames among those of `modality` (any when None)."""
    candidates = [s for s in document.series if s.frame_count and (modality is None or s.modality == modality)]
    return max(candidates, key=lambda s: s.frame_count, default=None)


def named(rt: Runtime, datastore_id: str, image_set_id: str, modality: str | None) -> Counterpart:
    """The series of `image_set_id` to compare with: the largest of the same modality."""
    version = rt.documents.latest_version(datastore_id, image_set_id)
    document = rt.documents.get(datastore_id, image_set_id, version)
    series = matching_series(document, modality) or matching_series(document, None)
    if series is None:
        raise HealthImagingError(ErrorType.NOT_FOUND, f"Image set {image_set_id} has no image frames to compare with.")
    return Counterpart(image_set_id, version, series.uid, "chosen")


def find_prior(
    rt: Runtime, datastore_id: str, image_set_id: str, document: ImageSetDocument, series: SeriesView
) -> Counterpart:
    """The latest earlier study of the same patient with a series of the same modality and body part."""
    patient_id = as_text(document.patient.get("PatientID"))
    study_uid = as_text(document.study.get("StudyInstanceUID"))
    date = as_text(document.study.get("StudyDate"))
    time = (as_text(document.study.get("StudyTime")) or "235959").split(".")[0].ljust(6, "0")[:6]
    if not patient_id or not date:
        raise invalid(
            "Finding the prior needs the image set's PatientID and StudyDate; this one lacks them.",
            "Pass compare_with=<image set ID> of the study to compare with.",
        )
    modality, part = series.modality, body_part(document, series)
    criteria = {
        "filters": [
            {"operator": "EQUAL", "values": [{"DICOMPatientId": patient_id}]},
            {
                "operator": "BETWEEN",
                "values": [
                    {"DICOMStudyDateAndTime": {"DICOMStudyDate": "19000101", "DICOMStudyTime": "000000"}},
                    {"DICOMStudyDateAndTime": {"DICOMStudyDate": date, "DICOMStudyTime": time}},
                ],
            },
        ],
        "sort": {"sortField": "DICOMStudyDateAndTime", "sortOrder": "DESC"},
    }
    hits = rt.aws.search_all_image_sets(datastore_id, criteria, page_size=50, max_items=MAX_CANDIDATES)
    earlier = [hit for hit in hits if _is_candidate(hit, image_set_id, study_uid, modality, part)]
    earlier.sort(key=_study_moment, reverse=True)
    for hit in earlier:
        version = str(hit.get("version") or "") or rt.documents.latest_version(datastore_id, hit["imageSetId"])
        candidate = rt.documents.get(datastore_id, hit["imageSetId"], version)
        match = matching_series(candidate, modality)
        if match is not None and (part is None or body_part(candidate, match) in (None, part)):
            when = _study_moment(hit)[0]
            how = f"prior: same patient, {modality or 'any modality'}, {part or 'any body part'}, study of {when}"
            return Counterpart(hit["imageSetId"], version, match.uid, how)
    described = " ".join(x for x in (modality, part) if x) or "imaging"
    raise HealthImagingError(
        ErrorType.NOT_FOUND,
        f"No earlier {described} study of this patient in datastore {datastore_id}.",
        next_step="Search the patient's image sets (search_image_sets) and pass compare_with=<image set ID>.",
    )


def _tags(hit: Mapping[str, Any]) -> Mapping[str, Any]:
    tags: Mapping[str, Any] = hit.get("DICOMTags") or {}
    return tags


def _study_moment(hit: Mapping[str, Any]) -> tuple[str, str]:
    tags = _tags(hit)
    return str(tags.get("DICOMStudyDate") or ""), str(tags.get("DICOMStudyTime") or "")


def _is_candidate(
    hit: Mapping[str, Any], image_set_id: str, study_uid: str | None, modality: str | None, part: str | None
) -> bool:
    """An image set of another, earlier study of the patient that may hold a matching series."""
    tags = _tags(hit)
    if hit["imageSetId"] == image_set_id or hit.get("isPrimary") is False:
        return False
    if study_uid and tags.get("DICOMStudyInstanceUID") == study_uid:
        return False
    found_modality = tags.get("DICOMSeriesModality")
    found_part = tags.get("DICOMSeriesBodyPart")
    if modality and found_modality and found_modality != modality:
        return False
    return not (part and found_part and str(found_part).upper() != part)
