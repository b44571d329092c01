"""search_dicom: studies, series or instances by any DICOM attribute, through HealthImaging's QIDO-RS.

SearchImageSets matches a few identifiers only; QIDO-RS matches patient names (wildcards, fuzzy), modalities,
descriptions, body parts, physicians and date ranges. Criteria are DICOM keywords (or tags) checked here first:
an unknown keyword or a malformed date is refused before any request. A study search given `Modality` matches
ModalitiesInStudy; one StudyInstanceUID (and SeriesInstanceUID) scopes a series or instance search to its path.
Pages are `max_results` rows; one row more is asked for to know whether another page exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal, cast, get_args

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from ..dicom.dicom_json import attribute_vr
from ..dicom.keys import is_hex_key, keyword_or_hex, tag_of
from ..errors import invalid
from ..runtime import Runtime
from ..text_table import text_table
from .common import DatastoreIdArg, MaxResultsArg, NextTokenArg, more
from .registry import READ_ONLY, ToolOutput, Toolset

toolset = Toolset()

Level = Literal["studies", "series", "instances"]
DEFAULT_PAGE = 20
MAX_OFFSET = 9_999  # QIDO-RS pages through the first 10,000 matches
RESERVED = {"limit", "offset", "fuzzymatching", "includefield"}
# Returned besides the level's defaults (HealthImaging skips what it does not know).
INCLUDE: dict[str, tuple[str, ...]] = {
    "studies": ("ReferringPhysicianName",),
    "series": ("BodyPartExamined", "SeriesDescription", "StudyDescription", "PatientName", "PatientID", "StudyDate"),
    "instances": ("NumberOfFrames", "Modality", "SeriesNumber"),
}
_DATE = r"(\d{8}|\d{4}-\d{2}-\d{2})"
_DATE_RANGE = re.compile(rf"{_DATE}?(\s*(?:-|\.\.|/)\s*{_DATE}?)?")
_DATE_VRS = {"DA"}


def _level(value: str | None) -> str | None:
    """Levels are named in the description, not published as an enum (tools/list is paid for in context)."""
    if value is not None and value not in get_args(Level):
        raise PydanticCustomError("level", "level is studies, series or instances")
    return value


class DicomHit(ToolOutput):
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    sop_instance_uid: str | None = None
    patient_name: str | None = None
    patient_id: str | None = None
    study_date: str | None = None
    study_description: str | None = None
    accession_number: str | None = None
    referring_physician: str | None = None
    modality: str | None = None  # a study's: its series' modalities, comma-separated
    series_number: int | None = None
    series_description: str | None = None
    body_part: str | None = None
    instance_number: int | None = None
    frames: int | None = None
    series_count: int | None = None
    instance_count: int | None = None

    @classmethod
    def from_dataset(cls, ds: Mapping[str, Any], level: Level) -> DicomHit:
        text = _reader(ds)
        counts = "NumberOfStudyRelatedInstances" if level == "studies" else "NumberOfSeriesRelatedInstances"
        return cls(
            study_instance_uid=text("StudyInstanceUID"),
            series_instance_uid=text("SeriesInstanceUID") if level != "studies" else None,
            sop_instance_uid=text("SOPInstanceUID") if level == "instances" else None,
            patient_name=text("PatientName"),
            patient_id=text("PatientID"),
            study_date=text("StudyDate"),
            study_description=text("StudyDescription"),
            accession_number=text("AccessionNumber"),
            referring_physician=text("ReferringPhysicianName"),
            modality=text("ModalitiesInStudy") if level == "studies" else text("Modality"),
            series_number=_int(text("SeriesNumber")),
            series_description=text("SeriesDescription"),
            body_part=text("BodyPartExamined"),
            instance_number=_int(text("InstanceNumber")),
            frames=_int(text("NumberOfFrames")),
            series_count=_int(text("NumberOfStudyRelatedSeries")),
            instance_count=_int(text(counts)) if level != "instances" else None,
        )


class DicomSearchResults(ToolOutput):
    datastore_id: str
    results: list[DicomHit]
    next_token: str | None = None

    @property
    def level(self) -> Level:
        """What the rows are: instances name a SOP instance, series a series, studies neither."""
        first = self.results[0] if self.results else DicomHit()
        return "instances" if first.sop_instance_uid else "series" if first.series_instance_uid else "studies"

    def render(self) -> str:
        level = self.level
        rows, header = _table(level, self.results)
        head = f"{len(rows)} {level if len(rows) != 1 else _singular(level)} in datastore {self.datastore_id}:"
        follow = (
            "\nImage sets (IDs for the other tools): get_overview(study_instance_uid) or search_image_sets."
            if self.results and self.level != "instances"
            else ""
        )
        return f"{head}\n{text_table(rows, header)}\n{more(self.next_token)}{follow}"


@toolset.tool(READ_ONLY)
def search_dicom(
    rt: Runtime,
    match: dict[str, str] | None = None,
    level: Annotated[str | None, AfterValidator(_level)] = None,
    fuzzy: bool | None = None,
    max_results: MaxResultsArg = None,
    next_token: NextTokenArg = None,
    datastore_id: DatastoreIdArg = None,
) -> DicomSearchResults:
    """Find studies (default), series or instances by DICOM attributes, e.g. match
    {"PatientName":"ALICE*","Modality":"MR","StudyDate":"20230101-20241231"}; fuzzy: name word prefixes."""
    level = cast(Level, level or "studies")
    offset = _offset(next_token)
    page = max_results or DEFAULT_PAGE
    criteria = {key: rt.redaction.reveal(value) or value for key, value in _criteria(match or {}, level).items()}
    datastore_id = rt.resolve_datastore(datastore_id)
    path = _path(level, criteria)
    params = [*criteria.items(), *(("includefield", name) for name in INCLUDE[level])]
    if fuzzy:
        params.append(("fuzzymatching", "true"))
    params += [("limit", str(page + 1)), ("offset", str(offset))]
    found = rt.dicomweb.search(datastore_id, path, params)
    hits = [DicomHit.from_dataset(ds, level) for ds in found[:page]]
    further = len(found) > page and offset + page <= MAX_OFFSET
    return DicomSearchResults(
        datastore_id=datastore_id, results=hits, next_token=str(offset + page) if further else None
    )


def _offset(next_token: str | None) -> int:
    if next_token is None:
        return 0
    if not next_token.isdigit() or int(next_token) > MAX_OFFSET:
        raise invalid("next_token is not one search_dicom gave.", "Call again without next_token to start over.")
    return int(next_token)


def _criteria(match: Mapping[str, str], level: Level) -> dict[str, str]:
    """`match` as QIDO-RS match keys: keywords checked, tags as keywords, Modality of studies as
    ModalitiesInStudy, dates in DICOM form."""
    criteria: dict[str, str] = {}
    for name, value in match.items():
        key = name.strip()
        if key.lower() in RESERVED:
            raise invalid(f"{key} is not a match key; use max_results, next_token or fuzzy.")
        if is_hex_key(key):
            key = keyword_or_hex(int(key, 16))
        elif tag_of(key) is None:
            raise invalid(
                f"{name!r} is not a DICOM keyword.",
                "Name attributes by keyword (PatientName, PatientID, Modality, StudyDate, StudyDescription, "
                "BodyPartExamined, AccessionNumber, ReferringPhysicianName…) or 8-digit tag.",
            )
        if key == "Modality" and level == "studies":
            key = "ModalitiesInStudy"
        if attribute_vr(key, value, {}) in _DATE_VRS:
            value = _date_range(key, value)
        if not value.strip():
            raise invalid(f"{key} is empty; give a value or leave it out.")
        criteria[key] = value.strip()
    return criteria


def _date_range(key: str, value: str) -> str:
    """A date or date range (DICOM `YYYYMMDD-YYYYMMDD`, ISO dates, open ends) in DICOM form."""
    found = _DATE_RANGE.fullmatch(value.strip())
    low, separator, high = found.groups() if found else (None, None, None)
    if not found or (low is None and high is None):
        raise invalid(f"{key} must be a date or range such as 20230101-20241231 (YYYYMMDD).")
    first, last = (_date(key, text) if text else "" for text in (low, high))
    if first and last and first > last:
        raise invalid(f"{key}: the range starts after it ends.")
    return f"{first}-{last}" if separator else first


def _date(key: str, text: str) -> str:
    digits = text.replace("-", "")
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise invalid(f"{key} holds a date that is not in the calendar.") from None
    return digits


def _path(level: Level, criteria: dict[str, str]) -> str:
    """The QIDO-RS resource: one study (and series) UID scopes series and instance searches."""
    study = criteria.get("StudyInstanceUID", "")
    series = criteria.get("SeriesInstanceUID", "")
    if level == "studies" or "," in study or not study:
        return level
    del criteria["StudyInstanceUID"]
    if level == "series":
        return f"studies/{study}/series"
    if series and "," not in series:
        del criteria["SeriesInstanceUID"]
        return f"studies/{study}/series/{series}/instances"
    return f"studies/{study}/instances"


def _reader(ds: Mapping[str, Any]) -> Any:
    def text(keyword: str) -> str | None:
        tag = tag_of(keyword)
        element = ds.get(f"{tag:08X}") if tag is not None else None
        values = element.get("Value") if isinstance(element, Mapping) else None
        if not values:
            return None
        parts = [v.get("Alphabetic", "") if isinstance(v, Mapping) else str(v) for v in values]
        joined = ",".join(p for p in parts if p)
        return joined or None

    return text


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


def _singular(level: Level) -> str:
    return {"studies": "study", "series": "series", "instances": "instance"}[level]


def _patient(hit: DicomHit) -> str:
    return f"{hit.patient_name or ''} ({hit.patient_id or '-'})"


def _table(level: Level, hits: list[DicomHit]) -> tuple[list[list[str]], list[str]]:
    def cell(value: object) -> str:
        return "" if value is None else str(value)

    if level == "studies":
        header = ["study date", "patient", "mod", "study", "accession", "series/images", "study UID"]
        rows = [
            [
                cell(h.study_date),
                _patient(h),
                cell(h.modality),
                cell(h.study_description),
                cell(h.accession_number),
                f"{cell(h.series_count)}/{cell(h.instance_count)}",
                cell(h.study_instance_uid),
            ]
            for h in hits
        ]
    elif level == "series":
        header = ["study date", "patient", "mod", "series", "body part", "images", "series UID"]
        rows = [
            [
                cell(h.study_date),
                _patient(h),
                cell(h.modality),
                " ".join(x for x in (cell(h.series_number), cell(h.series_description)) if x),
                cell(h.body_part),
                cell(h.instance_count),
                cell(h.series_instance_uid),
            ]
            for h in hits
        ]
    else:
        header = ["#", "mod", "frames", "SOP instance UID", "series UID"]
        rows = [
            [
                cell(h.instance_number),
                cell(h.modality),
                cell(h.frames),
                cell(h.sop_instance_uid),
                cell(h.series_instance_uid),
            ]
            for h in hits
        ]
    return rows, header
