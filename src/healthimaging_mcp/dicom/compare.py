"""What changed between two versions of an image set: level attributes (old → new) and instances.

Used to tell a user what an import did to an image set that already existed: HealthImaging merges re-imported
instances into the primary image set, overwriting an instance with the same SOP Instance UID and taking the
new file's Patient/Study/Series attributes, and its job output says nothing about either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from healthimaging_mcp.dicom.document import ImageSetDocument

__all__ = ["AttributeChange", "VersionChanges", "compare_versions"]


@dataclass(frozen=True)
class AttributeChange:
    """One Patient, Study or Series attribute whose value differs (``None``: absent on that side)."""

    level: str
    keyword: str
    old: Any
    new: Any
    series_uid: str | None = None


@dataclass(frozen=True)
class VersionChanges:
    attributes: list[AttributeChange] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    """SOP Instance UIDs in both versions whose stored instance differs (attributes or frames)."""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _level_changes(
    level: str, old: Mapping[str, Any], new: Mapping[str, Any], series_uid: str | None = None
) -> list[AttributeChange]:
    return [
        AttributeChange(level, keyword, old.get(keyword), new.get(keyword), series_uid)
        for keyword in sorted(set(old) | set(new))
        if old.get(keyword) != new.get(keyword)
    ]


def compare_versions(before: ImageSetDocument, after: ImageSetDocument) -> VersionChanges:
    """Changes from ``before`` to ``after`` (two versions of one image set)."""
    attributes = _level_changes("Patient", before.patient, after.patient)
    attributes += _level_changes("Study", before.study, after.study)
    for series in after.series:
        previous = before.series_by_uid(series.uid)
        if previous is not None:
            attributes += _level_changes("Series", previous.attributes, series.attributes, series.uid)
    old = {i.sop_uid: i.raw for s in before.series for i in s.instances}
    new = {i.sop_uid: i.raw for s in after.series for i in s.instances}
    return VersionChanges(
        attributes=attributes,
        overwritten=[uid for uid in new if uid in old and new[uid] != old[uid]],
        added=[uid for uid in new if uid not in old],
        removed=[uid for uid in old if uid not in new],
    )
