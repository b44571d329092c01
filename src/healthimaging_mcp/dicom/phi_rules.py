"""Which keys carry PHI, and which pseudonym kind replaces their values (see ``phi`` for the rationale).

Three key families are covered: DICOM keywords (and their 8-hex tag keys) as they appear in metadata
documents, the ``DICOMTags`` members of search summaries, and the snake_case fields of the metadata views.
"""

from __future__ import annotations

from healthimaging_mcp.dicom.keys import dictionary_entries, tag_of

__all__ = [
    "KINDS",
    "PHI_KEYWORDS",
    "PHI_SUMMARY_KEYS",
    "PHI_VIEW_FIELDS",
    "phi_kind",
]

PATIENT = "PATIENT"
NAME = "NAME"
DATE = "DATE"
ACCESSION = "ACCESSION"
STUDY = "STUDY"
IDENTIFIER = "ID"
ADDRESS = "ADDRESS"
PHONE = "PHONE"
TEXT = "TEXT"
FILE = "FILE"
KINDS = frozenset({PATIENT, NAME, DATE, ACCESSION, STUDY, IDENTIFIER, ADDRESS, PHONE, TEXT, FILE})
"""Pseudonym prefixes: ``PATIENT-1A2B3C4D``, ``NAME-…``, ``DATE-…`` and so on."""

_EXPLICIT_KEYWORDS: dict[str, str] = {
    # patient identifiers
    "PatientID": PATIENT,
    "OtherPatientIDs": PATIENT,
    "OtherPatientIDsSequence": PATIENT,
    "IssuerOfPatientID": IDENTIFIER,
    "IssuerOfPatientIDQualifiersSequence": IDENTIFIER,
    "MedicalRecordLocator": IDENTIFIER,
    "AdmissionID": IDENTIFIER,
    "IssuerOfAdmissionIDSequence": IDENTIFIER,
    "ServiceEpisodeID": IDENTIFIER,
    "PatientInsurancePlanCodeSequence": IDENTIFIER,
    "InsurancePlanIdentification": IDENTIFIER,
    # birth
    "PatientBirthDate": DATE,
    "PatientBirthTime": DATE,
    "PatientBirthDateInAlternativeCalendar": DATE,
    "PatientDeathDateInAlternativeCalendar": DATE,
    # where the patient (or a named person) lives or can be reached
    "PatientAddress": ADDRESS,
    "CountryOfResidence": ADDRESS,
    "RegionOfResidence": ADDRESS,
    "PatientInstitutionResidence": ADDRESS,
    "CurrentPatientLocation": ADDRESS,
    "InstitutionAddress": ADDRESS,
    "ReferringPhysicianAddress": ADDRESS,
    "PersonAddress": ADDRESS,
    "PatientTelephoneNumbers": PHONE,
    "PatientTelecomInformation": PHONE,
    "ReferringPhysicianTelephoneNumbers": PHONE,
    "PersonTelephoneNumbers": PHONE,
    "PersonTelecomInformation": PHONE,
    "OrderCallbackPhoneNumber": PHONE,
    "OrderCallbackTelecomInformation": PHONE,
    # other patient facts that single a person out
    "MilitaryRank": TEXT,
    "BranchOfService": TEXT,
    "PatientReligiousPreference": TEXT,
    "PatientComments": TEXT,
    "ResponsibleOrganization": TEXT,
    # order, visit and study identifiers that a RIS links back to the patient
    "AccessionNumber": ACCESSION,
    "IssuerOfAccessionNumberSequence": IDENTIFIER,
    "StudyID": STUDY,
    "PlacerOrderNumberImagingServiceRequest": IDENTIFIER,
    "FillerOrderNumberImagingServiceRequest": IDENTIFIER,
    "RequestedProcedureID": IDENTIFIER,
    "ScheduledProcedureStepID": IDENTIFIER,
    "PerformedProcedureStepID": IDENTIFIER,
    # identification sequences of named people (their names are PN attributes, below)
    "ReferringPhysicianIdentificationSequence": IDENTIFIER,
    "ConsultingPhysicianIdentificationSequence": IDENTIFIER,
    "PhysiciansOfRecordIdentificationSequence": IDENTIFIER,
    "PerformingPhysicianIdentificationSequence": IDENTIFIER,
    "PhysiciansReadingStudyIdentificationSequence": IDENTIFIER,
    "OperatorIdentificationSequence": IDENTIFIER,
    "PersonIdentificationCodeSequence": IDENTIFIER,
}

_PERSON_NAME_KEYWORDS: dict[str, str] = {
    entry[4]: NAME for entry in dictionary_entries().values() if entry[0] == "PN" and entry[4]
}
"""Every attribute whose dictionary VR is PN (patient, physicians, operators, observers, authors …)."""

_KEYWORD_KINDS: dict[str, str] = {**_PERSON_NAME_KEYWORDS, **_EXPLICIT_KEYWORDS}
PHI_KEYWORDS: frozenset[str] = frozenset(_KEYWORD_KINDS)
"""DICOM keywords whose values are replaced by pseudonyms wherever they occur (nested sequences too)."""

_TAG_KINDS: dict[str, str] = {}
for _keyword, _kind in _KEYWORD_KINDS.items():
    _tag = tag_of(_keyword)
    if _tag is not None:
        _TAG_KINDS[f"{_tag:08X}"] = _kind

_SUMMARY_KINDS: dict[str, str] = {
    "DICOMPatientId": PATIENT,
    "DICOMPatientName": NAME,
    "DICOMPatientBirthDate": DATE,
    "DICOMAccessionNumber": ACCESSION,
    "DICOMStudyId": STUDY,
}
PHI_SUMMARY_KEYS: frozenset[str] = frozenset(_SUMMARY_KINDS)
"""Search-summary ``DICOMTags`` members (and search filter keys) that carry PHI."""

_FIELD_KINDS: dict[str, str] = {
    "patient_id": PATIENT,
    "patient_name": NAME,
    "patient_birth_date": DATE,
    "birth_date": DATE,
    "accession_number": ACCESSION,
    "referring_physician": NAME,
    "study_id": STUDY,
}
_NESTED_FIELD_KINDS: dict[tuple[str, str], str] = {
    ("patient", "name"): NAME,
    ("patient", "id"): PATIENT,
    ("study", "id"): STUDY,
}
_VIEW_PATHS = (
    "patient.name",
    "patient.id",
    "patient.birth_date",
    "study.id",
    "study.accession_number",
    "study.referring_physician",
)
PHI_VIEW_FIELDS: frozenset[str] = frozenset(_FIELD_KINDS) | frozenset(_VIEW_PATHS)
"""snake_case fields that carry PHI: the views' paths (``patient.name`` is ``name`` inside a ``patient``
object) and field names redacted wherever they appear (``patient_id``, ``accession_number`` …)."""


def phi_kind(key: str, parent: str | None = None) -> str | None:
    """The pseudonym kind for values under ``key`` (inside an object held under ``parent``), else ``None``."""
    kind = _KEYWORD_KINDS.get(key) or _SUMMARY_KINDS.get(key) or _FIELD_KINDS.get(key)
    if kind is not None:
        return kind
    if len(key) == 8:
        kind = _TAG_KINDS.get(key.upper())
        if kind is not None:
            return kind
    if parent is not None:
        return _NESTED_FIELD_KINDS.get((parent, key))
    return None
