"""Plans: one change to every image set of a patient or a study, computed without changing anything.

A plan is the scope (patient or study), the change, and the image sets it touches with the version each was
planned against. The change of each image set is recomputed from that version's document when applied (a
version never changes), so the handle stays small and holds no document; the same function tells whether an
image set's next version is this plan's work (`is_applied`). Kinds:

- update: set attributes (the level follows from the keyword), remove series or instances by UID, or
  de-identify in place (Patient/Study/Series attributes per the PS3.15 Basic profile, UIDs kept);
- erase: delete every image set of the patient (all versions);
- undo: revert each image set an applied plan changed to the version before it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..dicom.deidentify import Deidentifier
from ..dicom.deidentify_rules import PROFILE_ACTIONS
from ..dicom.document import ImageSetDocument
from ..dicom.keys import tag_of, vr_of
from ..dicom.levels import level_of
from ..dicom.patch_rules import PROTECTED_KEYWORDS
from ..errors import invalid
from .handles import open_handle, seal
from .inventory import Scope

Kind = Literal["update", "erase", "undo"]
DEFAULT_MAX_IMAGE_SETS = 50
_LEVELS = ("Patient", "Study", "Series")


@dataclass(frozen=True)
class Change:
    """What a plan does to each image set."""

    set_attributes: Mapping[str, Any] = field(default_factory=dict)
    remove_series: Sequence[str] = ()
    remove_instances: Sequence[str] = ()
    deidentify: bool = False

    @property
    def removes(self) -> bool:
        """Whether it removes data from the image sets (series, instances, or attributes de-identification drops)."""
        return bool(self.remove_series or self.remove_instances or self.deidentify)

    def words(self) -> str:
        parts = []
        if self.set_attributes:
            values = ", ".join(f"{k} to {_quoted(v)}" for k, v in self.set_attributes.items())
            parts.append(f"set {values}")
        if self.remove_series:
            parts.append(f"remove {len(self.remove_series)} series")
        if self.remove_instances:
            parts.append(f"remove {len(self.remove_instances)} instance(s)")
        if self.deidentify:
            parts.append("de-identify in place (PS3.15 Basic profile on patient, study and series attributes)")
        return " and ".join(parts)


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Plan:
    datastore_id: str
    kind: Kind
    scope: Scope
    change: Change
    items: tuple[tuple[str, int], ...]
    """(image set ID, the version the plan was made against), in order."""
    nonce: str
    created: float

    def seal(self, key: bytes) -> str:
        return seal(
            key,
            {
                "v": 1,
                "d": self.datastore_id,
                "k": self.kind,
                "p": self.scope.patient_id,
                "u": self.scope.study_instance_uid,
                "s": dict(self.change.set_attributes),
                "rs": list(self.change.remove_series),
                "ri": list(self.change.remove_instances),
                "di": self.change.deidentify,
                "i": [list(item) for item in self.items],
                "n": self.nonce,
                "t": self.created,
            },
        )

    @classmethod
    def open(cls, key: bytes, handle: str, datastore_id: str | None) -> Plan:
        """The plan a handle holds; refused when altered, made with another key, or for another datastore."""
        p = open_handle(key, handle)
        if datastore_id is not None and datastore_id != p["d"]:
            raise invalid(
                f"This plan was made for datastore {p['d']}, not {datastore_id}.",
                "Apply it without datastore_id (or with its own), or make a new plan for this datastore.",
            )
        return cls(
            datastore_id=p["d"],
            kind=p["k"],
            scope=Scope(p.get("p"), p.get("u")),
            change=Change(p.get("s") or {}, tuple(p.get("rs") or ()), tuple(p.get("ri") or ()), bool(p.get("di"))),
            items=tuple((str(i), int(v)) for i, v in p["i"]),
            nonce=p["n"],
            created=float(p["t"]),
        )

    def deidentifier(self, key: bytes) -> Deidentifier:
        """The de-identifier of an in-place plan: the same pseudonyms at planning and at every apply."""
        return Deidentifier(secret=hmac.new(key, f"deidentify\x1f{self.nonce}".encode(), hashlib.sha256).digest())


def new_plan(datastore_id: str, kind: Kind, scope: Scope, change: Change, items: Sequence[tuple[str, int]]) -> Plan:
    return Plan(datastore_id, kind, scope, change, tuple(items), secrets.token_hex(8), time.time())


# ------------------------------------------------------------------------------------------ the updates


@dataclass(frozen=True)
class Updates:
    """The UpdateImageSetMetadata documents of one image set (None: nothing to change)."""

    updatable: dict[str, Any] | None
    removable: dict[str, Any] | None
    force: bool = False
    before_after: list[tuple[str, Any, Any]] = field(default_factory=list)
    """(keyword, current value, new value) of the attributes set or removed, for the plan's answer."""

    @property
    def empty(self) -> bool:
        return self.updatable is None and self.removable is None


class _Document:
    """Builds an update document in HealthImaging's shape."""

    def __init__(self) -> None:
        self.root: dict[str, Any] = {"SchemaVersion": 1.1}

    def level(self, level: str, series_uid: str | None = None) -> dict[str, Any]:
        if level == "Series":
            series = self.root.setdefault("Study", {}).setdefault("Series", {}).setdefault(series_uid, {})
            found: dict[str, Any] = series.setdefault("DICOM", {})
            return found
        found = self.root.setdefault(level, {}).setdefault("DICOM", {})
        return found

    def series(self, uid: str) -> dict[str, Any]:
        found: dict[str, Any] = self.root.setdefault("Study", {}).setdefault("Series", {}).setdefault(uid, {})
        return found

    def result(self) -> dict[str, Any] | None:
        return self.root if len(self.root) > 1 else None


def level_of_keyword(keyword: str) -> str:
    """Patient, Study or Series for a keyword a plan may set; anything else is refused."""
    tag = tag_of(keyword)
    if tag is None or keyword != keyword.strip() or keyword.isdigit():
        raise invalid(f"{keyword} is not a DICOM keyword.", "Use keywords such as PatientName or AccessionNumber.")
    level = level_of(tag)
    if level == "Instance":
        raise invalid(
            f"{keyword} is an instance-level attribute; plans change patient, study and series attributes.",
            "Use update_image_set_metadata for instance-level changes.",
        )
    return level


def _targets(document: ImageSetDocument, level: str) -> list[tuple[str | None, Mapping[str, Any]]]:
    if level == "Patient":
        return [(None, document.patient)]
    if level == "Study":
        return [(None, document.study)]
    return [(series.uid, series.attributes) for series in document.series]


def updates_for(plan_change: Change, document: ImageSetDocument, deidentifier: Deidentifier | None = None) -> Updates:
    """What an update plan changes in one image set version (nothing when it is already so)."""
    updatable, removable = _Document(), _Document()
    before_after: list[tuple[str, Any, Any]] = []
    force = False
    wanted = dict(plan_change.set_attributes)
    if plan_change.deidentify and deidentifier is not None:
        for level in _LEVELS:
            for series_uid, attributes in _targets(document, level):
                for keyword, value in attributes.items():
                    action = PROFILE_ACTIONS.get(keyword)
                    if action is None or action in ("U", "X/Z/U*") or value in (None, "", []):
                        continue
                    if action == "X":
                        removable.level(level, series_uid)[keyword] = value
                        before_after.append((keyword, value, None))
                        continue
                    new = _deidentified(deidentifier, keyword, action, value)
                    if new != value:
                        updatable.level(level, series_uid)[keyword] = new
                        before_after.append((keyword, value, new))
                        force = force or keyword in PROTECTED_KEYWORDS
    for keyword, value in wanted.items():
        level = level_of_keyword(keyword)
        for series_uid, attributes in _targets(document, level):
            if attributes.get(keyword) != value:
                updatable.level(level, series_uid)[keyword] = value
                before_after.append((keyword, attributes.get(keyword), value))
                force = force or keyword in PROTECTED_KEYWORDS
    for uid in plan_change.remove_series:
        if document.series_by_uid(uid) is not None:
            removable.series(uid).clear()
            before_after.append(("series", uid, None))
    for sop_uid in plan_change.remove_instances:
        instance = document.instance(sop_uid)
        if instance is not None:
            removable.series(instance.series_uid).setdefault("Instances", {})[sop_uid] = {}
            before_after.append(("instance", sop_uid, None))
    return Updates(updatable.result(), removable.result(), force, before_after)


def _deidentified(deidentifier: Deidentifier, keyword: str, action: str, value: Any) -> Any:
    if keyword in ("PatientID", "PatientName", "AccessionNumber", "StudyID"):
        return deidentifier.pseudonym(keyword, str(value))
    if action in ("Z", "X/Z"):
        return ""
    vr = vr_of(keyword) or "LO"
    return {"DA": "19000101", "TM": "000000", "DT": "19000101000000", "PN": "ANONYMOUS", "AS": "000Y"}.get(
        vr, "ANONYMIZED"
    )


def is_applied(change: Change, planned: Updates, document: ImageSetDocument) -> bool:
    """Whether `document` (the version after the planned one) holds the planned change."""
    root = planned.updatable or {}
    for level in _LEVELS:
        for series_uid, attributes in _targets(document, level):
            if level == "Series":
                wanted = (((root.get("Study") or {}).get("Series") or {}).get(series_uid) or {}).get("DICOM") or {}
            else:
                wanted = (root.get(level) or {}).get("DICOM") or {}
            if any(attributes.get(keyword) != value for keyword, value in wanted.items()):
                return False
    removed = planned.removable or {}
    for level in ("Patient", "Study"):
        if any(
            keyword in _targets(document, level)[0][1] for keyword in ((removed.get(level) or {}).get("DICOM") or {})
        ):
            return False
    for uid, series in ((removed.get("Study") or {}).get("Series") or {}).items():
        present = document.series_by_uid(uid)
        if series == {}:
            if present is not None:
                return False
            continue
        if present is not None and any(k in present.attributes for k in (series.get("DICOM") or {})):
            return False
        if any(document.instance(sop) is not None for sop in series.get("Instances") or {}):
            return False
    return True


def same_content(document: ImageSetDocument, reference: ImageSetDocument) -> bool:
    """Whether two versions hold the same patient, study, series and instances (what a revert restores)."""
    return document.raw.get("Patient") == reference.raw.get("Patient") and document.raw.get(
        "Study"
    ) == reference.raw.get("Study")


def check_limit(count: int, max_image_sets: int) -> None:
    if count > max_image_sets:
        raise invalid(
            f"This plan would touch {count} image sets, more than max_image_sets={max_image_sets}.",
            f"Check the scope; if it is right, ask again with max_image_sets={count}.",
        )
