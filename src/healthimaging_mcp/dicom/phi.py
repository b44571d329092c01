"""PHI redaction for tool answers: stable, reversible-in-process pseudonyms instead of identifying values.

The aim is an assistant that can still work (find series, compare dates, read acquisition settings) without
seeing who the patient is. The choice follows the DICOM PS3.15 Basic Application Level Confidentiality
Profile for direct identifiers, with its *Retain Longitudinal Temporal Information with Full Dates*,
*Retain Patient Characteristics*, *Retain Device Identity*, *Retain Institution Identity* and *Retain UIDs*
options, because the tools address data by UID and a reader needs dates, age and sex.

What is replaced, by pseudonym kind:

- ``PATIENT-…``: PatientID, OtherPatientIDs, OtherPatientIDsSequence (every value inside), DICOMPatientId;
  view fields ``patient.id``, ``patient_id``.
- ``NAME-…``: every attribute whose dictionary VR is PN: PatientName, OtherPatientNames, PatientBirthName,
  PatientMotherBirthName, ResponsiblePerson, ReferringPhysicianName, ConsultingPhysicianName,
  PerformingPhysicianName, NameOfPhysiciansReadingStudy, PhysiciansOfRecord, OperatorsName,
  RequestingPhysician, PersonName, observer/author/reviewer names …; private tags whose ``DICOMVRs`` entry
  (or DICOM JSON ``vr``) says PN; DICOMPatientName; view fields ``patient.name``, ``patient_name``,
  ``referring_physician``.
- ``DATE-…``: PatientBirthDate, PatientBirthTime, birth/death dates in alternative calendars,
  DICOMPatientBirthDate; view fields ``patient.birth_date``, ``birth_date``. Replaced whole, not reduced to
  the year: PatientAge stays and tells a reader what the birth date would.
- ``ACCESSION-…``: AccessionNumber, DICOMAccessionNumber; view field ``accession_number``.
- ``STUDY-…``: StudyID, DICOMStudyId; view fields ``study.id``, ``study_id``.
- ``ID-…``: IssuerOfPatientID (+ qualifiers sequence), MedicalRecordLocator, AdmissionID (+ issuer
  sequence), ServiceEpisodeID, InsurancePlanIdentification, PatientInsurancePlanCodeSequence,
  IssuerOfAccessionNumberSequence, placer/filler order numbers, RequestedProcedureID,
  ScheduledProcedureStepID, PerformedProcedureStepID, the physician/operator identification sequences and
  PersonIdentificationCodeSequence.
- ``ADDRESS-…``: PatientAddress, CountryOfResidence, RegionOfResidence, PatientInstitutionResidence,
  CurrentPatientLocation, InstitutionAddress, ReferringPhysicianAddress, PersonAddress.
- ``PHONE-…``: telephone numbers and telecom information of the patient, the referring physician, a person,
  and an order's call-back.
- ``TEXT-…``: MilitaryRank, BranchOfService, PatientReligiousPreference, PatientComments,
  ResponsibleOrganization.
- ``FILE-…``: S3 object keys and file names, which people often name after the patient (import answers
  replace them explicitly; no metadata key carries them).

Kept: UIDs (the tools address data by them), study/series dates and times, modality, descriptions, body part,
PatientSex, PatientAge, PatientSize, PatientWeight, EthnicGroup, institution name, station, manufacturer and
device serial numbers, all acquisition and pixel attributes.

Limits: free-text attributes that are kept (StudyDescription, SeriesDescription, AdditionalPatientHistory,
ImageComments …) and private tags recorded as anything but PN may still contain identifying text; no
redaction can know that. Pixel data (burned-in annotations) is out of scope. This is a safeguard for the
assistant's context, not a de-identification for data release.

Pseudonyms are ``KIND-`` plus the first 8 hex digits of HMAC-SHA256(secret, kind, value): the same value
gives the same pseudonym for the life of the ``Pseudonymizer`` (the secret is random per process unless
given), ``reveal`` maps a pseudonym back, and ``redact_text`` finds values already seen in free text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from healthimaging_mcp.dicom.phi_rules import DATE, KINDS, NAME, phi_kind

__all__ = ["Pseudonymizer"]

T = TypeVar("T")

_DIGEST_CHARS = 8
_MIN_TEXT_MATCH = 3
"""Values shorter than this are not searched for in free text (a 2-character ID would hit everywhere)."""
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DICOM_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _canonical(kind: str, value: str) -> str:
    """The form a value is pseudonymised in: padding stripped, ISO dates as DICOM ``YYYYMMDD``."""
    text = value.strip(" \x00")
    if kind == NAME:
        text = text.rstrip("^= ")
    if kind == DATE:
        match = _ISO_DATE.fullmatch(text)
        if match is not None:
            text = "".join(match.groups())
    return text


def _text_variants(kind: str, canonical: str) -> set[str]:
    """Ways a value may be written in free text (as stored, names with spaces, ISO dates)."""
    variants = {canonical}
    if kind == NAME and "^" in canonical:
        variants.add(" ".join(part for part in canonical.split("^") if part))
    if kind == DATE:
        match = _DICOM_DATE.fullmatch(canonical)
        if match is not None:
            variants.add("-".join(match.groups()))
    return {variant for variant in variants if len(variant) >= _MIN_TEXT_MATCH}


class Pseudonymizer:
    """Replaces PHI with stable pseudonyms and remembers them for ``reveal`` and ``redact_text``; thread-safe."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._lock = threading.RLock()
        self._issued: dict[tuple[str, str], str] = {}
        self._originals: dict[str, str] = {}
        self._text_map: dict[str, str] = {}
        self._text_pattern: re.Pattern[str] | None = None

    # --- single values ----------------------------------------------------------------------------------

    def pseudonym(self, kind: str, value: str) -> str:
        """The pseudonym of ``value`` (e.g. ``PATIENT-7F3A9C21``); empty values and pseudonyms pass through."""
        kind = kind.upper()
        if kind not in KINDS:
            raise ValueError(f"unknown pseudonym kind {kind!r}; expected one of {sorted(KINDS)}")
        canonical = _canonical(kind, value)
        if not canonical:
            return value
        with self._lock:
            if canonical.upper() in self._originals:
                return canonical.upper()  # already a pseudonym: redacting twice changes nothing
            issued = self._issued.get((kind, canonical))
            if issued is None:
                issued = self._issue(kind, canonical)
            return issued

    def _issue(self, kind: str, canonical: str) -> str:
        digest = hmac.new(self._secret, f"{kind}\x1f{canonical}".encode(), hashlib.sha256).hexdigest().upper()
        length = _DIGEST_CHARS
        pseudonym = f"{kind}-{digest[:length]}"
        while pseudonym in self._originals:  # a prefix collision: lengthen until unique
            length += 4
            pseudonym = f"{kind}-{digest[:length]}"
        self._issued[(kind, canonical)] = pseudonym
        self._originals[pseudonym] = canonical
        for variant in _text_variants(kind, canonical):
            self._text_map.setdefault(variant.casefold(), pseudonym)
        self._text_pattern = None
        return pseudonym

    def reveal(self, pseudonym: str) -> str | None:
        """The original value behind a pseudonym issued by this object, else ``None``."""
        with self._lock:
            return self._originals.get(pseudonym.strip().upper())

    # --- structures -------------------------------------------------------------------------------------

    def redact(self, obj: T) -> T:
        """A copy of a JSON-like structure (or pydantic model) with every PHI value replaced; input untouched."""
        if isinstance(obj, BaseModel):
            data = self._walk(obj.model_dump(mode="json"), None)
            return type(obj).model_validate(data)
        redacted: T = self._walk(obj, None)
        return redacted

    def _walk(self, node: Any, parent: str | None, names: frozenset[str] = frozenset()) -> Any:
        if isinstance(node, Mapping):
            return self._walk_mapping(node, parent, names)
        if isinstance(node, (list, tuple)):
            return [self._walk(item, parent) for item in node]
        return node

    def _walk_mapping(self, node: Mapping[str, Any], parent: str | None, names: frozenset[str]) -> dict[str, Any]:
        row_kind = self._attribute_row_kind(node)
        private_names = self._private_person_names(node)
        result: dict[str, Any] = {}
        for key, value in node.items():
            kind = phi_kind(key, parent) if isinstance(key, str) else None
            if kind is None and key in names:
                kind = NAME
            if kind is None and key == "value" and row_kind is not None:
                kind = row_kind
            if kind is None and isinstance(value, Mapping) and value.get("vr") == "PN":
                kind = NAME  # a DICOM JSON element holding a person name (private ones too)
            if kind is not None:
                result[key] = self._replace_all(value, kind)
            else:
                child_names = private_names if key == "DICOM" else frozenset()
                result[key] = self._walk(value, key if isinstance(key, str) else None, child_names)
        return result

    @staticmethod
    def _attribute_row_kind(node: Mapping[str, Any]) -> str | None:
        """For ``{"keyword": …, "value": …}`` rows (views.models.AttributeRow): the kind of the row's keyword."""
        keyword = node.get("keyword")
        if not isinstance(keyword, str) or "value" not in node:
            return None
        return phi_kind(keyword) or (NAME if node.get("vr") == "PN" else None)

    @staticmethod
    def _private_person_names(node: Mapping[str, Any]) -> frozenset[str]:
        """Keys a sibling ``DICOMVRs`` map records as PN (private person names in an instance object)."""
        vrs = node.get("DICOMVRs")
        if not isinstance(vrs, Mapping):
            return frozenset()
        return frozenset(key for key, vr in vrs.items() if vr == "PN")

    def _replace_all(self, value: Any, kind: str) -> Any:
        """Every scalar inside ``value`` replaced; nested PHI keys keep their own kind."""
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self.pseudonym(kind, value)
        if isinstance(value, (int, float)):
            return self.pseudonym(kind, str(value))
        if isinstance(value, (list, tuple)):
            return [self._replace_all(item, kind) for item in value]
        if isinstance(value, Mapping):
            if "vr" in value:  # DICOM JSON element: only its values are data
                return {key: (item if key == "vr" else self._replace_all(item, kind)) for key, item in value.items()}
            return {
                key: self._replace_all(item, (phi_kind(key) if isinstance(key, str) else None) or kind)
                for key, item in value.items()
            }
        return self.pseudonym(kind, str(value))

    # --- free text --------------------------------------------------------------------------------------

    def redact_text(self, text: str) -> str:
        """``text`` with every PHI value seen so far (at least 3 characters) replaced by its pseudonym."""
        with self._lock:
            if not self._text_map:
                return text
            pattern = self._text_pattern
            if pattern is None:
                alternatives = sorted(self._text_map, key=len, reverse=True)
                body = "|".join(re.escape(variant) for variant in alternatives)
                pattern = re.compile(rf"(?<![\w.])(?:{body})(?![\w]|\.\w)", re.IGNORECASE)
                self._text_pattern = pattern
            text_map = self._text_map
            return pattern.sub(lambda match: text_map.get(match.group(0).casefold(), match.group(0)), text)
