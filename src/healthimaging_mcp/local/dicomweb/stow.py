"""STOW-RS: store Part 10 files synchronously, through the same checks and image set rules as import jobs.

Each file is read, checked, normalised and transcoded by the import pipeline, then merged into the primary
image set of its series, or into a non-primary one when its key elements conflict. The answer lists what was
stored (ReferencedSOPSequence, with a RetrieveURL that names the image set when it is not primary) and what
failed (FailedSOPSequence, with a FailureReason code and an ErrorComment saying why); 409 when any failed.
"""

from __future__ import annotations

import io
import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Any

import pydicom

from ...dicom.values import as_text
from ..errors import ValidationError
from ..imports.assembler import ImageSetAssembler
from ..imports.batch import Loader, run_import
from ..store.blobs import BlobStore
from .errors import UnsupportedMediaTypeError
from .media import DICOM, MULTIPART, parse_media_type
from .multipart import Part, decode
from .urls import ResourceUrls

CANNOT_UNDERSTAND = 0xC000
"""FailureReason: the file is not a DICOM instance the service can take (what the import checks report)."""
PROCESSING_FAILURE = 0x0110
"""FailureReason: the service failed while storing a valid file."""

_IDENTITY_TAGS = ["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"]


@dataclass(frozen=True)
class StoreOutcome:
    status: int
    response: dict[str, Any]  # a DICOM JSON dataset


@dataclass(frozen=True)
class _Identity:
    sop_class_uid: str | None
    sop_instance_uid: str | None
    study_uid: str | None
    series_uid: str | None


class StowStore:
    def __init__(self, assembler: ImageSetAssembler, blobs: BlobStore) -> None:
        self.assembler = assembler
        self.blobs = blobs

    def store(
        self,
        datastore: sqlite3.Row,
        study_uid: str | None,
        content_type: str,
        body: bytes,
        urls: ResourceUrls,
    ) -> StoreOutcome:
        """Store the files of a STOW-RS request; `study_uid` (from the path) is the one study they may be of."""
        parts = _parts(content_type, body)
        identities = [_identity(part.body) for part in parts]
        files: list[tuple[str, Loader]] = []
        failed: list[dict[str, Any]] = []
        for number, (part, identity) in enumerate(zip(parts, identities), start=1):
            if not parse_media_type(part.content_type or DICOM).allows(DICOM):
                failed.append(
                    _failed(identity, CANNOT_UNDERSTAND, f"Part {number} is {part.content_type}, not {DICOM}")
                )
            elif study_uid is not None and identity.study_uid not in (None, study_uid):
                reason = f"The instance belongs to study {identity.study_uid}, not {study_uid} of the request path"
                failed.append(_failed(identity, CANNOT_UNDERSTAND, reason))
            else:
                files.append((str(number), partial(bytes, part.body)))
        report = run_import(self.assembler, self.blobs, datastore["id"], datastore["lossless_storage_format"], files)
        stored = {entry["inputFile"]: entry["importResponse"] for entry in report.successes}
        warnings = {entry["inputFile"]: entry["importResponse"]["warnings"] for entry in report.warnings}
        referenced: list[dict[str, Any]] = []
        for entry in report.failures:
            identity = identities[int(entry["inputFile"]) - 1]
            exception = entry["exception"]
            code = CANNOT_UNDERSTAND if exception["exceptionType"] == "ValidationException" else PROCESSING_FAILURE
            failed.append(_failed(identity, code, exception["message"]))
        for name, response in stored.items():
            identity = identities[int(name) - 1]
            image_set = None if response["isPrimary"] else response["imageSetId"]
            referenced.append(_referenced(identity, urls, image_set, warnings.get(name, [])))
        return StoreOutcome(409 if failed else 200, _response(referenced, failed, urls, study_uid, identities))


def _parts(content_type: str, body: bytes) -> list[Part]:
    media = parse_media_type(content_type)
    if media.name == DICOM:
        return [Part(DICOM, body)]
    if media.name == MULTIPART and (media.part_type or DICOM) == DICOM:
        parts = decode(content_type, body)
        if not parts:
            raise ValidationError("The multipart body holds no part")
        return parts
    raise UnsupportedMediaTypeError(
        f'STOW-RS takes {DICOM} or {MULTIPART}; type="{DICOM}", not {content_type or "a body without Content-Type"}'
    )


def _identity(data: bytes) -> _Identity:
    """The UIDs of a file as far as its header can be read (a damaged file may yield none)."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, specific_tags=_IDENTITY_TAGS)
    except Exception:
        return _Identity(None, None, None, None)
    uids = [as_text(ds.get(keyword)) for keyword in _IDENTITY_TAGS]
    return _Identity(*uids)


def _sop_reference(identity: _Identity) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if identity.sop_class_uid:
        item["00081150"] = {"vr": "UI", "Value": [identity.sop_class_uid]}
    if identity.sop_instance_uid:
        item["00081155"] = {"vr": "UI", "Value": [identity.sop_instance_uid]}
    return item


def _failed(identity: _Identity, code: int, reason: str) -> dict[str, Any]:
    return {
        **_sop_reference(identity),
        "00081197": {"vr": "US", "Value": [code]},
        "00000902": {"vr": "LO", "Value": [reason]},
    }


def _referenced(
    identity: _Identity, urls: ResourceUrls, image_set_id: str | None, warnings: list[dict[str, Any]]
) -> dict[str, Any]:
    item = _sop_reference(identity)
    if identity.study_uid and identity.series_uid and identity.sop_instance_uid:
        url = ResourceUrls(urls.root, image_set_id).instance(
            identity.study_uid, identity.series_uid, identity.sop_instance_uid
        )
        item["00081190"] = {"vr": "UR", "Value": [url]}
    if warnings:
        item["00081196"] = {"vr": "US", "Value": [w["warning_reason_code"] for w in warnings]}
    return dict(sorted(item.items()))


def _response(
    referenced: list[dict[str, Any]],
    failed: list[dict[str, Any]],
    urls: ResourceUrls,
    study_uid: str | None,
    identities: list[_Identity],
) -> dict[str, Any]:
    studies = {identity.study_uid for identity in identities if identity.study_uid}
    study = study_uid or (next(iter(studies)) if len(studies) == 1 else None)
    response: dict[str, Any] = {}
    if study:
        response["00081190"] = {"vr": "UR", "Value": [urls.study(study)]}
    if failed:
        response["00081198"] = {"vr": "SQ", "Value": failed}
    if referenced:
        response["00081199"] = {"vr": "SQ", "Value": referenced}
    return response
