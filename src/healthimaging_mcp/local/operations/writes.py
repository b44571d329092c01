"""UpdateImageSetMetadata, CopyImageSet, DeleteImageSet.

Each write is stored at once and then held LOCKED (UPDATING / COPYING / DELETING) for the configured write
time (`pending`), as the service's asynchronous writes are; the response reports that in-flight state, and
other writes to a LOCKED image set are refused with a conflict until it completes.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ...dicom.merge import merge_documents, select_instances
from ...dicom.patch import apply_updates
from ...dicom.patch_rules import PatchError
from ..errors import ConflictError, QuotaExceededError, ValidationError, model_message
from ..http.auth import Caller
from ..store.db import Database, current_time
from ..store.image_sets import BulkByInstance, FrameRecord, ImageSetStore
from ..store.lookups import datastore_row, image_set_row, version_row
from ..store.pending import DELETION, PendingWrites

MAX_FRAMES_PER_COPY = 1000


def _frame_ids(document: dict[str, Any]) -> list[str]:
    return [
        frame["ID"]
        for series in document.get("Study", {}).get("Series", {}).values()
        for instance in series.get("Instances", {}).values()
        for frame in instance.get("ImageFrames", [])
    ]


def _sop_uids(document: dict[str, Any]) -> list[str]:
    return [
        sop_uid
        for series in document.get("Study", {}).get("Series", {}).values()
        for sop_uid in series.get("Instances", {})
    ]


def _json_document(raw: bytes, name: str) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationError(f"{name} must be a JSON document") from None
    if not isinstance(document, dict):
        raise ValidationError(f"{name} must be a JSON object")
    return document


def _study_level(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The Patient and Study attributes of an update document (what other image sets of the study receive)."""
    if document is None:
        return None
    shared: dict[str, Any] = {}
    if document.get("Patient"):
        shared["Patient"] = document["Patient"]
    study_dicom = (document.get("Study") or {}).get("DICOM")
    if study_dicom:
        shared["Study"] = {"DICOM": study_dicom}
    if not shared:
        return None
    return {"SchemaVersion": document["SchemaVersion"], **shared} if "SchemaVersion" in document else shared


def _check_version(row: sqlite3.Row, claimed: str, what: str) -> None:
    if str(row["latest_version"]) != claimed:
        raise ConflictError(
            f"{what} {row['id']} is at version {row['latest_version']}, not {claimed}; "
            "read the image set again and retry with its latest version"
        )


def _check_unlocked(row: sqlite3.Row, what: str) -> None:
    if row["state"] == "LOCKED":
        raise ConflictError(
            f"{what} {row['id']} is LOCKED ({row['workflow_status']}): another write is in progress; "
            "wait until it is ACTIVE again"
        )


def _properties(row: sqlite3.Row, version: int, workflow: str, now: float) -> dict[str, Any]:
    return {
        "imageSetId": row["id"],
        "latestVersionId": str(version),
        "imageSetState": "LOCKED",
        "imageSetWorkflowStatus": workflow,
        "createdAt": row["created_at"],
        "updatedAt": now,
        "imageSetArn": row["arn"],
    }


class WriteOperations:
    def __init__(self, db: Database, image_sets: ImageSetStore, pending: PendingWrites) -> None:
        self.db = db
        self.image_sets = image_sets
        self.pending = pending

    def update_image_set_metadata(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        row = image_set_row(self.db, p["datastoreId"], p["imageSetId"])
        _check_version(row, p["latestVersionId"], "Image set")
        _check_unlocked(row, "Image set")
        updates = p["updateImageSetMetadataUpdates"]
        force, whole_study = p.get("force", False), p.get("includeStudyImageSets", False)
        if "revertToVersionId" in updates:
            if whole_study:
                raise ValidationError("includeStudyImageSets cannot be combined with revertToVersionId")
            source = version_row(self.db, row["id"], updates["revertToVersionId"], row["latest_version"])
            targets = [(row, self.image_sets.load_document(row["id"], int(source["version"])))]
        else:
            dicom = updates["DICOMUpdates"]
            if not dicom.get("updatableAttributes") and not dicom.get("removableAttributes"):
                raise ValidationError("DICOMUpdates needs updatableAttributes or removableAttributes")
            updatable = (
                _json_document(dicom["updatableAttributes"], "updatableAttributes")
                if dicom.get("updatableAttributes")
                else None
            )
            removable = (
                _json_document(dicom["removableAttributes"], "removableAttributes")
                if dicom.get("removableAttributes")
                else None
            )
            rows = [row]
            if whole_study:
                rows += [
                    r
                    for r in self.db.all(
                        """SELECT * FROM image_sets WHERE datastore_id = ? AND study_uid = ? AND is_primary = 1
                           AND state = 'ACTIVE' AND id != ?""",
                        row["datastore_id"],
                        row["study_uid"],
                        row["id"],
                    )
                ]
            targets = []
            for target in rows:
                mine = target["id"] == row["id"]
                changes = (updatable, removable) if mine else (_study_level(updatable), _study_level(removable))
                if changes == (None, None):
                    continue
                current = self.image_sets.load_document(target["id"], int(target["latest_version"]))
                try:
                    targets.append((target, apply_updates(current, *changes, force=force)))
                except PatchError as exc:
                    raise ValidationError(
                        str(exc) if mine else f"image set {target['id']} of the study: {exc}"
                    ) from None
        now = current_time()
        with self.db.write() as conn:
            versions = [
                self.image_sets.add_version(conn, target, document, workflow_status="UPDATED", now=now, forced=force)
                for target, document in targets
            ]
            for (target, _), version in zip(targets, versions, strict=True):
                self.pending.hold(conn, target["id"], version, "UPDATING")
        self.pending.settle_due()  # without a write time the update is complete before the response
        return {
            "datastoreId": row["datastore_id"],
            "imageSetId": row["id"],
            "latestVersionId": str(versions[0]),
            "imageSetState": "LOCKED",
            "imageSetWorkflowStatus": "UPDATING",
            "createdAt": row["created_at"],
            "updatedAt": now,
        }

    def copy_image_set(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        source = image_set_row(self.db, p["datastoreId"], p["sourceImageSetId"])
        info = p["copyImageSetInformation"]
        _check_version(source, info["sourceImageSet"]["latestVersionId"], "Source image set")
        _check_unlocked(source, "Source image set")
        force, promote = p.get("force", False), p.get("promoteToPrimary", False)
        copiable_raw = info["sourceImageSet"].get("DICOMCopies", {}).get("copiableAttributes")
        copiable = _json_document(copiable_raw.encode(), "copiableAttributes") if copiable_raw else None
        try:
            subset = select_instances(
                self.image_sets.load_document(source["id"], int(source["latest_version"])), copiable
            )
        except PatchError as exc:
            raise ValidationError(str(exc)) from None
        frame_ids = _frame_ids(subset)
        if len(frame_ids) > MAX_FRAMES_PER_COPY:
            raise QuotaExceededError(
                f"A copy may carry at most {MAX_FRAMES_PER_COPY} image frames; this one has {len(frame_ids)}. "
                "Select fewer instances with copiableAttributes"
            )
        frames = self.image_sets.frame_records(source["id"], frame_ids)
        bulk = self.image_sets.bulk_records(source["id"], _sop_uids(subset))
        destination = self._copy_destination(source, info.get("destinationImageSet"), subset, promote)
        # the destination's own large values of the instances the copy replaces (purged once unreferenced)
        replaced = [] if destination is None else self.image_sets.bulk_blobs(destination["id"], bulk)
        now = current_time()
        datastore = datastore_row(self.db, p["datastoreId"])
        with self.db.write() as conn:
            if destination is None:
                destination_id = self.image_sets.insert_image_set(
                    conn, datastore, subset, frames, is_primary=promote, workflow_status="COPIED", now=now, bulk=bulk
                )
                version = 1
            else:
                version = self._copy_into(
                    conn, destination, subset, frames, bulk, force=force, promote=promote, now=now
                )
                destination_id = destination["id"]
            self.pending.hold(conn, destination_id, version, "COPYING")
            self.pending.hold(conn, source["id"], int(source["latest_version"]), "COPYING_WITH_READ_ONLY_ACCESS")
        self.image_sets.purge_unreferenced(replaced)
        self.pending.settle_due()
        destination_row = image_set_row(self.db, p["datastoreId"], destination_id)
        return {
            "datastoreId": source["datastore_id"],
            "sourceImageSetProperties": _properties(
                source, int(source["latest_version"]), "COPYING_WITH_READ_ONLY_ACCESS", now
            ),
            "destinationImageSetProperties": _properties(destination_row, version, "COPYING", now),
        }

    def _copy_into(
        self,
        conn: sqlite3.Connection,
        destination: sqlite3.Row,
        subset: dict[str, Any],
        frames: list[FrameRecord],
        bulk: BulkByInstance,
        *,
        force: bool,
        promote: bool,
        now: float,
    ) -> int:
        """Merge `subset` into an existing image set; a mismatch fails the copy the way the service does.

        The service accepts such a copy and fails it asynchronously: the destination gets a COPY_FAILED
        version (content unchanged) whose `message` gives the reason.
        """
        current = self.image_sets.load_document(destination["id"], int(destination["latest_version"]))
        try:
            merged = merge_documents(current, subset, force=force)
        except PatchError as exc:
            return self.image_sets.add_version(
                conn,
                destination,
                current,
                workflow_status="COPY_FAILED",
                now=now,
                forced=force,
                message=model_message(f"INVALID_REQUEST: {exc}"),
            )
        return self.image_sets.add_version(
            conn,
            destination,
            merged,
            frames,
            workflow_status="COPIED",
            now=now,
            forced=force,
            is_primary=True if promote else None,
            bulk=bulk,
        )

    def _copy_destination(
        self, source: sqlite3.Row, requested: dict[str, Any] | None, subset: dict[str, Any], promote: bool
    ) -> sqlite3.Row | None:
        """The existing destination row, or None for a new image set (primary when promoting)."""
        primary = self._series_primary(source["datastore_id"], subset) if promote else None
        if primary is not None and primary["id"] == source["id"]:
            raise ValidationError(
                f"Image set {source['id']} is already the primary image set of its series; "
                "promoteToPrimary applies to non-primary image sets"
            )
        if requested is None:
            return primary
        destination = image_set_row(self.db, source["datastore_id"], requested["imageSetId"])
        _check_version(destination, requested["latestVersionId"], "Destination image set")
        _check_unlocked(destination, "Destination image set")
        if destination["id"] == source["id"]:
            raise ValidationError("The destination image set must differ from the source")
        if primary is not None and primary["id"] != destination["id"]:
            raise ValidationError(
                f"The series already has the primary image set {primary['id']}; "
                "copy into it (or omit the destination) to promote"
            )
        return destination

    def _series_primary(self, datastore_id: str, subset: dict[str, Any]) -> sqlite3.Row | None:
        study = subset.get("Study", {})
        study_uid = study.get("DICOM", {}).get("StudyInstanceUID")
        series_uid = next(iter(study.get("Series", {})), None)
        if not study_uid or not series_uid:
            return None
        return self.image_sets.primary_for(datastore_id, study_uid, series_uid)

    def delete_image_set(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        row = image_set_row(self.db, p["datastoreId"], p["imageSetId"], allow_deleted=True)
        if row["state"] == "DELETED":
            return {
                "datastoreId": row["datastore_id"],
                "imageSetId": row["id"],
                "imageSetState": "DELETED",
                "imageSetWorkflowStatus": "DELETED",
            }
        _check_unlocked(row, "Image set")
        with self.db.write() as conn:
            self.pending.hold(conn, row["id"], int(row["latest_version"]), "DELETING", DELETION)
        self.pending.settle_due()
        return {
            "datastoreId": row["datastore_id"],
            "imageSetId": row["id"],
            "imageSetState": "LOCKED",
            "imageSetWorkflowStatus": "DELETING",
        }
