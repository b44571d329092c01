"""PHI redaction: every identifying value is replaced by a stable pseudonym, and nothing else changes."""

from __future__ import annotations

import copy
import json
import re
import threading
from typing import Any

import pytest

from healthimaging_mcp.dicom.document import ImageSetDocument
from healthimaging_mcp.dicom.phi import Pseudonymizer
from healthimaging_mcp.dicom.phi_rules import PHI_KEYWORDS, PHI_SUMMARY_KEYS, PHI_VIEW_FIELDS
from healthimaging_mcp.dicom.views.build import instance_detail, summarize
from healthimaging_mcp.dicom.views.models import MetadataSummary
from healthimaging_mcp.dicom.views.text import render_summary

SECRET = b"test-secret"

# Every identifying value the realistic document below holds.
PHI_VALUES = [
    "DOE^JANE",
    "PAT-0001",
    "19700101",
    "MRN-778899",
    "HOSPITAL-A",
    "SMITH^JANE",
    "12 Main Street, Springfield",
    "555-0100",
    "ROE^MARY",
    "Patient prefers evening appointments",
    "ACC42",
    "S1",
    "WHO^REFERRER",
    "REF-ID-42",
    "CARDIO^PERFORMER",
    "TECH^OPERATOR",
    "1 Hospital Road",
    "RP-777",
    "VENDOR^PRIVATE",
]

# Values that must come through unchanged.
KEPT_VALUES = {
    "PatientSex": "F",
    "StudyDate": "20240105",
    "StudyDescription": "CT CHEST",
    "Modality": "CT",
    "StudyInstanceUID": "2.25.1111",
    "SeriesInstanceUID": "2.25.2222",
    "SOPInstanceUID": "2.25.3333",
    "InstitutionName": "GENERAL HOSPITAL",
}


def realistic_document() -> dict[str, Any]:
    """A §4.5-shaped document with PHI at every level, in sequences and in a private PN tag."""
    return {
        "SchemaVersion": "1.1",
        "DatastoreID": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "ImageSetID": "9a8b7c6d5e4f30211203f4e5d6c7b8a9",
        "Patient": {
            "DICOM": {
                "PatientName": "DOE^JANE ",
                "PatientID": "PAT-0001",
                "PatientBirthDate": "19700101",
                "PatientSex": "F",
                "OtherPatientIDsSequence": [
                    {"PatientID": "MRN-778899", "IssuerOfPatientID": "HOSPITAL-A", "TypeOfPatientID": "TEXT"}
                ],
                "OtherPatientNames": ["SMITH^JANE"],
                "PatientAddress": "12 Main Street, Springfield",
                "PatientTelephoneNumbers": ["555-0100"],
                "PatientMotherBirthName": "ROE^MARY",
                "PatientComments": "Patient prefers evening appointments",
                "EthnicGroup": None,
            }
        },
        "Study": {
            "DICOM": {
                "StudyInstanceUID": "2.25.1111",
                "StudyDate": "20240105",
                "StudyTime": "101500",
                "AccessionNumber": "ACC42",
                "StudyID": "S1",
                "StudyDescription": "CT CHEST",
                "ReferringPhysicianName": "WHO^REFERRER",
                "ReferringPhysicianIdentificationSequence": [
                    {"PersonIdentificationCodeSequence": [{"CodeValue": "REF-ID-42", "CodingSchemeDesignator": "L"}]}
                ],
            },
            "Series": {
                "2.25.2222": {
                    "DICOM": {
                        "SeriesInstanceUID": "2.25.2222",
                        "Modality": "CT",
                        "SeriesNumber": "3 ",
                        "PerformingPhysicianName": ["CARDIO^PERFORMER"],
                        "OperatorsName": ["TECH^OPERATOR"],
                        "InstitutionName": "GENERAL HOSPITAL",
                        "InstitutionAddress": "1 Hospital Road",
                    },
                    "Instances": {
                        "2.25.3333": {
                            "DICOM": {
                                "SOPInstanceUID": "2.25.3333",
                                "InstanceNumber": "1",
                                "Rows": 512,
                                "RequestAttributesSequence": [
                                    {
                                        "AccessionNumber": "ACC42",
                                        "RequestedProcedureID": "RP-777",
                                        "ScheduledProcedureStepDescription": "CHEST",
                                    }
                                ],
                                "00091010": "VENDOR^PRIVATE",
                                "00091011": "NOT A NAME",
                            },
                            "DICOMVRs": {"00091010": "PN", "00091011": "LO"},
                            "StoredTransferSyntaxUID": "1.2.840.10008.1.2.4.202",
                            "ImageFrames": [{"ID": "4d3c2b1a09f8e7d6c5b4a39281706f5e", "MinPixelValue": 0}],
                        }
                    },
                }
            },
        },
    }


def search_answer() -> dict[str, Any]:
    """A SearchImageSets page as boto3 returns it."""
    return {
        "imageSetsMetadataSummaries": [
            {
                "imageSetId": "9a8b7c6d5e4f30211203f4e5d6c7b8a9",
                "version": 1,
                "DICOMTags": {
                    "DICOMPatientId": "PAT-0001",
                    "DICOMPatientName": "DOE^JANE",
                    "DICOMPatientBirthDate": "19700101",
                    "DICOMPatientSex": "F",
                    "DICOMAccessionNumber": "ACC42",
                    "DICOMStudyId": "S1",
                    "DICOMStudyDescription": "CT CHEST",
                    "DICOMStudyInstanceUID": "2.25.1111",
                },
            }
        ]
    }


def everything() -> dict[str, Any]:
    """The document, a search page, and the views' dumps of the same image set, in one structure."""
    doc = ImageSetDocument.from_json(realistic_document())
    return {
        "document": realistic_document(),
        "search": search_answer(),
        "summary": summarize(doc).model_dump(exclude_none=True),
        "instance": instance_detail(doc, "2.25.3333").model_dump(exclude_none=True),
    }


def no_phi_left(structure: Any) -> list[str]:
    text = json.dumps(structure, ensure_ascii=False).casefold()
    return [value for value in PHI_VALUES if value.casefold() in text]


def test_every_phi_value_is_replaced_everywhere() -> None:
    original = everything()
    assert no_phi_left(original) == PHI_VALUES  # the fixture really contains each value
    redacted = Pseudonymizer(SECRET).redact(original)
    assert no_phi_left(redacted) == []
    assert "1970-01-01" not in json.dumps(redacted)  # the summary's ISO birth date too


def test_non_phi_values_are_untouched() -> None:
    redacted = Pseudonymizer(SECRET).redact(everything())
    document = redacted["document"]
    flat = {
        **document["Patient"]["DICOM"],
        **document["Study"]["DICOM"],
        **document["Study"]["Series"]["2.25.2222"]["DICOM"],
        **document["Study"]["Series"]["2.25.2222"]["Instances"]["2.25.3333"]["DICOM"],
    }
    for keyword, value in KEPT_VALUES.items():
        assert flat[keyword] == value
    instance = document["Study"]["Series"]["2.25.2222"]["Instances"]["2.25.3333"]
    assert instance["DICOM"]["00091011"] == "NOT A NAME"
    assert instance["DICOM"]["RequestAttributesSequence"][0]["ScheduledProcedureStepDescription"] == "CHEST"
    assert instance["ImageFrames"][0]["ID"] == "4d3c2b1a09f8e7d6c5b4a39281706f5e"
    assert flat["EthnicGroup"] is None
    assert document["Patient"]["DICOM"]["OtherPatientIDsSequence"][0]["TypeOfPatientID"] != "TEXT"  # whole item
    summary = redacted["summary"]
    assert (summary["patient"]["sex"], summary["study"]["date"], summary["study"]["instance_uid"]) == (
        "F",
        "2024-01-05",
        "2.25.1111",
    )
    assert summary["series"][0]["modality"] == "CT"
    assert redacted["search"]["imageSetsMetadataSummaries"][0]["DICOMTags"]["DICOMStudyDescription"] == "CT CHEST"


def test_the_same_value_gets_the_same_pseudonym_across_shapes() -> None:
    redacted = Pseudonymizer(SECRET).redact(everything())
    patient = redacted["document"]["Patient"]["DICOM"]
    tags = redacted["search"]["imageSetsMetadataSummaries"][0]["DICOMTags"]
    summary = redacted["summary"]
    rows = {row["keyword"]: row.get("value") for row in redacted["instance"]["attributes"]}
    assert re.fullmatch(r"PATIENT-[0-9A-F]{8}", patient["PatientID"])
    assert patient["PatientID"] == tags["DICOMPatientId"] == summary["patient"]["id"] == rows["PatientID"]
    assert re.fullmatch(r"NAME-[0-9A-F]{8}", patient["PatientName"])
    assert patient["PatientName"] == tags["DICOMPatientName"] == summary["patient"]["name"] == rows["PatientName"]
    assert patient["PatientBirthDate"] == tags["DICOMPatientBirthDate"] == summary["patient"]["birth_date"]
    assert re.fullmatch(r"DATE-[0-9A-F]{8}", patient["PatientBirthDate"])
    assert tags["DICOMAccessionNumber"] == summary["study"]["accession_number"] == rows["AccessionNumber"]
    assert tags["DICOMStudyId"] == summary["study"]["id"]
    assert summary["study"]["referring_physician"] == rows["ReferringPhysicianName"]


def test_different_values_and_secrets_give_different_pseudonyms() -> None:
    pseudonymizer = Pseudonymizer(SECRET)
    assert pseudonymizer.pseudonym("PATIENT", "A") != pseudonymizer.pseudonym("PATIENT", "B")
    assert pseudonymizer.pseudonym("PATIENT", "A") == Pseudonymizer(SECRET).pseudonym("PATIENT", "A")
    assert pseudonymizer.pseudonym("PATIENT", "A") != Pseudonymizer(b"other").pseudonym("PATIENT", "A")
    assert Pseudonymizer().pseudonym("PATIENT", "A") != Pseudonymizer().pseudonym("PATIENT", "A")
    assert pseudonymizer.pseudonym("NAME", "A").startswith("NAME-")


def test_reveal_maps_issued_pseudonyms_back() -> None:
    pseudonymizer = Pseudonymizer(SECRET)
    redacted = pseudonymizer.redact(search_answer())
    tags = redacted["imageSetsMetadataSummaries"][0]["DICOMTags"]
    assert pseudonymizer.reveal(tags["DICOMPatientId"]) == "PAT-0001"
    assert pseudonymizer.reveal(tags["DICOMPatientId"].lower()) == "PAT-0001"
    assert pseudonymizer.reveal(tags["DICOMAccessionNumber"]) == "ACC42"
    assert pseudonymizer.reveal("PATIENT-00000000") is None
    assert Pseudonymizer(SECRET).reveal(tags["DICOMPatientId"]) is None  # only what this object issued


def test_padding_and_date_forms_do_not_change_the_pseudonym() -> None:
    pseudonymizer = Pseudonymizer(SECRET)
    assert pseudonymizer.pseudonym("NAME", "DOE^JANE ") == pseudonymizer.pseudonym("NAME", "DOE^JANE^^")
    assert pseudonymizer.pseudonym("DATE", "1970-01-01") == pseudonymizer.pseudonym("DATE", "19700101")
    assert pseudonymizer.reveal(pseudonymizer.pseudonym("DATE", "1970-01-01")) == "19700101"


def test_redaction_does_not_mutate_its_input_and_is_idempotent() -> None:
    original = everything()
    before = copy.deepcopy(original)
    pseudonymizer = Pseudonymizer(SECRET)
    once = pseudonymizer.redact(original)
    assert original == before
    assert pseudonymizer.redact(once) == once


def test_models_are_redacted_into_models_of_the_same_type() -> None:
    pseudonymizer = Pseudonymizer(SECRET)
    summary = summarize(ImageSetDocument.from_json(realistic_document()))
    redacted = pseudonymizer.redact(summary)
    assert isinstance(redacted, MetadataSummary)
    assert redacted.patient.name is not None and redacted.patient.name.startswith("NAME-")
    assert summary.patient.name == "DOE^JANE"
    text = render_summary(redacted)
    assert "DOE" not in text and "PAT-0001" not in text and redacted.patient.name in text


def test_dicom_json_elements_keep_their_vr_and_lose_their_values() -> None:
    dicomweb: dict[str, Any] = {
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^JANE"}]},
        "00100020": {"vr": "LO", "Value": ["PAT-0001"]},
        "00291010": {"vr": "PN", "Value": [{"Alphabetic": "PRIVATE^PERSON"}]},
        "00080060": {"vr": "CS", "Value": ["CT"]},
    }
    redacted = Pseudonymizer(SECRET).redact(dicomweb)
    assert redacted["00100010"]["vr"] == "PN"
    assert redacted["00100010"]["Value"][0]["Alphabetic"].startswith("NAME-")
    assert redacted["00100020"]["Value"][0].startswith("PATIENT-")
    assert redacted["00291010"]["Value"][0]["Alphabetic"].startswith("NAME-")
    assert redacted["00080060"] == {"vr": "CS", "Value": ["CT"]}


def test_free_text_loses_values_seen_before_but_keeps_uids() -> None:
    pseudonymizer = Pseudonymizer(SECRET)
    redacted = pseudonymizer.redact(realistic_document())
    name = redacted["Patient"]["DICOM"]["PatientName"]
    patient_id = redacted["Patient"]["DICOM"]["PatientID"]
    line = "Patient doe^jane (PAT-0001), born 1970-01-01; also DOE JANE; study 2.25.1111, accession ACC42, id S1"
    safe = pseudonymizer.redact_text(line)
    assert f"Patient {name} ({patient_id})" in safe
    assert "1970-01-01" not in safe and "DOE JANE" not in safe and "ACC42" not in safe
    assert "2.25.1111" in safe
    assert "id S1" in safe  # values under 3 characters are not searched for in free text
    assert Pseudonymizer(SECRET).redact_text(line) == line  # nothing seen yet, nothing known


def test_pseudonyms_are_consistent_across_threads() -> None:
    pseudonymizer = Pseudonymizer(SECRET)
    results: list[list[str]] = []

    def work() -> None:
        results.append([pseudonymizer.pseudonym("PATIENT", f"P{n}") for n in range(300)])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == results[0] for result in results)
    assert len(set(results[0])) == 300
    assert all(pseudonymizer.reveal(p) == f"P{n}" for n, p in enumerate(results[0]))


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown pseudonym kind"):
        Pseudonymizer(SECRET).pseudonym("SSN", "123")


def test_published_key_sets_cover_the_documented_attributes() -> None:
    assert {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "OtherPatientIDsSequence",
        "AccessionNumber",
    } <= PHI_KEYWORDS
    assert {"ReferringPhysicianName", "OperatorsName", "PatientAddress", "PatientTelephoneNumbers"} <= PHI_KEYWORDS
    assert not {"PatientSex", "PatientAge", "StudyDate", "Modality", "StudyInstanceUID"} & PHI_KEYWORDS
    assert {"DICOMPatientId", "DICOMPatientName", "DICOMPatientBirthDate", "DICOMAccessionNumber"} <= PHI_SUMMARY_KEYS
    assert {"patient.name", "patient.id", "patient.birth_date", "study.accession_number"} <= PHI_VIEW_FIELDS
