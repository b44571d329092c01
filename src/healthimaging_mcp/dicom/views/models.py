"""Pydantic models of the three metadata depths (summary, one series, one instance).

These become MCP output schemas: field names are self-explanatory where possible and descriptions stay
short. Optional fields default to ``None`` and are meant to be dumped with ``exclude_none=True``. Dates are
ISO ``YYYY-MM-DD`` and times ``HH:MM:SS`` when parseable, else the raw DICOM string.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AttributeRow",
    "FrameInfo",
    "InstanceDetail",
    "InstanceRow",
    "MetadataSummary",
    "PatientInfo",
    "SeriesDetail",
    "SeriesSummary",
    "StudyInfo",
    "ViewError",
]


class ViewError(ValueError):
    """A view cannot be built: unknown series or instance, or bad paging arguments."""


class PatientInfo(BaseModel):
    """Patient-level facts."""

    name: str | None = None
    id: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    age: str | None = Field(default=None, description="PatientAge as DICOM gives it, e.g. 045Y")


class StudyInfo(BaseModel):
    """Study-level facts."""

    instance_uid: str | None = None
    id: str | None = None
    date: str | None = None
    time: str | None = None
    description: str | None = None
    accession_number: str | None = None
    referring_physician: str | None = None


class SeriesSummary(BaseModel):
    """One series: identity, counts and the acquisition facts a reader wants first."""

    series_instance_uid: str
    number: int | None = None
    modality: str | None = None
    description: str | None = None
    body_part: str | None = None
    plane: str | None = Field(default=None, description="axial, coronal, sagittal or oblique")
    instance_count: int
    frame_count: int
    rows: int | None = Field(default=None, description="Common to all instances; absent when mixed (see note)")
    columns: int | None = None
    bits_stored: int | None = None
    pixel_spacing: list[float] | None = Field(default=None, description="Row, column spacing in mm")
    slice_thickness: float | None = None
    spacing_between_slices: float | None = Field(
        default=None, description="mm; median gap of positions along the slice normal when measurable"
    )
    photometric_interpretation: str | None = None
    stored_transfer_syntax: str | None = Field(default=None, description="Common StoredTransferSyntaxUID")
    series_date: str | None = None
    manufacturer: str | None = None
    contrast: str | None = Field(default=None, description="ContrastBolusAgent")
    window_center: float | None = None
    window_width: float | None = None
    note: str | None = None


class MetadataSummary(BaseModel):
    """An image set at a glance: patient, study and every series that fits the budget."""

    image_set_id: str | None = None
    datastore_id: str | None = None
    patient: PatientInfo
    study: StudyInfo
    modalities: list[str] = Field(default_factory=list)
    series_count: int
    instance_count: int
    frame_count: int
    series: list[SeriesSummary]
    truncated: bool = False
    omitted_series: int = Field(default=0, description="Series left out to stay within the output budget")


class InstanceRow(BaseModel):
    """One instance of a series, in display order."""

    sop_instance_uid: str
    instance_number: int | None = None
    slice_index: int = Field(description="0-based index of the instance's first frame in the series display order")
    image_position: list[float] | None = None
    slice_location: float | None = None
    acquisition_number: int | None = None
    frame_count: int
    frame_ids: list[str] = Field(description="Image frame IDs; only the first few when there are many")
    attributes: dict[str, Any] | None = None


class SeriesDetail(BaseModel):
    """A page of a series' instances."""

    image_set_id: str | None = None
    series: SeriesSummary
    instances: list[InstanceRow]
    offset: int
    returned: int
    total: int
    next_offset: int | None = Field(default=None, description="Pass as offset to continue; absent at the end")
    truncated: bool = Field(default=False, description="The output budget stopped the page early")
    unknown_keywords: list[str] | None = None


class AttributeRow(BaseModel):
    """One DICOM attribute of an instance (or inherited from its series, study or patient)."""

    keyword: str = Field(description="DICOM keyword, or 8 hex digits for private/unknown tags")
    tag: str
    vr: str | None = None
    level: str
    value: Any = None


class FrameInfo(BaseModel):
    """One image frame of an instance."""

    id: str
    min: float | None = None
    max: float | None = None
    size: int | None = Field(default=None, description="Stored frame size in bytes")


class InstanceDetail(BaseModel):
    """A page of one instance's attributes, in tag order, plus its frames."""

    image_set_id: str | None = None
    series_instance_uid: str
    sop_instance_uid: str
    instance_number: int | None = None
    stored_transfer_syntax: str
    attributes: list[AttributeRow]
    offset: int
    returned: int
    total: int
    next_offset: int | None = None
    truncated: bool = False
    unknown_keywords: list[str] | None = None
    absent_keywords: list[str] | None = Field(default=None, description="Known keywords this instance lacks")
    frame_count: int
    frames: list[FrameInfo] = Field(description="The first frames of the instance")
