"""Patient, study and datastore overviews: studies → series (one image set each) with what a person asks first.

For a non-primary image set the overview says why it is not primary: which primary-hierarchy key elements
(reference §7.4) differ from the primary image set of its series. Long overviews list the series of the first
studies only and count the rest, so the answer stays within the model's context.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from ..aws.healthimaging import HealthImaging
from ..dicom.document import ImageSetDocument
from ..dicom.key_elements import key_element_conflicts
from ..dicom.values import as_int, as_text, iso_date
from ..text_table import text_table
from .inventory import SEARCH_PAGE, Summary, tags

MAX_SERIES_LISTED = 60
"""Series (image sets) listed one by one; studies beyond them are given with counts only."""

_KEY_ELEMENT_TAGS = {
    "StudyDate": "DICOMStudyDate",
    "AccessionNumber": "DICOMAccessionNumber",
    "PatientID": "DICOMPatientId",
    "StudyInstanceUID": "DICOMStudyInstanceUID",
    "StudyID": "DICOMStudyId",
    "SeriesInstanceUID": "DICOMSeriesInstanceUID",
    "SeriesNumber": "DICOMSeriesNumber",
}


class NotPrimaryBecause(BaseModel):
    """Why an image set is non-primary: the key elements on which it differs from its series' primary."""

    primary_image_set_id: str | None = None
    differs_in: list[str]

    def words(self) -> str:
        if self.primary_image_set_id is None:
            return "non-primary; its series has no primary image set now"
        if not self.differs_in:
            return f"non-primary; no key element differs from primary {self.primary_image_set_id} now"
        return f"non-primary: {', '.join(self.differs_in)} differ from primary {self.primary_image_set_id}"


class SeriesOverview(BaseModel):
    image_set_id: str
    version: str
    primary: bool
    series_instance_uid: str | None = None
    series_number: int | None = None
    modality: str | None = None
    description: str | None = None
    body_part: str | None = None
    date: str | None = None
    instances: int
    frames: int
    not_primary_because: NotPrimaryBecause | None = None


class StudyOverview(BaseModel):
    study_instance_uid: str | None = None
    date: str | None = None
    description: str | None = None
    accession_number: str | None = None
    study_id: str | None = None
    image_sets: int
    instances: int
    series: list[SeriesOverview]
    """Empty when the overview lists only the first studies' series (see `series_listed`)."""


class PatientFacts(BaseModel):
    name: str | None = None
    id: str | None = None
    birth_date: str | None = None
    sex: str | None = None


class ModalityTotal(BaseModel):
    modality: str
    image_sets: int
    instances: int
    studies: int
    patients: int


def patient_facts(summary: Summary) -> PatientFacts:
    t = tags(summary)
    return PatientFacts(
        name=t.get("DICOMPatientName"),
        id=t.get("DICOMPatientId"),
        birth_date=iso_date(t.get("DICOMPatientBirthDate")),
        sex=t.get("DICOMPatientSex"),
    )


def _key_elements(summary: Summary) -> dict[str, Any]:
    t = tags(summary)
    return {keyword: t.get(member) for keyword, member in _KEY_ELEMENT_TAGS.items()}


def _primary_of(aws: HealthImaging, datastore_id: str, summary: Summary, known: Sequence[Summary]) -> Summary | None:
    """The primary image set of the summary's series: among `known`, else found by one search."""
    t = tags(summary)
    study, series = t.get("DICOMStudyInstanceUID"), t.get("DICOMSeriesInstanceUID")
    if series is None:
        return None

    def same_series(other: Summary) -> bool:
        o = tags(other)
        return bool(other.get("isPrimary")) and (o.get("DICOMStudyInstanceUID"), o.get("DICOMSeriesInstanceUID")) == (
            study,
            series,
        )

    for other in known:
        if same_series(other):
            return other
    criteria = {
        "filters": [
            {"operator": "EQUAL", "values": [{"DICOMSeriesInstanceUID": series}]},
            {"operator": "EQUAL", "values": [{"isPrimary": True}]},
        ]
    }
    page = aws.search_image_sets(datastore_id, criteria, SEARCH_PAGE)
    return next((s for s in page.get("imageSetsMetadataSummaries", []) if same_series(s)), None)


def not_primary_because(
    aws: HealthImaging, datastore_id: str, summary: Summary, known: Sequence[Summary]
) -> NotPrimaryBecause:
    primary = _primary_of(aws, datastore_id, summary, known)
    if primary is None:
        return NotPrimaryBecause(differs_in=[])
    differs = key_element_conflicts(_key_elements(primary), _key_elements(summary))
    return NotPrimaryBecause(primary_image_set_id=primary["imageSetId"], differs_in=differs)


def series_overview(summary: Summary, document: ImageSetDocument, reason: NotPrimaryBecause | None) -> SeriesOverview:
    first = document.series[0] if document.series else None
    attributes: Mapping[str, Any] = first.attributes if first else {}
    return SeriesOverview(
        image_set_id=summary["imageSetId"],
        version=str(summary.get("version") or ""),
        primary=summary.get("isPrimary") is not False,
        series_instance_uid=first.uid if first else None,
        series_number=first.number if first else None,
        modality=first.modality if first else None,
        description=first.description if first else None,
        body_part=as_text(attributes.get("BodyPartExamined")),
        date=iso_date(attributes.get("SeriesDate")),
        instances=document.instance_count,
        frames=document.frame_count,
        not_primary_because=reason,
    )


def studies_of(
    aws: HealthImaging,
    datastore_id: str,
    summaries: Sequence[Summary],
    documents: Mapping[str, ImageSetDocument],
) -> list[StudyOverview]:
    """Studies in order, each with its series; series listed up to MAX_SERIES_LISTED (later studies: counts only)."""
    by_study: dict[str | None, list[Summary]] = defaultdict(list)
    for summary in summaries:
        by_study[tags(summary).get("DICOMStudyInstanceUID")].append(summary)
    studies, listed = [], 0
    for study_uid, members in by_study.items():
        t = tags(members[0])
        shown = listed + len(members) <= MAX_SERIES_LISTED or listed == 0
        series = []
        if shown:
            for summary in members:
                reason = None
                if summary.get("isPrimary") is False:
                    reason = not_primary_because(aws, datastore_id, summary, summaries)
                series.append(series_overview(summary, documents[summary["imageSetId"]], reason))
            listed += len(members)
        studies.append(
            StudyOverview(
                study_instance_uid=study_uid,
                date=iso_date(t.get("DICOMStudyDate")),
                description=t.get("DICOMStudyDescription"),
                accession_number=t.get("DICOMAccessionNumber"),
                study_id=t.get("DICOMStudyId"),
                image_sets=len(members),
                instances=sum(documents[s["imageSetId"]].instance_count for s in members),
                series=series,
            )
        )
    return studies


def totals_by_modality(summaries: Sequence[Summary], instances: Mapping[str, int] | None = None) -> list[ModalityTotal]:
    """Image sets, instances, studies and patients per modality (instances from `instances` when given, else
    from the search summaries)."""
    rows: dict[str, dict[str, Any]] = {}
    for summary in summaries:
        t = tags(summary)
        modality = t.get("DICOMSeriesModality") or "(none)"
        row = rows.setdefault(modality, {"image_sets": 0, "instances": 0, "studies": set(), "patients": set()})
        row["image_sets"] += 1
        counted = instances.get(summary["imageSetId"]) if instances is not None else None
        row["instances"] += counted if counted is not None else as_int(t.get("DICOMNumberOfStudyRelatedInstances")) or 0
        row["studies"].add(t.get("DICOMStudyInstanceUID"))
        row["patients"].add(t.get("DICOMPatientId"))
    return [
        ModalityTotal(
            modality=modality,
            image_sets=row["image_sets"],
            instances=row["instances"],
            studies=len(row["studies"]),
            patients=len(row["patients"]),
        )
        for modality, row in sorted(rows.items(), key=lambda item: -item[1]["image_sets"])
    ]


def render_totals(totals: Sequence[ModalityTotal]) -> str:
    rows = [[t.modality, t.image_sets, t.instances, t.studies, t.patients] for t in totals]
    return text_table(rows, ["modality", "image sets", "instances", "studies", "patients"])


def render_studies(studies: Sequence[StudyOverview]) -> str:
    lines = []
    for study in studies:
        head = " ".join(
            part
            for part in (
                "Study",
                study.date,
                f"'{study.description}'" if study.description else None,
                f"accession {study.accession_number}" if study.accession_number else None,
                f"({study.study_instance_uid})",
            )
            if part
        )
        lines.append(f"{head}: {study.image_sets} image set(s), {study.instances} instance(s)")
        rows = [
            [
                f"#{s.series_number}" if s.series_number is not None else "",
                s.modality or "",
                s.description or "",
                s.body_part or "",
                s.date or "",
                f"{s.instances}/{s.frames}",
                f"{s.image_set_id} v{s.version}",
                s.not_primary_because.words() if s.not_primary_because else "",
            ]
            for s in study.series
        ]
        if rows:
            header = ["series", "mod", "description", "body part", "date", "inst/frames", "image set", ""]
            lines += ["  " + line for line in text_table(rows, header).splitlines()]
    return "\n".join(lines)
