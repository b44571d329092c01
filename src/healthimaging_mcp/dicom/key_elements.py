"""Primary-hierarchy key elements: the study and series attributes that decide whether data joins an image set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from healthimaging_mcp.dicom.document import ImageSetDocument
from healthimaging_mcp.dicom.values import as_int, as_text

__all__ = [
    "SERIES_KEY_ELEMENTS",
    "STUDY_KEY_ELEMENTS",
    "LevelAttributes",
    "hierarchy_key_elements",
    "key_element_conflicts",
]

STUDY_KEY_ELEMENTS = ("StudyDate", "AccessionNumber", "PatientID", "StudyInstanceUID", "StudyID")
"""Study-level elements that decide whether imported data joins a primary image set."""
SERIES_KEY_ELEMENTS = ("SeriesInstanceUID", "SeriesNumber")
"""Series-level elements that decide whether imported data joins a primary image set."""


class LevelAttributes(Protocol):
    """Anything with patient/study/series attribute dicts, e.g. a ``NormalizedInstance``."""

    @property
    def patient(self) -> Mapping[str, Any]: ...
    @property
    def study(self) -> Mapping[str, Any]: ...
    @property
    def series(self) -> Mapping[str, Any]: ...


def _key_value(keyword: str, value: Any) -> Any:
    if keyword == "SeriesNumber":
        number = as_int(value)
        if number is not None:
            return number
    return as_text(value)


def hierarchy_key_elements(
    source: ImageSetDocument | Mapping[str, Any] | LevelAttributes,
) -> dict[str, Any]:
    """The study- and series-level key elements (normalised: padding stripped, SeriesNumber as int).

    ``source`` is a document (series values from its first series) or an object with ``patient``,
    ``study`` and ``series`` attribute dicts such as a ``NormalizedInstance``. Missing values are ``None``.
    """
    if isinstance(source, (ImageSetDocument, Mapping)):
        document = source if isinstance(source, ImageSetDocument) else ImageSetDocument.from_json(source)
        patient, study = document.patient, document.study
        series: Mapping[str, Any] = document.series[0].attributes if document.series else {}
    else:
        patient, study, series = source.patient, source.study, source.series
    merged = {**study, **patient}
    keys = {keyword: _key_value(keyword, merged.get(keyword)) for keyword in STUDY_KEY_ELEMENTS}
    keys.update({keyword: _key_value(keyword, series.get(keyword)) for keyword in SERIES_KEY_ELEMENTS})
    return keys


def key_element_conflicts(
    existing: Mapping[str, Any], incoming: Mapping[str, Any], *, strict: bool = False
) -> list[str]:
    """Key-element keywords on which two attribute mappings disagree, compared after normalisation.

    By default a value missing (absent, null or empty) on either side is no conflict; with ``strict``
    a value present on one side only is one too.
    """
    conflicts = []
    for keyword in (*STUDY_KEY_ELEMENTS, *SERIES_KEY_ELEMENTS):
        old, new = _key_value(keyword, existing.get(keyword)), _key_value(keyword, incoming.get(keyword))
        if old == new or (not strict and (old is None or new is None)):
            continue
        conflicts.append(keyword)
    return conflicts
