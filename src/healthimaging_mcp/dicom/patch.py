"""Apply UpdateImageSetMetadata documents as pure functions.

Results are new documents that share every branch they did not change with their inputs (copy-on-write),
so large image sets stay cheap to edit. Inputs are never mutated; treat inputs and results as immutable.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from healthimaging_mcp.dicom.document_editor import DocumentEditor
from healthimaging_mcp.dicom.keys import is_hex_key, is_private_tag
from healthimaging_mcp.dicom.levels import Level
from healthimaging_mcp.dicom.patch_rules import (
    PROTECTED_KEYWORDS,
    PatchError,
    check_attribute,
    check_object,
    check_schema_version,
    check_shape,
    check_vr,
)

__all__ = ["apply_updates"]

_MISSING = object()


@dataclass
class _Edit:
    """The attributes one update document gives for one object (Patient, Study, a series, an instance)."""

    level: Level
    where: str
    series_uid: str | None = None
    sop_uid: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    vrs: Mapping[str, Any] = field(default_factory=dict)
    empty: bool = False


def _dicom(obj: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    dicom = obj.get("DICOM", {})
    if not isinstance(dicom, Mapping):
        raise PatchError(f"{where}.DICOM must be a JSON object of attributes")
    return dicom


def _edits(update: Any, what: str) -> Iterator[_Edit]:
    """Walk an updatable/removable document, checking its shape, in Patient → Study → series order."""
    check_shape(update, ("SchemaVersion", "Patient", "Study"), what)
    check_schema_version(update, what)
    if "Patient" in update:
        patient = check_shape(update["Patient"], ("DICOM",), f"{what}.Patient")
        yield _Edit("Patient", f"{what}.Patient", attributes=_dicom(patient, f"{what}.Patient"))
    if "Study" not in update:
        return
    study = check_shape(update["Study"], ("DICOM", "Series"), f"{what}.Study")
    yield _Edit("Study", f"{what}.Study", attributes=_dicom(study, f"{what}.Study"))
    all_series = check_object(study.get("Series", {}), f"{what}.Study.Series")
    for series_uid, series in all_series.items():
        where = f"{what}.Study.Series.{series_uid}"
        series = check_shape(series, ("DICOM", "Instances"), where)
        yield _Edit("Series", where, series_uid, attributes=_dicom(series, where), empty=not series)
        instances = check_object(series.get("Instances", {}), f"{where}.Instances")
        for sop_uid, instance in instances.items():
            inst_where = f"{where}.Instances.{sop_uid}"
            instance = check_shape(instance, ("DICOM", "DICOMVRs"), inst_where)
            vrs = instance.get("DICOMVRs", {})
            if not isinstance(vrs, Mapping):
                raise PatchError(f"{inst_where}.DICOMVRs must be a JSON object of tag → VR")
            yield _Edit("Instance", inst_where, series_uid, sop_uid, _dicom(instance, inst_where), vrs, not instance)


def _rekey(mapping: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return {(new if key == old else key): value for key, value in mapping.items()}


def _guard(key: str, tag: int, where: str, force: bool) -> None:
    if force:
        return
    if is_private_tag(tag):
        raise PatchError(f"{where}: changing the private tag {key} needs force=true")
    if key in PROTECTED_KEYWORDS:
        raise PatchError(f"{where}: changing {key} needs force=true (it identifies the data in the hierarchy)")


def _remove(editor: DocumentEditor, edit: _Edit, force: bool) -> None:
    if edit.level in ("Series", "Instance") and edit.empty:
        assert edit.series_uid is not None
        if edit.level == "Series":
            editor.read_series(edit.series_uid, edit.where)
            editor.remove_series(edit.series_uid)
        else:
            assert edit.sop_uid is not None
            editor.read_instance(edit.series_uid, edit.sop_uid, edit.where)
            editor.remove_instance(edit.series_uid, edit.sop_uid)
        return
    current = _read_dicom(editor, edit)  # also checks that the series / instance exists
    if not edit.attributes:
        return
    for key in edit.attributes:
        tag = check_attribute(key, edit.level, edit.where)
        _guard(key, tag, edit.where, force)
        if key not in current:
            raise PatchError(f"{edit.where}: cannot remove {key}; it is not present at this level")
    target = _write_dicom(editor, edit)
    for key in edit.attributes:
        del target[key]
    if edit.level == "Instance" and any(key in (_read_vrs(editor, edit)) for key in edit.attributes):
        vrs = _write_vrs(editor, edit)
        for key in edit.attributes:
            vrs.pop(key, None)


def _read_dicom(editor: DocumentEditor, edit: _Edit) -> Mapping[str, Any]:
    if edit.level in ("Patient", "Study"):
        return editor.read_level(edit.level)
    assert edit.series_uid is not None
    if edit.level == "Series":
        return editor.read_series(edit.series_uid, edit.where).get("DICOM") or {}
    assert edit.sop_uid is not None
    return editor.read_instance(edit.series_uid, edit.sop_uid, edit.where).get("DICOM") or {}


def _write_dicom(editor: DocumentEditor, edit: _Edit) -> dict[str, Any]:
    if edit.level in ("Patient", "Study"):
        return editor.level_dicom(edit.level)
    assert edit.series_uid is not None
    if edit.level == "Series":
        return editor.own(editor.series(edit.series_uid), "DICOM")
    assert edit.sop_uid is not None
    return editor.own(editor.instance(edit.series_uid, edit.sop_uid), "DICOM")


def _read_vrs(editor: DocumentEditor, edit: _Edit) -> Mapping[str, Any]:
    assert edit.series_uid is not None and edit.sop_uid is not None
    return editor.read_instance(edit.series_uid, edit.sop_uid, edit.where).get("DICOMVRs") or {}


def _write_vrs(editor: DocumentEditor, edit: _Edit) -> dict[str, Any]:
    assert edit.series_uid is not None and edit.sop_uid is not None
    return editor.own(editor.instance(edit.series_uid, edit.sop_uid), "DICOMVRs")


def _update(editor: DocumentEditor, edit: _Edit, force: bool) -> None:
    current = _read_dicom(editor, edit)  # also checks that the series / instance exists
    existing_vrs = _read_vrs(editor, edit) if edit.level == "Instance" else {}
    new_vrs: dict[str, str] = {}
    for key, vr in edit.vrs.items():
        new_vrs[key] = check_vr(key, vr, edit.where)
        if key not in edit.attributes and key not in current:
            raise PatchError(f"{edit.where}.DICOMVRs: {key} has no value in DICOM; set the attribute too")
        if existing_vrs.get(key) != vr:
            _guard(key, int(key, 16), edit.where, force)
    changed: dict[str, Any] = {}
    for key, value in edit.attributes.items():
        tag = check_attribute(key, edit.level, edit.where, value=value, check_value=True)
        if current.get(key, _MISSING) == value:
            continue
        _guard(key, tag, edit.where, force)
        if is_hex_key(key) and key not in new_vrs and key not in existing_vrs:
            raise PatchError(f"{edit.where}: {key} needs a DICOMVRs entry giving its VR, e.g. {{{key!r}: 'LO'}}")
        changed[key] = copy.deepcopy(value)
    if changed:
        _write_dicom(editor, edit).update(changed)
    if any(existing_vrs.get(key) != vr for key, vr in new_vrs.items()):
        _write_vrs(editor, edit).update(new_vrs)
    _follow_uid_change(editor, edit, changed)


def _follow_uid_change(editor: DocumentEditor, edit: _Edit, changed: Mapping[str, Any]) -> None:
    """Re-key a series or instance whose own UID was changed (with force)."""
    if edit.level == "Series" and "SeriesInstanceUID" in changed:
        assert edit.series_uid is not None
        old, new = editor.series_uid(edit.series_uid), changed["SeriesInstanceUID"]
        if not isinstance(new, str) or not new or (new != old and new in editor.read_series_map()):
            raise PatchError(f"{edit.where}: SeriesInstanceUID {new!r} is empty or used by another series")
        editor.replace(editor.own(editor.doc, "Study"), "Series", _rekey(editor.series_map(), old, new))
        editor.renamed_series[edit.series_uid] = new
    if edit.level == "Instance" and "SOPInstanceUID" in changed:
        assert edit.series_uid is not None and edit.sop_uid is not None
        new = changed["SOPInstanceUID"]
        if not isinstance(new, str) or not new or (new != edit.sop_uid and new in editor.all_sop_uids()):
            raise PatchError(f"{edit.where}: SOPInstanceUID {new!r} is empty or used by another instance")
        instances = _rekey(editor.instances(edit.series_uid), edit.sop_uid, new)
        editor.replace(editor.series(edit.series_uid), "Instances", instances)


def apply_updates(
    doc: Mapping[str, Any],
    updatable: Mapping[str, Any] | None,
    removable: Mapping[str, Any] | None,
    *,
    force: bool,
) -> dict[str, Any]:
    """A new document with ``removable`` then ``updatable`` applied (UpdateImageSetMetadata semantics)."""
    if updatable is None and removable is None:
        raise PatchError("nothing to change: give updatableAttributes and/or removableAttributes")
    updates = list(_edits(updatable, "updatableAttributes")) if updatable is not None else []
    removals = list(_edits(removable, "removableAttributes")) if removable is not None else []
    editor = DocumentEditor(doc)
    for edit in removals:
        _remove(editor, edit, force)
    for edit in updates:
        _update(editor, edit, force)
    return editor.doc
