from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from healthimaging_mcp.dicom.merge import merge_documents, select_instances
from healthimaging_mcp.dicom.patch_rules import PatchError

CT = "2.25.200"
MR = "2.25.300"
Doc = dict[str, Any]


def _copiable(series: str, *sops: str) -> Doc:
    return {"SchemaVersion": "1.1", "Study": {"Series": {series: {"Instances": {sop: {} for sop in sops}}}}}


def test_select_everything_when_no_copiable_document(document: Doc) -> None:
    selected = select_instances(document, None)
    assert selected == document and selected is not document


def test_select_a_subset_of_instances(document: Doc, pristine: Callable[[Any], Any]) -> None:
    before = pristine(document)
    selected = select_instances(document, _copiable(CT, "2.25.201", "2.25.203"))
    assert list(selected["Study"]["Series"]) == [CT]
    assert list(selected["Study"]["Series"][CT]["Instances"]) == ["2.25.201", "2.25.203"]
    assert selected["Study"]["Series"][CT]["DICOM"] == document["Study"]["Series"][CT]["DICOM"]
    assert selected["Patient"] == document["Patient"]
    assert document == before


def test_a_series_without_instances_listed_is_selected_whole(document: Doc) -> None:
    selected = select_instances(document, {"SchemaVersion": 1.1, "Study": {"Series": {MR: {}}}})
    assert list(selected["Study"]["Series"]) == [MR]
    assert list(selected["Study"]["Series"][MR]["Instances"]) == ["2.25.301"]


@pytest.mark.parametrize(
    ("copiable", "message"),
    [
        (_copiable("2.25.404", "2.25.201"), "no series 2.25.404"),
        (_copiable(CT, "2.25.404"), "no instance 2.25.404"),
        ({"Study": {"Series": {CT: {"Instances": {"2.25.201": {"DICOM": {}}}}}}}, "unsupported key 'DICOM'"),
        ({"Patient": {}}, "unsupported key 'Patient'"),
        ({"SchemaVersion": "1.0"}, "SchemaVersion must be 1.1"),
    ],
)
def test_select_rejects_what_it_cannot_find(document: Doc, copiable: Doc, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        select_instances(document, copiable)


def _source(document: Doc, make_instance: Callable[..., Doc], **study: Any) -> Doc:
    """A one-series source in the same study: a new CT instance and a replacement for 2.25.201."""
    ct_dicom = {**document["Study"]["Series"][CT]["DICOM"], "SeriesDate": "20240105"}
    replacement = make_instance("2.25.201", "1", 10.0, ["c" * 32])
    return {
        "SchemaVersion": "1.1",
        "Patient": {"DICOM": {"PatientID": "PAT-1", "PatientName": "DOE^JANE", "PatientWeight": "70"}},
        "Study": {
            "DICOM": {**document["Study"]["DICOM"], "ReferringPhysicianName": "DR^WHO", **study},
            "Series": {
                CT: {
                    "DICOM": ct_dicom,
                    "Instances": {
                        "2.25.201": replacement,
                        "2.25.250": make_instance("2.25.250", "9", 90.0, ["d" * 32]),
                    },
                }
            },
        },
    }


def test_merge_adds_instances_and_replaces_same_sop_uids(
    document: Doc, make_instance: Callable[..., Doc], pristine: Callable[[Any], Any]
) -> None:
    source = _source(document, make_instance)
    before, source_before = pristine(document), pristine(source)
    merged = merge_documents(document, source, force=False)
    instances = merged["Study"]["Series"][CT]["Instances"]
    assert len(instances) == 6
    assert instances["2.25.201"]["ImageFrames"][0]["ID"] == "c" * 32
    assert "2.25.250" in instances
    assert merged["Study"]["Series"][MR] is document["Study"]["Series"][MR]
    assert merged["Study"]["DICOM"]["ReferringPhysicianName"] == "DR^WHO"  # only the source had it
    assert merged["Study"]["Series"][CT]["DICOM"]["SeriesDate"] == "20240105"
    assert document == before and source == source_before


def test_merge_refuses_conflicting_key_elements_without_force(document: Doc, make_instance: Callable[..., Doc]) -> None:
    source = _source(document, make_instance, AccessionNumber="OTHER")
    source["Study"]["Series"][CT]["DICOM"]["SeriesNumber"] = "4"
    with pytest.raises(PatchError, match=r"AccessionNumber .*'ACC42'.*'OTHER'.*SeriesNumber.*force=true"):
        merge_documents(document, source, force=False)


def test_forced_merge_keeps_the_destination_attributes(document: Doc, make_instance: Callable[..., Doc]) -> None:
    source = _source(document, make_instance, AccessionNumber="OTHER")
    source["Patient"]["DICOM"]["PatientID"] = "SOMEONE-ELSE"
    merged = merge_documents(document, source, force=True)
    assert merged["Study"]["DICOM"] == document["Study"]["DICOM"]
    assert merged["Patient"] == document["Patient"]
    assert merged["Study"]["Series"][CT]["DICOM"] == document["Study"]["Series"][CT]["DICOM"]
    assert "2.25.250" in merged["Study"]["Series"][CT]["Instances"]


def test_merge_keeps_sop_uids_unique_across_series(document: Doc, make_instance: Callable[..., Doc]) -> None:
    source = {
        "Study": {
            "DICOM": {"StudyInstanceUID": "2.25.100"},
            "Series": {"2.25.400": {"DICOM": {"SeriesInstanceUID": "2.25.400"}, "Instances": {
                "2.25.301": make_instance("2.25.301", "1", 0.0, ["b" * 32]),
            }}},
        }
    }  # fmt: skip
    merged = merge_documents(document, source, force=False)
    assert MR not in merged["Study"]["Series"]  # its only instance moved to the new series
    assert list(merged["Study"]["Series"]["2.25.400"]["Instances"]) == ["2.25.301"]
    assert MR in document["Study"]["Series"]


def test_merge_rejects_a_source_listing_one_sop_uid_twice(document: Doc, make_instance: Callable[..., Doc]) -> None:
    twice = make_instance("2.25.500", "1", 0.0, ["a" * 32])
    source = {
        "Study": {
            "Series": {
                "2.25.401": {"DICOM": {}, "Instances": {"2.25.500": twice}},
                "2.25.402": {"DICOM": {}, "Instances": {"2.25.500": twice}},
            }
        }
    }
    with pytest.raises(PatchError, match=re.escape("2.25.500 is in series 2.25.401 and 2.25.402")):
        merge_documents(document, source, force=False)
