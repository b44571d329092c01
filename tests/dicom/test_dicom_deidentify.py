"""De-identification with the PS3.15 Basic profile, checked attribute by attribute against Table E.1-1."""

from __future__ import annotations

import re

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from healthimaging_mcp.dicom.deidentify import Deidentifier

UID_25 = re.compile(r"2\.25\.\d+")

# Table E.1-1 (PS3.15 2023), written out for the attributes of `clinical()`: action code → keywords.
REMOVED = {"PatientAge", "StudyDescription", "SeriesDescription", "ImageComments", "PatientAddress"}  # X
REMOVED |= {"OtherPatientIDsSequence", "RequestAttributesSequence", "PerformedProcedureStepStartDate"}  # X
EMPTIED = {"PatientBirthDate", "PatientSex", "ReferringPhysicianName", "StudyDate", "StudyTime"}  # Z
EMPTIED |= {"AcquisitionDate"}  # X/Z
DUMMY = {"InstitutionName", "StationName", "ProtocolName", "SeriesDate", "ContentDate", "OperatorsName"}  # D mixes
PSEUDONYMS = {
    "PatientName": r"DEID\^[0-9A-F]{12}",
    "PatientID": r"DEID-[0-9A-F]{12}",
    "AccessionNumber": r"A[0-9A-F]{12}",
}
NEW_UIDS = {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"}  # U
KEPT = {"Modality", "SOPClassUID", "Manufacturer", "Rows", "Columns", "SliceThickness", "BodyPartExamined"}


def clinical(sop_uid: str = "1.2.3.4.1", referenced: str = "1.2.3.4.2") -> Dataset:
    ds = Dataset()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "DOE^JANE", "MRN-12345", "19700214", "F"
    ds.PatientAge, ds.PatientAddress = "054Y", "1 MAIN STREET"
    ds.StudyDate, ds.StudyTime, ds.SeriesDate, ds.ContentDate, ds.AcquisitionDate = (
        "20240312",
        "093015",
        "20240312",
        "20240313",
        "20240312",
    )
    ds.PerformedProcedureStepStartDate = "20240312"
    ds.AccessionNumber, ds.StudyDescription, ds.SeriesDescription = "ACC-77", "CT CHEST", "AXIAL"
    ds.InstitutionName, ds.StationName, ds.ProtocolName, ds.OperatorsName = "ST MARY", "CT01", "CHEST", "TECH^A"
    ds.ReferringPhysicianName, ds.ImageComments = "WHO^DR", "patient moved"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = "1.2.3", "1.2.3.4", sop_uid
    ds.FrameOfReferenceUID, ds.SOPClassUID = "1.2.3.9", "1.2.840.10008.5.1.4.1.1.2"
    ds.Modality, ds.Manufacturer, ds.Rows, ds.Columns, ds.SliceThickness = "CT", "ACME", 4, 4, "2.5"
    ds.BodyPartExamined = "CHEST"
    other = Dataset()
    other.PatientID = "OLD-MRN"
    ds.OtherPatientIDsSequence = Sequence([other])
    request = Dataset()
    request.RequestedProcedureID = "RP1"
    ds.RequestAttributesSequence = Sequence([request])
    reference = Dataset()
    reference.ReferencedSOPClassUID, reference.ReferencedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", referenced
    ds.ReferencedImageSequence = Sequence([reference])
    ds.add_new(0x00091001, "LO", "private vendor note")
    ds.add_new(0x00090010, "LO", "ACME 1.0")
    ds.add_new(0x60000010, "US", 4)
    ds.add_new(0x60003000, "OW", b"\x00" * 4)
    ds.BurnedInAnnotation = "YES"
    return ds


def test_every_attribute_gets_the_profile_action() -> None:
    original = clinical()
    ds = Deidentifier()(clinical())
    for keyword in REMOVED:
        assert keyword not in ds, keyword
    for keyword in EMPTIED:
        assert keyword in ds and ds[keyword].is_empty, keyword
    for keyword in DUMMY:
        assert keyword in ds and not ds[keyword].is_empty and ds[keyword].value != original[keyword].value, keyword
    for keyword, pattern in PSEUDONYMS.items():
        assert re.fullmatch(pattern, str(ds[keyword].value)), keyword
    for keyword in NEW_UIDS:
        assert UID_25.fullmatch(ds[keyword].value) and ds[keyword].value != original[keyword].value, keyword
    for keyword in KEPT:
        assert ds[keyword].value == original[keyword].value, keyword
    assert not [element for element in ds if element.tag.is_private]
    assert not [element for element in ds if element.tag.group == 0x6000]
    assert ds.PatientIdentityRemoved == "YES" and ds.LongitudinalTemporalInformationModified == "REMOVED"
    assert [item.CodeValue for item in ds.DeidentificationMethodCodeSequence] == ["113100"]
    # X/Z/U*: the reference stays, pointing at the new UID of the instance it names.
    assert (
        ds.ReferencedImageSequence[0].ReferencedSOPClassUID == original.ReferencedImageSequence[0].ReferencedSOPClassUID
    )
    assert UID_25.fullmatch(ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID)


def test_one_deidentifier_maps_identities_and_uids_consistently() -> None:
    deidentify, other_export = Deidentifier(), Deidentifier()
    first = deidentify(clinical("1.2.3.4.1", referenced="1.2.3.4.2"))
    second = deidentify(clinical("1.2.3.4.2", referenced="1.2.3.4.1"))
    elsewhere = other_export(clinical("1.2.3.4.1"))
    for keyword in ("PatientID", "PatientName", "AccessionNumber", "StudyInstanceUID", "SeriesInstanceUID"):
        assert first[keyword].value == second[keyword].value != elsewhere[keyword].value, keyword
    assert first.SOPInstanceUID != second.SOPInstanceUID
    assert first.ReferencedImageSequence[0].ReferencedSOPInstanceUID == second.SOPInstanceUID
    assert second.ReferencedImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID


def test_modified_dates_option_shifts_dates_and_keeps_times() -> None:
    ds = Deidentifier(date_shift_days=-30)(clinical())
    assert (ds.StudyDate, ds.SeriesDate, ds.ContentDate, ds.AcquisitionDate) == (
        "20240211",
        "20240211",
        "20240212",
        "20240211",
    )
    assert ds.StudyTime == "093015"
    assert ds["PatientBirthDate"].is_empty  # identifying: emptied whatever the option
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert [item.CodeValue for item in ds.DeidentificationMethodCodeSequence] == ["113100", "113107"]


def test_the_report_counts_by_action_and_warns_about_pixels() -> None:
    deidentify = Deidentifier()
    deidentify(clinical())
    unflagged = clinical("1.2.3.4.9")
    del unflagged.BurnedInAnnotation
    deidentify(unflagged)
    report = deidentify.report.as_json()
    assert report["instances"] == 2
    assert report["attributes"]["removed"]["StudyDescription"] == 2
    assert report["attributes"]["pseudonym"]["PatientID"] == 2
    assert report["actions"]["private_removed"] == 4 and report["actions"]["overlay_removed"] == 4
    assert report["burned_in_annotation"] == {"YES": 1, "not stated": 1}
    warnings = " ".join(report["warnings"])
    assert "1 instance(s) say Burned In Annotation YES" in warnings and "1 instance(s) do not say" in warnings
    assert "DOE" not in str(report) and "MRN-12345" not in str(report)


@pytest.mark.parametrize("days", [0, 365, -36500])
def test_shifted_dates_stay_valid(days: int) -> None:
    ds = Deidentifier(date_shift_days=days)(clinical())
    assert re.fullmatch(r"\d{8}", ds.StudyDate)
