"""Image sets in storage: documents per version, frames, large binary values, search columns, primary hierarchy.

Every change is one SQLite transaction that writes the new version row, the image set row and its frame
and bulk data rows together; blobs are written (content-addressed) before the transaction, so a crash leaves at most
unreferenced blob files, never a half image set.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ...dicom.key_elements import hierarchy_key_elements
from ...dicom.search_tags import dicom_tags_summary
from ..errors import ConflictError
from .arns import image_set_arn, new_id
from .blobs import BlobStore
from .db import Database


@dataclass(frozen=True)
class FrameRecord:
    frame_id: str
    blob: str
    stored_syntax: str | None


@dataclass(frozen=True)
class BulkRecord:
    """A binary value of an instance kept outside the metadata (over 1 MiB, as HealthImaging keeps them).

    `path` is the attribute's DICOMweb bulk data path (8-hex tag, with ``<sequence tag>/<item>/`` steps).
    """

    path: str
    blob: str
    length: int


BulkByInstance = Mapping[str, Sequence[BulkRecord]]
"""The large binary values of instances, by SOP Instance UID. In a write, each instance listed gets exactly
these (an empty list: none), replacing what it had; instances not listed keep theirs."""


def study_date_time(tags: dict[str, Any]) -> str | None:
    """Sortable `YYYYMMDDHHMMSS` form of the study date and time, or None without a date."""
    date = (tags.get("DICOMStudyDate") or "").strip()
    if not date:
        return None
    time = (tags.get("DICOMStudyTime") or "").split(".")[0].strip()
    return date[:8] + time.ljust(6, "0")[:6]


def index_columns(document: dict[str, Any]) -> dict[str, Any]:
    tags = dicom_tags_summary(document)
    series = document.get("Study", {}).get("Series", {})
    return {
        "study_uid": tags.get("DICOMStudyInstanceUID"),
        "series_uid": tags.get("DICOMSeriesInstanceUID") or next(iter(series), None),
        "patient_id": tags.get("DICOMPatientId"),
        "accession_number": tags.get("DICOMAccessionNumber"),
        "study_id": tags.get("DICOMStudyId"),
        "study_date_time": study_date_time(tags),
        "dicom_tags": json.dumps(tags, separators=(",", ":")),
        "hierarchy": json.dumps(hierarchy_key_elements(document), sort_keys=True),
    }


@dataclass(frozen=True)
class ImageSetWrite:
    """One committed image set version, as write observers see it (inside the write's transaction)."""

    datastore_id: str
    image_set_id: str
    document: dict[str, Any]
    metadata_blob: str
    is_primary: bool
    updated_at: float


WriteObserver = Callable[[sqlite3.Connection, ImageSetWrite], None]
"""Keeps derived state (e.g. the DICOMweb search index) in step: runs in each image set write's transaction,
so what it writes commits or rolls back with the image set."""

WriteFault = Callable[[sqlite3.Connection, str], None]
"""A storage fault hook (tests): runs inside each image set write once all its rows are written, with the
connection and the image set ID; whatever it raises rolls the write back, as a failing disk would."""


def encode_document(document: dict[str, Any]) -> bytes:
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0)


def read_document(blobs: BlobStore, metadata_blob: str) -> dict[str, Any]:
    """The image set document stored (by `encode_document`) under the blob key `metadata_blob`."""
    document: dict[str, Any] = json.loads(gzip.decompress(blobs.get(metadata_blob)))
    return document


class ImageSetStore:
    """Image set documents (one gzip blob per version), their frames and their search columns."""

    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs
        self.write_fault: WriteFault | None = None  # set through `faulting`
        self.observers: list[WriteObserver] = []

    @contextmanager
    def faulting(self, hook: WriteFault) -> Iterator[None]:
        """Run the storage fault hook `hook` in every image set write of the block (tests); removed on leaving."""
        self.write_fault = hook
        try:
            yield
        finally:
            self.write_fault = None

    def load_document(self, image_set_id: str, version: int) -> dict[str, Any]:
        row = self.db.one(
            "SELECT metadata_blob FROM versions WHERE image_set_id = ? AND version = ?", image_set_id, version
        )
        if row is None:
            raise KeyError(f"{image_set_id} v{version}")
        return read_document(self.blobs, row["metadata_blob"])

    def insert_image_set(
        self,
        conn: sqlite3.Connection,
        datastore: sqlite3.Row,
        document: dict[str, Any],
        frames: Iterable[FrameRecord],
        *,
        is_primary: bool,
        workflow_status: str,
        now: float,
        bulk: BulkByInstance | None = None,
    ) -> str:
        image_set_id = new_id()
        blob, columns = self._store_document(document, datastore["id"], image_set_id)
        conn.execute(
            """INSERT INTO image_sets (id, datastore_id, arn, is_primary, state, workflow_status, latest_version,
                   created_at, updated_at, study_uid, series_uid, patient_id, accession_number, study_id,
                   study_date_time, dicom_tags, hierarchy)
               VALUES (?, ?, ?, ?, 'ACTIVE', ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                image_set_id,
                datastore["id"],
                image_set_arn(datastore["arn"], image_set_id),
                int(is_primary),
                workflow_status,
                now,
                now,
                *columns.values(),
            ),
        )
        conn.execute(
            "INSERT INTO versions VALUES (?, 1, ?, 'ACTIVE', ?, ?, NULL, NULL, 0)",
            (image_set_id, blob, workflow_status, now),
        )
        self._notify(conn, ImageSetWrite(datastore["id"], image_set_id, document, blob, is_primary, now))
        self._add_rows(conn, image_set_id, frames, bulk)
        return image_set_id

    def add_version(
        self,
        conn: sqlite3.Connection,
        image_set: sqlite3.Row,
        document: dict[str, Any],
        frames: Iterable[FrameRecord] = (),
        *,
        workflow_status: str,
        now: float,
        forced: bool = False,
        is_primary: bool | None = None,
        message: str | None = None,
        bulk: BulkByInstance | None = None,
    ) -> int:
        """Write `document` as the next version of `image_set` (whose row must be current).

        Frames and large binary values belong to the image set, not to a version: a version keeps those of its
        instances (an update changes no binary value), and `bulk` replaces those of re-imported or copied ones.
        """
        version = int(image_set["latest_version"]) + 1
        blob, columns = self._store_document(document, image_set["datastore_id"], image_set["id"])
        primary = image_set["is_primary"] if is_primary is None else int(is_primary)
        changed = conn.execute(
            f"""UPDATE image_sets SET latest_version = ?, workflow_status = ?, updated_at = ?, state = 'ACTIVE',
                   message = ?, is_primary = ?, {", ".join(f"{name} = ?" for name in columns)}
               WHERE id = ? AND latest_version = ?""",
            (version, workflow_status, now, message, primary, *columns.values(), image_set["id"], version - 1),
        ).rowcount
        if changed != 1:
            raise ConflictError(f"Image set {image_set['id']} changed while this request ran; read it again and retry")
        conn.execute(
            "INSERT INTO versions VALUES (?, ?, ?, 'ACTIVE', ?, ?, ?, ?, ?)",
            (image_set["id"], version, blob, workflow_status, image_set["created_at"], now, message, int(forced)),
        )
        write = ImageSetWrite(image_set["datastore_id"], image_set["id"], document, blob, bool(primary), now)
        self._notify(conn, write)
        self._add_rows(conn, image_set["id"], frames, bulk)
        return version

    def _store_document(
        self, document: dict[str, Any], datastore_id: str, image_set_id: str
    ) -> tuple[str, dict[str, Any]]:
        """The blob key of `document` (stamped with its IDs) and the image set columns it sets."""
        document = {**document, "DatastoreID": datastore_id, "ImageSetID": image_set_id}
        return self.blobs.put(encode_document(document)), index_columns(document)

    def _notify(self, conn: sqlite3.Connection, write: ImageSetWrite) -> None:
        for observer in self.observers:
            observer(conn, write)

    def _add_rows(
        self,
        conn: sqlite3.Connection,
        image_set_id: str,
        frames: Iterable[FrameRecord],
        bulk: BulkByInstance | None,
    ) -> None:
        """The last rows of an image set write (frames, large binary values); then the fault hook, if a test set one."""
        conn.executemany(
            "INSERT OR REPLACE INTO frames VALUES (?, ?, ?, ?)",
            [(image_set_id, f.frame_id, f.blob, f.stored_syntax) for f in frames],
        )
        bulk = bulk or {}
        conn.executemany(
            "DELETE FROM bulk_data WHERE image_set_id = ? AND sop_uid = ?", [(image_set_id, uid) for uid in bulk]
        )
        conn.executemany(
            "INSERT INTO bulk_data VALUES (?, ?, ?, ?, ?)",
            [(image_set_id, uid, r.path, r.blob, r.length) for uid, records in bulk.items() for r in records],
        )
        if self.write_fault is not None:
            self.write_fault(conn, image_set_id)

    def frame_records(self, image_set_id: str, frame_ids: Iterable[str] | None = None) -> list[FrameRecord]:
        rows = self.db.all("SELECT frame_id, blob, stored_syntax FROM frames WHERE image_set_id = ?", image_set_id)
        wanted = None if frame_ids is None else set(frame_ids)
        return [
            FrameRecord(r["frame_id"], r["blob"], r["stored_syntax"])
            for r in rows
            if wanted is None or r["frame_id"] in wanted
        ]

    def bulk_records(self, image_set_id: str, sop_uids: Iterable[str] | None = None) -> dict[str, list[BulkRecord]]:
        """The large binary values of the image set's instances (all, or those of `sop_uids`), by SOP UID;
        every instance asked for is a key, an empty list when it has none."""
        wanted = None if sop_uids is None else set(sop_uids)
        found: dict[str, list[BulkRecord]] = {uid: [] for uid in wanted or ()}
        rows = self.db.all("SELECT sop_uid, path, blob, length FROM bulk_data WHERE image_set_id = ?", image_set_id)
        for r in rows:
            if wanted is None or r["sop_uid"] in wanted:
                found.setdefault(r["sop_uid"], []).append(BulkRecord(r["path"], r["blob"], int(r["length"])))
        return found

    def bulk_blobs(self, image_set_id: str, sop_uids: Iterable[str]) -> list[str]:
        """The blobs of the large binary values of some instances of the image set (to purge once replaced)."""
        return [record.blob for records in self.bulk_records(image_set_id, sop_uids).values() for record in records]

    def primary_for(self, datastore_id: str, study_uid: str, series_uid: str) -> sqlite3.Row | None:
        """The primary image set of a series (inside a write transaction of this thread: as that sees it)."""
        return self.db.one(
            """SELECT * FROM image_sets WHERE datastore_id = ? AND study_uid = ? AND series_uid = ?
               AND is_primary = 1 AND state != 'DELETED'""",
            datastore_id,
            study_uid,
            series_uid,
        )

    def purge_unreferenced(self, blobs: Iterable[str]) -> None:
        """Delete blob files no frame, bulk data value or version refers to any more (after an image set is deleted
        or an instance's large values were replaced)."""
        for key in set(blobs):
            in_frames = self.db.one("SELECT 1 FROM frames WHERE blob = ? LIMIT 1", key)
            in_bulk_data = self.db.one("SELECT 1 FROM bulk_data WHERE blob = ? LIMIT 1", key)
            in_versions = self.db.one("SELECT 1 FROM versions WHERE metadata_blob = ? LIMIT 1", key)
            if in_frames is None and in_bulk_data is None and in_versions is None:
                self.blobs.delete(key)
