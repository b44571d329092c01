from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from healthimaging_mcp.dicom.patch import apply_updates
from healthimaging_mcp.dicom.patch_rules import PatchError

CT = "2.25.200"
MR = "2.25.300"
Doc = dict[str, Any]


def _instance_update(series: str, sop: str, dicom: dict[str, Any], vrs: dict[str, str] | None = None) -> Doc:
    body: dict[str, Any] = {"DICOM": dicom}
    if vrs is not None:
        body["DICOMVRs"] = vrs
    return {"SchemaVersion": 1.1, "Study": {"Series": {series: {"Instances": {sop: body}}}}}


def test_patient_update_returns_a_new_document_and_leaves_the_input_alone(
    document: Doc, pristine: Callable[[Any], Any]
) -> None:
    before = pristine(document)
    result = apply_updates(
        document, {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": "MX^MX"}}}, None, force=False
    )
    assert result["Patient"]["DICOM"]["PatientName"] == "MX^MX"
    assert result["Patient"]["DICOM"]["PatientID"] == "PAT-1"
    assert document == before
    assert result["Study"] is document["Study"]  # untouched branches are shared, not copied


def test_instance_update_copies_only_the_path_it_changes(document: Doc, pristine: Callable[[Any], Any]) -> None:
    before = pristine(document)
    update = _instance_update(
        CT,
        "2.25.201",
        {"WindowCenter": ["40"], "ReferencedImageSequence": [{"ReferencedSOPInstanceUID": "1.2"}]},
    )
    result = apply_updates(document, update, None, force=False)
    new_series = result["Study"]["Series"][CT]
    assert new_series["Instances"]["2.25.201"]["DICOM"]["WindowCenter"] == ["40"]
    assert new_series["Instances"]["2.25.203"] is document["Study"]["Series"][CT]["Instances"]["2.25.203"]
    assert result["Study"]["Series"][MR] is document["Study"]["Series"][MR]
    assert document == before
    update["Study"]["Series"][CT]["Instances"]["2.25.201"]["DICOM"]["WindowCenter"].append("x")
    assert new_series["Instances"]["2.25.201"]["DICOM"]["WindowCenter"] == ["40"]  # values were copied in


def test_removable_attributes_remove_named_attributes(document: Doc, pristine: Callable[[Any], Any]) -> None:
    before = pristine(document)
    removable = {"SchemaVersion": "1.1", "Study": {"DICOM": {"StudyDescription": "CT CHEST"}}}
    result = apply_updates(document, None, removable, force=False)
    assert "StudyDescription" not in result["Study"]["DICOM"]
    assert document == before


def test_empty_objects_remove_whole_instances_and_series(document: Doc, pristine: Callable[[Any], Any]) -> None:
    before = pristine(document)
    removable = {"SchemaVersion": 1.1, "Study": {"Series": {CT: {"Instances": {"2.25.201": {}}}, MR: {}}}}
    result = apply_updates(document, None, removable, force=False)
    assert list(result["Study"]["Series"]) == [CT]
    assert "2.25.201" not in result["Study"]["Series"][CT]["Instances"]
    assert len(result["Study"]["Series"][CT]["Instances"]) == 4
    assert document == before


def test_removing_the_last_instance_removes_its_series(document: Doc) -> None:
    removable: dict[str, Any] = {"Study": {"Series": {MR: {"Instances": {"2.25.301": {}}}}}}
    result = apply_updates(document, None, removable, force=False)
    assert MR not in result["Study"]["Series"]


def test_removal_then_update_in_one_request(document: Doc) -> None:
    removable = {"Patient": {"DICOM": {"PatientSex": "F"}}}
    updatable = {"Patient": {"DICOM": {"PatientAge": None}}}
    with pytest.raises(PatchError, match="PatientAge belongs at Study level"):
        apply_updates(document, updatable, removable, force=False)
    result = apply_updates(document, {"Study": {"DICOM": {"PatientAge": "042Y"}}}, removable, force=False)
    assert "PatientSex" not in result["Patient"]["DICOM"]
    assert result["Study"]["DICOM"]["PatientAge"] == "042Y"


@pytest.mark.parametrize(
    "updatable",
    [
        {"Study": {"DICOM": {"StudyInstanceUID": "2.25.999"}}},
        {"Study": {"DICOM": {"StudyID": "S2"}}},
        {"Study": {"Series": {CT: {"DICOM": {"SeriesInstanceUID": "2.25.999"}}}}},
        _instance_update(CT, "2.25.201", {"SOPInstanceUID": "2.25.999"}),
    ],
)
def test_identifying_uids_need_force(document: Doc, updatable: Doc) -> None:
    with pytest.raises(PatchError, match="needs force=true"):
        apply_updates(document, updatable, None, force=False)


def test_setting_an_identifier_to_its_current_value_is_no_change(document: Doc) -> None:
    result = apply_updates(document, {"Study": {"DICOM": {"StudyID": "S1"}}}, None, force=False)
    assert result["Study"]["DICOM"]["StudyID"] == "S1"


def test_forced_series_uid_change_rekeys_the_series(document: Doc) -> None:
    updatable = {
        "Study": {
            "Series": {
                CT: {
                    "DICOM": {"SeriesInstanceUID": "2.25.999"},
                    "Instances": {"2.25.201": {"DICOM": {"WindowWidth": ["400"]}}},
                }
            }
        }
    }
    result = apply_updates(document, updatable, None, force=True)
    assert set(result["Study"]["Series"]) == {"2.25.999", MR}
    moved = result["Study"]["Series"]["2.25.999"]
    assert moved["DICOM"]["SeriesInstanceUID"] == "2.25.999"
    assert moved["Instances"]["2.25.201"]["DICOM"]["WindowWidth"] == ["400"]
    assert CT in document["Study"]["Series"]


def test_forced_sop_uid_change_rekeys_the_instance_and_refuses_duplicates(document: Doc) -> None:
    result = apply_updates(document, _instance_update(CT, "2.25.201", {"SOPInstanceUID": "2.25.777"}), None, force=True)
    assert "2.25.777" in result["Study"]["Series"][CT]["Instances"]
    assert "2.25.201" not in result["Study"]["Series"][CT]["Instances"]
    with pytest.raises(PatchError, match="used by another instance"):
        apply_updates(document, _instance_update(CT, "2.25.201", {"SOPInstanceUID": "2.25.301"}), None, force=True)


def test_private_tags_need_force_and_a_vr(document: Doc) -> None:
    with pytest.raises(PatchError, match="private tag 001910F9 needs force"):
        apply_updates(
            document,
            _instance_update(CT, "2.25.201", {"001910F9": "97"}, {"001910F9": "DS"}),
            None,
            force=False,
        )
    with pytest.raises(PatchError, match="needs a DICOMVRs entry"):
        apply_updates(document, _instance_update(CT, "2.25.201", {"001910F9": "97"}), None, force=True)
    result = apply_updates(
        document, _instance_update(CT, "2.25.201", {"001910F9": "97"}, {"001910F9": "DS"}), None, force=True
    )
    instance = result["Study"]["Series"][CT]["Instances"]["2.25.201"]
    assert instance["DICOM"]["001910F9"] == "97"
    assert instance["DICOMVRs"] == {"001910F9": "DS"}
    assert document["Study"]["Series"][CT]["Instances"]["2.25.201"]["DICOMVRs"] == {}


def test_existing_private_tags_keep_their_vr_and_removal_drops_it(document: Doc) -> None:
    updated = apply_updates(document, _instance_update(MR, "2.25.301", {"00091001": "OTHER"}), None, force=True)
    assert updated["Study"]["Series"][MR]["Instances"]["2.25.301"]["DICOM"]["00091001"] == "OTHER"
    removable = {"Study": {"Series": {MR: {"Instances": {"2.25.301": {"DICOM": {"00091001": "VENDOR"}}}}}}}
    with pytest.raises(PatchError, match="needs force"):
        apply_updates(document, None, removable, force=False)
    removed = apply_updates(document, None, removable, force=True)["Study"]["Series"][MR]["Instances"]["2.25.301"]
    assert "00091001" not in removed["DICOM"] and removed["DICOMVRs"] == {}


@pytest.mark.parametrize(
    ("updatable", "message"),
    [
        ({"Study": {"Series": {"2.25.404": {"DICOM": {"Modality": "CT"}}}}}, "no series 2.25.404"),
        (_instance_update(CT, "2.25.404", {"Rows": 1}), "has no instance 2.25.404"),
        (
            {"Study": {"Series": {CT: {"Instances": {"2.25.201": {"ImageFrames": []}}}}}},
            "image frames cannot be edited",
        ),
        (
            {"Study": {"Series": {CT: {"Instances": {"2.25.201": {"StoredTransferSyntaxUID": "1.2"}}}}}},
            "set by the service",
        ),
        ({"ImageSetID": "x"}, "unsupported key 'ImageSetID'"),
        ({"SchemaVersion": "2.0", "Patient": {"DICOM": {}}}, "SchemaVersion must be 1.1"),
        ({"Patient": {"DICOM": {"Rows": 5}}}, "Rows belongs at Instance level"),
        ({"Patient": {"DICOM": {"PatientsName": "X"}}}, "not a DICOM keyword"),
        ({"Patient": {"DICOM": {"00100010": "X"}}}, "by its keyword 'PatientName'"),
        ({"Patient": {"DICOM": {"00091001": "X"}}, "force": 1}, "unsupported key 'force'"),
        ({"Patient": {"DICOM": ["PatientName"]}}, "must be a JSON object"),
        ({"Patient": {"DICOM": {"PatientName": True}}}, "values must be strings, numbers or null"),
        ({"Patient": {"DICOM": {"OtherPatientIDsSequence": "x"}}}, "is a sequence"),
        ({"Study": {"DICOM": {"StudyDescription": "x" * 65}}}, "at most 64"),
        (
            {"Study": {"Series": {CT: {"Instances": {"2.25.201": {"DICOMVRs": {"00091001": "ZZ"}}}}}}},
            "not a DICOM VR",
        ),
        ("not a document", "must be a JSON object"),
    ],
)
def test_invalid_updates_raise_patch_errors(document: Doc, updatable: Any, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        apply_updates(document, updatable, None, force=True)


def test_removing_what_is_not_there_is_an_error(document: Doc) -> None:
    with pytest.raises(PatchError, match="cannot remove ReferringPhysicianName"):
        apply_updates(document, None, {"Study": {"DICOM": {"ReferringPhysicianName": None}}}, force=False)
    with pytest.raises(PatchError, match=re.escape("no series 2.25.404")):
        apply_updates(document, None, {"Study": {"Series": {"2.25.404": {}}}}, force=False)


def test_an_empty_request_is_refused(document: Doc) -> None:
    with pytest.raises(PatchError, match="nothing to change"):
        apply_updates(document, None, None, force=False)
    assert issubclass(PatchError, ValueError)


def test_vr_entries_must_describe_an_attribute_with_a_value(document: Doc) -> None:
    with pytest.raises(PatchError, match="has no value in DICOM"):
        apply_updates(document, _instance_update(CT, "2.25.201", {}, {"00091002": "LO"}), None, force=True)


def test_unknown_public_tags_need_a_vr_but_not_force(document: Doc) -> None:
    with pytest.raises(PatchError, match="needs a DICOMVRs entry"):
        apply_updates(document, _instance_update(CT, "2.25.201", {"00F00010": "x"}), None, force=False)
    result = apply_updates(
        document, _instance_update(CT, "2.25.201", {"00F00010": "x"}, {"00F00010": "LO"}), None, force=False
    )
    assert result["Study"]["Series"][CT]["Instances"]["2.25.201"]["DICOMVRs"] == {"00F00010": "LO"}
