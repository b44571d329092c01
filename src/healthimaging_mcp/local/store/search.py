"""SearchImageSets criteria → SQL, with the service's rules on operators, values and sorting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError

# SearchByAttributeValue member -> image_sets column (time members compare epoch seconds).
COLUMNS = {
    "DICOMPatientId": "patient_id",
    "DICOMAccessionNumber": "accession_number",
    "DICOMStudyId": "study_id",
    "DICOMStudyInstanceUID": "study_uid",
    "DICOMSeriesInstanceUID": "series_uid",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "DICOMStudyDateAndTime": "study_date_time",
    "isPrimary": "is_primary",
}
RANGE_ATTRIBUTES = {"createdAt", "updatedAt", "DICOMStudyDateAndTime"}
SORT_COLUMNS = {
    "updatedAt": "updated_at",
    "createdAt": "created_at",
    "DICOMStudyDateAndTime": "study_date_time",
}


@dataclass(frozen=True)
class SearchQuery:
    where: str
    args: list[Any]
    sort_column: str
    descending: bool


def _attribute_value(value: dict[str, Any]) -> tuple[str, Any]:
    ((attribute, raw),) = value.items()
    if attribute == "DICOMStudyDateAndTime":
        date = raw["DICOMStudyDate"].strip()
        time = (raw.get("DICOMStudyTime") or "").split(".")[0]
        if len(date) != 8 or not date.isdigit():
            raise ValidationError("DICOMStudyDate must be a date in YYYYMMDD form")
        if time and not time.isdigit():
            raise ValidationError("DICOMStudyTime must be a time in HHMMSS[.FFFFFF] form")
        return attribute, date + time.ljust(6, "0")[:6]
    if attribute == "isPrimary":
        return attribute, int(raw)
    return attribute, raw


def build_query(criteria: dict[str, Any]) -> SearchQuery:
    """Translate SearchCriteria (filters AND-ed, at most two, one attribute each) into SQL."""
    clauses: list[str] = []
    args: list[Any] = []
    seen: set[str] = set()
    for search_filter in criteria.get("filters", []):
        pairs = [_attribute_value(v) for v in search_filter["values"]]
        attributes = {attribute for attribute, _ in pairs}
        if len(attributes) != 1:
            raise ValidationError("All values of one search filter must name the same attribute")
        attribute = attributes.pop()
        if attribute in seen:
            raise ValidationError(f"Only one filter per attribute is allowed; {attribute} appears twice")
        seen.add(attribute)
        column = COLUMNS[attribute]
        operator = search_filter["operator"]
        if operator == "EQUAL":
            if len(pairs) != 1:
                raise ValidationError(f"EQUAL takes exactly one value ({attribute} has {len(pairs)})")
            clauses.append(f"{column} = ?")
            args.append(pairs[0][1])
        else:
            if attribute not in RANGE_ATTRIBUTES:
                raise ValidationError(
                    f"BETWEEN applies to createdAt, updatedAt and DICOMStudyDateAndTime, not {attribute}"
                )
            if len(pairs) != 2:
                raise ValidationError(f"BETWEEN takes two values (lowerBound, upperBound) for {attribute}")
            low, high = pairs[0][1], pairs[1][1]
            if low > high:
                raise ValidationError(f"BETWEEN bounds for {attribute} must be (lowerBound, upperBound)")
            clauses.append(f"{column} BETWEEN ? AND ?")
            args += [low, high]
    sort = criteria.get("sort")
    column = SORT_COLUMNS[sort["sortField"]] if sort else "updated_at"
    descending = sort["sortOrder"] == "DESC" if sort else True
    return SearchQuery(" AND ".join(clauses) or "1 = 1", args, column, descending)
