"""CopyImageSet on metadata documents: select instances from a source, merge them into a destination.

Results share unchanged branches with their inputs (copy-on-write); inputs are never mutated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthimaging_mcp.dicom.document_editor import DocumentEditor
from healthimaging_mcp.dicom.key_elements import key_element_conflicts
from healthimaging_mcp.dicom.patch_rules import PatchError, check_object, check_schema_version, check_shape

__all__ = ["merge_documents", "select_instances"]


def select_instances(doc: Mapping[str, Any], copiable: Mapping[str, Any] | None) -> dict[str, Any]:
    """The part of ``doc`` a copiableAttributes document selects (everything when it is ``None``)."""
    result = dict(doc)
    if copiable is None:
        return result
    what = "copiableAttributes"
    check_shape(copiable, ("SchemaVersion", "Study"), what)
    check_schema_version(copiable, what)
    study = check_shape(copiable.get("Study", {}), ("Series",), f"{what}.Study")
    wanted = check_object(study.get("Series") or {}, f"{what}.Study.Series")
    if not wanted:
        return result
    source_series = (doc.get("Study") or {}).get("Series") or {}
    selected: dict[str, Any] = {}
    for series_uid, selection in wanted.items():
        where = f"{what}.Study.Series.{series_uid}"
        selection = check_shape(selection, ("Instances",), where)
        series = source_series.get(series_uid)
        if not isinstance(series, Mapping):
            raise PatchError(f"{where}: the source image set has no series {series_uid}")
        instances = series.get("Instances") or {}
        chosen = check_object(selection.get("Instances") or {}, f"{where}.Instances")
        if not chosen:
            selected[series_uid] = series
            continue
        picked: dict[str, Any] = {}
        for sop_uid, marker in chosen.items():
            check_shape(marker, (), f"{where}.Instances.{sop_uid}")
            if sop_uid not in instances:
                raise PatchError(f"{where}.Instances: the source series has no instance {sop_uid}")
            picked[sop_uid] = instances[sop_uid]
        selected[series_uid] = {**series, "Instances": picked}
    result["Study"] = {**(doc.get("Study") or {}), "Series": selected}
    return result


def merge_documents(destination: Mapping[str, Any], source_subset: Mapping[str, Any], *, force: bool) -> dict[str, Any]:
    """Merge the source's instances into ``destination`` (CopyImageSet into an existing image set).

    Without ``force`` conflicting hierarchy key elements raise ``PatchError`` and attributes only the
    source has are added; with ``force`` the destination's Patient/Study/Series attributes stay unchanged.
    A source instance replaces the destination instance with the same SOP Instance UID.
    """
    editor = DocumentEditor(destination)
    source_series = (source_subset.get("Study") or {}).get("Series") or {}
    _check_merge_conflicts(editor, source_subset, source_series, force)
    if not force:
        for level in ("Patient", "Study"):
            missing = _missing(editor.read_level(level), (source_subset.get(level) or {}).get("DICOM"))
            if missing:
                editor.level_dicom(level).update(missing)
    owner = {sop: uid for uid, s in editor.read_series_map().items() for sop in (s.get("Instances") or {})}
    seen: dict[str, str] = {}
    for series_uid, series in source_series.items():
        for sop in series.get("Instances") or {}:
            if sop in seen:
                raise PatchError(f"source: SOP Instance UID {sop} is in series {seen[sop]} and {series_uid}")
            seen[sop] = series_uid
            if owner.get(sop, series_uid) != series_uid:
                editor.remove_instance(owner.pop(sop), sop)
        if series_uid not in editor.read_series_map():
            editor.series_map()[series_uid] = {**series, "Instances": dict(series.get("Instances") or {})}
            continue
        if not force:
            current = editor.read_series(series_uid, "destination").get("DICOM") or {}
            missing = _missing(current, series.get("DICOM"))
            if missing:
                editor.own(editor.series(series_uid), "DICOM").update(missing)
        if series.get("Instances"):
            editor.instances(series_uid).update(series["Instances"])
    return editor.doc


def _check_merge_conflicts(
    editor: DocumentEditor, source: Mapping[str, Any], source_series: Mapping[str, Any], force: bool
) -> None:
    if force:
        return
    problems = []

    def compare(label: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        for key in key_element_conflicts(old, new):
            problems.append(f"{label}{key} (destination {old.get(key)!r}, source {new.get(key)!r})")

    source_study = (source.get("Study") or {}).get("DICOM") or {}
    source_patient = (source.get("Patient") or {}).get("DICOM") or {}
    compare("", {**editor.read_level("Study"), **editor.read_level("Patient")}, {**source_study, **source_patient})
    for uid, series in source_series.items():
        existing = editor.read_series_map().get(uid)
        if isinstance(existing, Mapping):
            compare(f"series {uid} ", existing.get("DICOM") or {}, series.get("DICOM") or {})
    if problems:
        raise PatchError(
            "source and destination disagree on " + "; ".join(problems) + ". Fix the metadata or use force=true "
            "(the destination's values are kept)"
        )


def _missing(current: Mapping[str, Any], source: Mapping[str, Any] | None) -> dict[str, Any]:
    """Attributes the source has and the destination lacks."""
    return {key: value for key, value in (source or {}).items() if key not in current}
