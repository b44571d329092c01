"""Finding image sets and reading their state: search_image_sets, get_image_set, list_image_set_versions."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from ..dicom.document import ImageSetDocument
from ..errors import HealthImagingError, invalid
from ..runtime import Runtime
from ..text_table import text_table
from .common import (
    UID_PATTERN,
    DatastoreIdArg,
    ImageSetIdArg,
    MaxResultsArg,
    NextTokenArg,
    VersionArg,
    iso,
    more,
)
from .registry import READ_ONLY, ToolOutput, Toolset

toolset = Toolset()

# Published as an ISO date; YYYYMMDD (DICOM's own form) is accepted too.
DateArg = Annotated[
    str | None, Field(pattern=r"^\d{4}-?\d{2}-?\d{2}$"), WithJsonSchema({"type": "string", "format": "date"})
]
TimeArg = Annotated[str | None, Field(json_schema_extra={"format": "date-time"})]
Text64 = Annotated[str | None, Field(min_length=1, max_length=256)]
UidFilter = Annotated[str | None, Field(pattern=UID_PATTERN, max_length=64)]


class ImageSetHit(ToolOutput):
    image_set_id: str
    version: int | None = None
    is_primary: bool | None = None
    updated_at: str | None = None
    patient_name: str | None = None
    patient_id: str | None = None
    patient_birth_date: str | None = None
    patient_sex: str | None = None
    study_instance_uid: str | None = None
    study_id: str | None = None
    study_description: str | None = None
    study_date: str | None = None
    study_time: str | None = None
    accession_number: str | None = None
    series_instance_uid: str | None = None
    series_number: int | None = None
    modality: str | None = None
    body_part: str | None = None
    series_count: int | None = None
    instance_count: int | None = None
    series_description: str | None = None  # from the metadata: SearchImageSets does not return it

    @classmethod
    def from_api(cls, s: Mapping[str, Any]) -> ImageSetHit:
        tags = s.get("DICOMTags", {})
        return cls(
            image_set_id=s["imageSetId"],
            version=s.get("version"),
            is_primary=s.get("isPrimary"),
            updated_at=iso(s.get("updatedAt")),
            patient_name=tags.get("DICOMPatientName"),
            patient_id=tags.get("DICOMPatientId"),
            patient_birth_date=tags.get("DICOMPatientBirthDate"),
            patient_sex=tags.get("DICOMPatientSex"),
            study_instance_uid=tags.get("DICOMStudyInstanceUID"),
            study_id=tags.get("DICOMStudyId"),
            study_description=tags.get("DICOMStudyDescription"),
            study_date=tags.get("DICOMStudyDate"),
            study_time=tags.get("DICOMStudyTime"),
            accession_number=tags.get("DICOMAccessionNumber"),
            series_instance_uid=tags.get("DICOMSeriesInstanceUID"),
            series_number=tags.get("DICOMSeriesNumber"),
            modality=tags.get("DICOMSeriesModality"),
            body_part=tags.get("DICOMSeriesBodyPart"),
            series_count=tags.get("DICOMNumberOfStudyRelatedSeries"),
            instance_count=tags.get("DICOMNumberOfStudyRelatedInstances"),
        )


class SearchResults(ToolOutput):
    datastore_id: str
    image_sets: list[ImageSetHit]
    next_token: str | None = None

    def render(self) -> str:
        rows = [
            [
                s.image_set_id,
                "" if s.version is None else str(s.version),
                f"{s.patient_name or ''} ({s.patient_id or '-'})",
                s.study_date or "",
                s.modality or "",
                s.study_description or "",
                " ".join(
                    x for x in ("" if s.series_number is None else str(s.series_number), s.series_description) if x
                ),
                str(s.instance_count or ""),
                "" if s.is_primary in (True, None) else "non-primary",
            ]
            for s in self.image_sets
        ]
        header = ["image_set_id", "v", "patient", "study date", "mod", "study", "series", "images", ""]
        head = f"{len(rows)} image set(s) in datastore {self.datastore_id}:"
        return f"{head}\n{text_table(rows, header)}\n{more(self.next_token)}"


def _dicom_date(value: str) -> str:
    return value.replace("-", "")


def _timestamp(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{name} must be an ISO 8601 date-time such as 2024-05-01T00:00:00Z, not {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _range(low: str | None, high: str | None, name: str) -> list[dict[str, Any]]:
    lower = _timestamp(low, f"{name}_from") if low else datetime(1970, 1, 1, tzinfo=timezone.utc)
    upper = _timestamp(high, f"{name}_to") if high else datetime(2999, 12, 31, tzinfo=timezone.utc)
    if lower > upper:
        raise invalid(f"{name}_from must not be after {name}_to")
    key = "createdAt" if name == "created" else "updatedAt"
    return [{key: lower}, {key: upper}]


def build_filters(criteria: dict[str, Any]) -> list[dict[str, Any]]:
    """Friendly criteria → SearchImageSets filters (at most two, as the API allows)."""
    filters: list[dict[str, Any]] = []
    equal = {
        "patient_id": "DICOMPatientId",
        "accession_number": "DICOMAccessionNumber",
        "study_id": "DICOMStudyId",
        "study_instance_uid": "DICOMStudyInstanceUID",
        "series_instance_uid": "DICOMSeriesInstanceUID",
        "is_primary": "isPrimary",
    }
    for name, key in equal.items():
        if criteria.get(name) is not None:
            filters.append({"operator": "EQUAL", "values": [{key: criteria[name]}]})
    if criteria.get("study_date_from") or criteria.get("study_date_to"):
        low = _dicom_date(criteria.get("study_date_from") or "19000101")
        high = _dicom_date(criteria.get("study_date_to") or "29991231")
        if low > high:
            raise invalid("study_date_from must not be after study_date_to")
        filters.append(
            {
                "operator": "BETWEEN",
                "values": [
                    {"DICOMStudyDateAndTime": {"DICOMStudyDate": low, "DICOMStudyTime": "000000"}},
                    {"DICOMStudyDateAndTime": {"DICOMStudyDate": high, "DICOMStudyTime": "235959"}},
                ],
            }
        )
    for name in ("created", "updated"):
        if criteria.get(f"{name}_from") or criteria.get(f"{name}_to"):
            values = _range(criteria.get(f"{name}_from"), criteria.get(f"{name}_to"), name)
            filters.append({"operator": "BETWEEN", "values": values})
    if len(filters) > 2:
        given = [name for name, value in criteria.items() if value is not None]
        raise invalid(
            f"HealthImaging combines at most two search criteria; got {len(filters)} ({', '.join(given)}).",
            "Keep the two most selective criteria (a date range counts as one) and filter the rest yourself.",
        )
    return filters


_SORT_FIELDS = {"updated": "updatedAt", "created": "createdAt", "study_date": "DICOMStudyDateAndTime"}


@toolset.tool(READ_ONLY)
def search_image_sets(
    rt: Runtime,
    datastore_id: DatastoreIdArg = None,
    patient_id: Text64 = None,
    accession_number: Text64 = None,
    study_instance_uid: UidFilter = None,
    series_instance_uid: UidFilter = None,
    study_id: Text64 = None,
    study_date_from: DateArg = None,
    study_date_to: DateArg = None,
    created_from: TimeArg = None,
    created_to: TimeArg = None,
    updated_from: TimeArg = None,
    updated_to: TimeArg = None,
    is_primary: bool | None = None,
    sort_by: Literal["updated", "created", "study_date"] | None = None,
    sort_order: Literal["asc", "desc"] = "desc",
    max_results: MaxResultsArg = None,
    next_token: NextTokenArg = None,
) -> SearchResults:
    """Find image sets (one per DICOM series) by patient, accession, study/series UID, study ID, study date or
    created/updated time; at most two criteria, none lists all."""
    datastore_id = rt.resolve_datastore(datastore_id)
    criteria = {
        "patient_id": rt.redaction.reveal(patient_id),
        "accession_number": rt.redaction.reveal(accession_number),
        "study_instance_uid": study_instance_uid,
        "series_instance_uid": series_instance_uid,
        "study_id": rt.redaction.reveal(study_id),
        "study_date_from": study_date_from,
        "study_date_to": study_date_to,
        "created_from": created_from,
        "created_to": created_to,
        "updated_from": updated_from,
        "updated_to": updated_to,
        "is_primary": is_primary,
    }
    search: dict[str, Any] = {}
    filters = build_filters(criteria)
    if filters:
        search["filters"] = filters
    if sort_by:
        search["sort"] = {"sortField": _SORT_FIELDS[sort_by], "sortOrder": sort_order.upper()}
    page = rt.aws.search_image_sets(datastore_id, search, max_results, next_token)
    hits = [ImageSetHit.from_api(s) for s in page.get("imageSetsMetadataSummaries", [])]
    describe_series(rt, datastore_id, hits)
    return SearchResults(datastore_id=datastore_id, image_sets=hits, next_token=page.get("nextToken"))


DESCRIBED_SERIES = 3  # series descriptions named per image set
_DESCRIBE_WORKERS = 8


def describe_series(rt: Runtime, datastore_id: str, hits: list[ImageSetHit]) -> None:
    """Fill in each hit's series description(s) from its metadata (GetImageSetMetadata of the version found,
    cached; the missing ones fetched concurrently); an image set whose metadata cannot be read keeps none."""

    def name(hit: ImageSetHit, document: ImageSetDocument) -> None:
        named = [s.description for s in document.series if s.description]
        if named:
            more = f" +{len(named) - DESCRIBED_SERIES}" if len(named) > DESCRIBED_SERIES else ""
            hit.series_description = "; ".join(named[:DESCRIBED_SERIES]) + more

    def fetch(hit: ImageSetHit) -> None:
        try:
            document = rt.documents.get(
                datastore_id, hit.image_set_id, None if hit.version is None else str(hit.version)
            )
        except HealthImagingError:
            return
        name(hit, document)

    missing = []
    for hit in hits:
        cached = None if hit.version is None else rt.documents.cached(datastore_id, hit.image_set_id, str(hit.version))
        if cached is None:
            missing.append(hit)
        else:
            name(hit, cached)
    if len(missing) == 1:
        fetch(missing[0])
    elif missing:
        with ThreadPoolExecutor(min(_DESCRIBE_WORKERS, len(missing))) as pool:
            list(pool.map(fetch, missing))


class ImageSetState(ToolOutput):
    datastore_id: str
    image_set_id: str
    version_id: str
    state: str
    workflow_status: str | None = None
    is_primary: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None
    deleted_at: str | None = None
    last_accessed_at: str | None = None
    storage_tier: str | None = None
    forced: bool | None = None
    message: str | None = None
    arn: str | None = None

    @classmethod
    def from_api(cls, r: Mapping[str, Any]) -> ImageSetState:
        return cls(
            datastore_id=r["datastoreId"],
            image_set_id=r["imageSetId"],
            version_id=r["versionId"],
            state=r["imageSetState"],
            workflow_status=r.get("imageSetWorkflowStatus"),
            is_primary=r.get("isPrimary"),
            created_at=iso(r.get("createdAt")),
            updated_at=iso(r.get("updatedAt")),
            deleted_at=iso(r.get("deletedAt")),
            last_accessed_at=iso(r.get("lastAccessedAt")),
            storage_tier=r.get("storageTier"),
            forced=(r.get("overrides") or {}).get("forced"),
            message=r.get("message"),
            arn=r.get("imageSetArn"),
        )

    def render(self) -> str:
        primary = "" if self.is_primary is None else (" primary" if self.is_primary else " non-primary")
        text = (
            f"Image set {self.image_set_id} version {self.version_id}: {self.state}/{self.workflow_status}{primary}, "
            f"updated {self.updated_at}"
        )
        return text + (f". Message: {self.message}" if self.message else "")


@toolset.tool(READ_ONLY)
def get_image_set(
    rt: Runtime, image_set_id: ImageSetIdArg, datastore_id: DatastoreIdArg = None, version_id: VersionArg = None
) -> ImageSetState:
    """State of one image set: latest version, ACTIVE/LOCKED/DELETED, workflow status, primary flag."""
    datastore_id = rt.resolve_datastore(datastore_id)
    return ImageSetState.from_api(rt.aws.get_image_set(datastore_id, image_set_id, version_id))


class ImageSetVersion(ToolOutput):
    version_id: str
    state: str
    workflow_status: str | None = None
    updated_at: str | None = None
    forced: bool | None = None
    message: str | None = None


class ImageSetVersions(ToolOutput):
    image_set_id: str
    versions: list[ImageSetVersion]
    next_token: str | None = None

    def render(self) -> str:
        rows = [
            [v.version_id, v.state, v.workflow_status or "", v.updated_at or "", v.message or ""] for v in self.versions
        ]
        return (
            f"Versions of image set {self.image_set_id} (newest first):\n"
            f"{text_table(rows, ['version', 'state', 'workflow', 'updated', 'message'])}\n{more(self.next_token)}"
        )


@toolset.tool(READ_ONLY)
def list_image_set_versions(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    datastore_id: DatastoreIdArg = None,
    max_results: MaxResultsArg = None,
    next_token: NextTokenArg = None,
) -> ImageSetVersions:
    """Version history of an image set; every version stays readable."""
    datastore_id = rt.resolve_datastore(datastore_id)
    page = rt.aws.list_image_set_versions(datastore_id, image_set_id, max_results, next_token)
    versions = [
        ImageSetVersion(
            version_id=v["versionId"],
            state=v["imageSetState"],
            workflow_status=v.get("ImageSetWorkflowStatus"),
            updated_at=iso(v.get("updatedAt") or v.get("createdAt")),
            forced=(v.get("overrides") or {}).get("forced"),
            message=v.get("message"),
        )
        for v in page.get("imageSetPropertiesList", [])
    ]
    return ImageSetVersions(image_set_id=image_set_id, versions=versions, next_token=page.get("nextToken"))
