"""Every image set of a patient, a study or a whole datastore: all pages, primary and non-primary.

A plain search may leave non-primary image sets out, so each inventory searches once per primary flag and
follows every page. Documents are fetched concurrently (GetImageSetMetadata allows 50 requests/s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..dicom.document import ImageSetDocument
from ..errors import ErrorType, HealthImagingError
from ..metadata import ImageSetDocuments

if TYPE_CHECKING:
    from mypy_boto3_medical_imaging.type_defs import ImageSetsMetadataSummaryTypeDef

    from ..aws.healthimaging import HealthImaging

SEARCH_PAGE = 50
MAX_IMAGE_SETS = 10_000
"""The most image sets one inventory reads (a safety bound, far above a patient's or a study's)."""
DOCUMENT_WORKERS = 8

Summary = Mapping[str, Any]


@dataclass(frozen=True)
class Scope:
    """What an inventory covers: one patient, one study, or (neither given) the whole datastore."""

    patient_id: str | None = None
    study_instance_uid: str | None = None

    @property
    def kind(self) -> str:
        return "patient" if self.patient_id else "study" if self.study_instance_uid else "datastore"

    def filters(self) -> list[dict[str, Any]]:
        if self.patient_id:
            return [_equal("DICOMPatientId", self.patient_id)]
        if self.study_instance_uid:
            return [_equal("DICOMStudyInstanceUID", self.study_instance_uid)]
        return []


def _equal(member: str, value: Any) -> dict[str, Any]:
    return {"operator": "EQUAL", "values": [{member: value}]}


def tags(summary: Summary) -> Mapping[str, Any]:
    """The DICOMTags of a search summary."""
    found: Mapping[str, Any] = summary.get("DICOMTags") or {}
    return found


def _order(summary: Summary) -> tuple[str, str, int, str]:
    t = tags(summary)
    number = t.get("DICOMSeriesNumber")
    return (
        str(t.get("DICOMStudyDate") or ""),
        str(t.get("DICOMStudyInstanceUID") or ""),
        number if isinstance(number, int) else 1 << 30,
        str(summary["imageSetId"]),
    )


def find_image_sets(
    aws: HealthImaging, datastore_id: str, scope: Scope, *, limit: int = MAX_IMAGE_SETS
) -> list[ImageSetsMetadataSummaryTypeDef]:
    """The search summaries of every image set in `scope` (primary and non-primary, every page), ordered by
    study date, study, series number; at most `limit` of each kind."""
    found: dict[str, ImageSetsMetadataSummaryTypeDef] = {}
    for primary in (True, False):
        criteria = {"filters": [*scope.filters(), _equal("isPrimary", primary)]}
        for summary in aws.search_all_image_sets(datastore_id, criteria, page_size=SEARCH_PAGE, max_items=limit):
            found[summary["imageSetId"]] = summary
    return sorted(found.values(), key=_order)


def require_some(summaries: Sequence[Summary], scope: Scope, datastore_id: str) -> None:
    """Unknown patient or study: a typed not_found that says what was searched."""
    if summaries:
        return
    what = f"patient ID {scope.patient_id!r}" if scope.patient_id else f"StudyInstanceUID {scope.study_instance_uid}"
    raise HealthImagingError(
        ErrorType.NOT_FOUND,
        f"No image set in datastore {datastore_id} has {what}.",
        next_step="Check the value (IDs are exact and case-sensitive), or search_image_sets to find it.",
    )


def fetch_documents(
    documents: ImageSetDocuments, datastore_id: str, summaries: Sequence[Summary]
) -> dict[str, ImageSetDocument]:
    """The metadata document of each summary's version, fetched concurrently; image set ID → document."""

    def one(summary: Summary) -> tuple[str, ImageSetDocument]:
        version = summary.get("version")
        image_set_id = str(summary["imageSetId"])
        return image_set_id, documents.get(datastore_id, image_set_id, str(version) if version else None)

    if len(summaries) <= 1:
        return dict(map(one, summaries))
    with ThreadPoolExecutor(min(DOCUMENT_WORKERS, len(summaries)), thread_name_prefix="documents") as pool:
        return dict(pool.map(one, summaries))
