"""De-identify datasets with the DICOM PS3.15 Basic Application Level Confidentiality Profile, with a report.

The actions of Table E.1-1 (`deidentify_rules`) apply at every depth (sequence items too). Where the standard
leaves a choice, the result stays valid for any IOD: X/Z empties (keeps the attribute), D, Z/D, X/D and
X/Z/D put a dummy value, X/Z/U* keeps the sequence and cleans its items. Patient ID and name, accession number
and study ID get consistent pseudonyms instead of empty values, so the exported studies still group by
patient and study; every UID the profile names is replaced by a new UID, the same for the same original UID
throughout one `Deidentifier` (one export), so references between the files stay intact. Private attributes,
curves and overlay planes (whose data may show text) are removed. With the Retain Longitudinal Temporal
Information with Modified Dates option (`date_shift_days`), dates and date-times are shifted by that many days
and times kept (the birth date is still emptied); without it they get the profile's action.

The pixels are not examined: Burned In Annotation and Recognizable Visual Features are read and reported,
because pixels may still show identifying text or faces. Pure: no I/O; pseudonyms come from a secret made per
Deidentifier, so they cannot be linked back without it and differ between exports.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from .deidentify_rules import PROFILE_ACTIONS

__all__ = ["DeidentificationReport", "Deidentifier"]

PROFILE = "DICOM PS3.15 Basic Application Level Confidentiality Profile"
MODIFIED_DATES = "Retain Longitudinal Temporal Information with Modified Dates Option"
_PSEUDONYMS = {  # keyword → (prefix, length of the hex part): within each VR's maximum length
    "PatientID": ("DEID-", 12),
    "PatientName": ("DEID^", 12),
    "AccessionNumber": ("A", 12),
    "StudyID": ("S", 12),
}
_DUMMY_BY_VR: dict[str, Any] = {
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "AS": "000Y",
    "PN": "ANONYMOUS",
    "DS": "0",
    "IS": "0",
    "US": 0,
    "SS": 0,
    "UL": 0,
    "SL": 0,
    "FL": 0.0,
    "FD": 0.0,
}
_DUMMY_TEXT = "ANONYMIZED"
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_KEPT_SEQUENCE_ACTIONS = frozenset({"D", "Z/D", "X/D", "X/Z/D", "X/Z/U*"})
"""Actions that keep a sequence (its items cleaned) rather than emptying or removing it."""
_SHIFTED_VRS = frozenset({"DA", "DT"})
_BIRTH_DATE = "PatientBirthDate"
_CODE_BASIC = ("113100", "Basic Application Confidentiality Profile")
_CODE_MODIFIED_DATES = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")


@dataclass
class DeidentificationReport:
    """What a Deidentifier changed, by action and attribute (keywords and counts only: no values)."""

    profile: str = PROFILE
    options: list[str] = field(default_factory=list)
    instances: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    """removed / emptied / dummy / pseudonym / new_uid / date_shifted / private_removed / overlay_removed → count"""
    attributes: dict[str, Counter[str]] = field(default_factory=dict)
    """action → attribute keyword → count"""
    burned_in_annotation: Counter[str] = field(default_factory=Counter)
    """YES / NO / not stated → instances"""
    recognizable_visual_features: Counter[str] = field(default_factory=Counter)

    def record(self, action: str, keyword: str) -> None:
        self.actions[action] += 1
        self.attributes.setdefault(action, Counter())[keyword] += 1

    def warnings(self) -> list[str]:
        found = []
        if self.burned_in_annotation["YES"]:
            found.append(
                f"{self.burned_in_annotation['YES']} instance(s) say Burned In Annotation YES: their pixels show "
                "text that may identify the patient; the profile does not change pixels. Check before sharing."
            )
        if self.recognizable_visual_features["YES"]:
            found.append(
                f"{self.recognizable_visual_features['YES']} instance(s) say Recognizable Visual Features YES "
                "(e.g. a face); check before sharing."
            )
        unstated = self.burned_in_annotation["not stated"]
        if unstated:
            found.append(
                f"{unstated} instance(s) do not say whether their pixels carry burned-in text; check them before "
                "sharing (ultrasound, screen captures and scanned documents often do)."
            )
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "options": self.options,
            "instances": self.instances,
            "actions": dict(self.actions),
            "attributes": {action: dict(sorted(counts.items())) for action, counts in sorted(self.attributes.items())},
            "burned_in_annotation": dict(self.burned_in_annotation),
            "recognizable_visual_features": dict(self.recognizable_visual_features),
            "warnings": self.warnings(),
        }


class Deidentifier:
    """Applies the profile to datasets of one export: same pseudonyms and new UIDs for the same originals."""

    def __init__(self, date_shift_days: int | None = None, secret: bytes | None = None) -> None:
        self.date_shift_days = date_shift_days
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self.report = DeidentificationReport(options=[MODIFIED_DATES] if date_shift_days is not None else [])

    def __call__(self, ds: Dataset) -> Dataset:
        """`ds` de-identified in place (and returned)."""
        self._flags(ds)
        self._clean(ds)
        self._mark(ds)
        self.report.instances += 1
        return ds

    # --------------------------------------------------------------------------------------- identities

    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{kind}\x1f{value}".encode(), hashlib.sha256).digest()

    def new_uid(self, uid: str) -> str:
        """The replacement of `uid`: a `2.25.` UID from a keyed hash (stable within this Deidentifier)."""
        return "2.25." + str(int.from_bytes(self._digest("uid", uid.strip("\0 "))[:16], "big"))

    def pseudonym(self, keyword: str, value: str) -> str:
        prefix, length = _PSEUDONYMS[keyword]
        return prefix + self._digest(keyword, str(value).strip()).hex()[:length].upper()

    # ------------------------------------------------------------------------------------------- walking

    def _clean(self, ds: Dataset) -> None:
        for element in list(ds):
            tag = element.tag
            if tag.is_private:
                del ds[tag]
                self.report.record("private_removed", f"{tag.group:04X}xxxx")
            elif 0x5000 <= tag.group <= 0x50FF or 0x6000 <= tag.group <= 0x60FF:
                del ds[tag]
                self.report.record("overlay_removed", f"({tag.group & 0xFF00:04X}xx)")
            else:
                self._apply(ds, element)

    def _apply(self, ds: Dataset, element: DataElement) -> None:
        keyword = element.keyword or f"{int(element.tag):08X}"
        action = PROFILE_ACTIONS.get(keyword)
        vr = str(element.VR)
        if action is not None and self.date_shift_days is not None and vr in _SHIFTED_VRS and keyword != _BIRTH_DATE:
            self._shift(element, keyword)
            return
        if action is not None and vr == "TM" and self.date_shift_days is not None:
            return  # times are kept with the modified dates option
        if vr == "SQ" and (action is None or action in _KEPT_SEQUENCE_ACTIONS):
            for item in element.value:
                self._clean(item)
            if action is not None:
                self.report.record("items_cleaned", keyword)
            return
        if action is None:
            return
        if action == "X":
            del ds[element.tag]
            self.report.record("removed", keyword)
        elif action == "U" or (vr == "UI" and action != "X"):
            element.value = self._new_uids(element.value)
            self.report.record("new_uid", keyword)
        elif keyword in _PSEUDONYMS and element.value not in (None, ""):
            element.value = self.pseudonym(keyword, str(element.value))
            self.report.record("pseudonym", keyword)
        elif action in ("Z", "X/Z"):
            element.value = DicomSequence([]) if vr == "SQ" else None
            self.report.record("emptied", keyword)
        else:  # D, Z/D, X/D, X/Z/D on a value that is not a sequence
            element.value = _dummy(vr)
            self.report.record("dummy", keyword)

    def _new_uids(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)) or (hasattr(value, "__iter__") and not isinstance(value, str)):
            return [self.new_uid(str(v)) for v in value]
        return self.new_uid(str(value)) if value else value

    def _shift(self, element: DataElement, keyword: str) -> None:
        values = element.value if isinstance(element.value, list) else [element.value]
        shifted = [_shifted(str(v), self.date_shift_days or 0) for v in values if v not in (None, "")]
        if not shifted:
            return
        element.value = shifted if len(shifted) > 1 else shifted[0]
        self.report.record("date_shifted", keyword)

    # -------------------------------------------------------------------------------------------- marks

    def _flags(self, ds: Dataset) -> None:
        for keyword, counter in (
            ("BurnedInAnnotation", self.report.burned_in_annotation),
            ("RecognizableVisualFeatures", self.report.recognizable_visual_features),
        ):
            value = str(ds.get(keyword) or "").strip().upper()
            counter[value if value in ("YES", "NO") else "not stated"] += 1

    def _mark(self, ds: Dataset) -> None:
        """Patient Identity Removed, the method in words and codes (PS3.3 C.7.1.1)."""
        ds.PatientIdentityRemoved = "YES"
        modified = self.date_shift_days is not None
        ds.LongitudinalTemporalInformationModified = "MODIFIED" if modified else "REMOVED"
        ds.DeidentificationMethod = f"{PROFILE}{'; ' + MODIFIED_DATES if modified else ''} (healthimaging-mcp)"
        codes = [_CODE_BASIC, *([_CODE_MODIFIED_DATES] if modified else [])]
        ds.DeidentificationMethodCodeSequence = DicomSequence(_codes(codes))


def _codes(codes: Iterable[tuple[str, str]]) -> list[Dataset]:
    items = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        items.append(item)
    return items


def _dummy(vr: str) -> Any:
    if vr in _BINARY_VRS:
        return b"\x00\x00"
    return _DUMMY_BY_VR.get(vr, _DUMMY_TEXT)


def _shifted(value: str, days: int) -> str:
    """A DA (YYYYMMDD) or DT (YYYYMMDD…) value moved by `days`; a value that does not parse is emptied."""
    text = value.strip()
    try:
        moved = date(int(text[:4]), int(text[4:6]), int(text[6:8])) + timedelta(days=days)
    except ValueError:
        return ""
    return moved.strftime("%Y%m%d") + text[8:]
