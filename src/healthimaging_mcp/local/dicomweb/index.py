"""The DICOMweb search index: one row per series and per instance of the latest version of each primary image set.

QIDO-RS sees primary image sets only, and only their latest version. The image set store tells the index about
every version it writes (import, STOW, update, copy) inside the same transaction, so the index can never
disagree with the committed data; a trigger drops the rows of an image set when it is deleted. A data folder
made before the index existed is indexed once when the service opens it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ...dicom.document import ImageSetDocument
from ...dicom.values import as_text
from ..store.db import Database
from ..store.image_sets import ImageSetStore, ImageSetWrite

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS dicomweb_series (
    image_set_id TEXT NOT NULL, datastore_id TEXT NOT NULL, study_uid TEXT NOT NULL, series_uid TEXT NOT NULL,
    updated_at REAL NOT NULL, series_number INTEGER, modality TEXT, instance_count INTEGER NOT NULL,
    study_attributes TEXT NOT NULL, series_attributes TEXT NOT NULL, metadata_blob TEXT NOT NULL,
    PRIMARY KEY (image_set_id, series_uid)
);
CREATE INDEX IF NOT EXISTS ix_dicomweb_series_study ON dicomweb_series (datastore_id, study_uid, series_uid);
CREATE TABLE IF NOT EXISTS dicomweb_instances (
    image_set_id TEXT NOT NULL, datastore_id TEXT NOT NULL, study_uid TEXT NOT NULL, series_uid TEXT NOT NULL,
    sop_uid TEXT NOT NULL, instance_number INTEGER, attributes TEXT NOT NULL,
    PRIMARY KEY (image_set_id, series_uid, sop_uid)
);
CREATE INDEX IF NOT EXISTS ix_dicomweb_instances_series
    ON dicomweb_instances (datastore_id, study_uid, series_uid, instance_number);
CREATE INDEX IF NOT EXISTS ix_dicomweb_instances_number ON dicomweb_instances (datastore_id, instance_number);
CREATE TRIGGER IF NOT EXISTS dicomweb_unindex_deleted AFTER UPDATE OF state ON image_sets
WHEN NEW.state = 'DELETED' BEGIN
    DELETE FROM dicomweb_series WHERE image_set_id = NEW.id;
    DELETE FROM dicomweb_instances WHERE image_set_id = NEW.id;
END;
"""
INDEX_MARKER = "dicomweb-index-v1"

INSTANCE_KEYS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceNumber",
    "Rows",
    "Columns",
    "BitsAllocated",
    "NumberOfFrames",
    "TimezoneOffsetFromUTC",
)
"""The instance attributes the index keeps (QIDO's default instance answer); others are read from documents."""


@dataclass(frozen=True)
class SeriesRow:
    """One indexed series: its study's patient and study attributes, its own, and where its document is."""

    image_set_id: str
    study_uid: str
    series_uid: str
    updated_at: float
    instance_count: int
    study: dict[str, Any]
    series: dict[str, Any]
    metadata_blob: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> SeriesRow:
        return cls(
            row["image_set_id"],
            row["study_uid"],
            row["series_uid"],
            row["updated_at"],
            row["instance_count"],
            json.loads(row["study_attributes"]),
            json.loads(row["series_attributes"]),
            row["metadata_blob"],
        )


@dataclass(frozen=True)
class InstanceRow:
    image_set_id: str
    series_uid: str
    sop_uid: str
    attributes: dict[str, Any]


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class DicomWebIndex:
    """Maintains and reads the index tables (created on first use in the store's SQLite file)."""

    def __init__(self, db: Database, image_sets: ImageSetStore) -> None:
        self.db = db
        self.image_sets = image_sets
        db.conn().executescript(SCHEMA)
        with db.write() as conn:
            indexed = conn.execute("SELECT 1 FROM local_markers WHERE name = ?", (INDEX_MARKER,)).fetchone()
            if indexed is None:
                self._index_existing(conn)
                conn.execute("INSERT OR REPLACE INTO local_markers VALUES (?, '1')", (INDEX_MARKER,))
        image_sets.observers.append(self.on_write)

    def _index_existing(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute(
            """SELECT i.id, i.datastore_id, i.updated_at, i.latest_version, v.metadata_blob FROM image_sets i
               JOIN versions v ON v.image_set_id = i.id AND v.version = i.latest_version
               WHERE i.is_primary = 1 AND i.state != 'DELETED'"""
        ).fetchall()
        for row in rows:
            document = self.image_sets.load_document(row["id"], int(row["latest_version"]))
            write = ImageSetWrite(
                row["datastore_id"], row["id"], document, row["metadata_blob"], True, row["updated_at"]
            )
            self.on_write(conn, write)
        if rows:
            log.info("indexed %d image set(s) for DICOMweb search", len(rows))

    def on_write(self, conn: sqlite3.Connection, write: ImageSetWrite) -> None:
        """Replace the rows of an image set by those of the version just written (none when not primary)."""
        conn.execute("DELETE FROM dicomweb_series WHERE image_set_id = ?", (write.image_set_id,))
        conn.execute("DELETE FROM dicomweb_instances WHERE image_set_id = ?", (write.image_set_id,))
        if not write.is_primary:
            return
        document = ImageSetDocument.from_json(write.document)
        study = _json({**document.patient, **document.study})
        study_uid = as_text(document.study.get("StudyInstanceUID")) or ""
        for series in document.series:
            conn.execute(
                "INSERT OR REPLACE INTO dicomweb_series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    write.image_set_id,
                    write.datastore_id,
                    study_uid,
                    series.uid,
                    write.updated_at,
                    series.number,
                    series.modality,
                    len(series.instances),
                    study,
                    _json(series.attributes),
                    write.metadata_blob,
                ),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO dicomweb_instances VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        write.image_set_id,
                        write.datastore_id,
                        study_uid,
                        series.uid,
                        instance.sop_uid,
                        instance.instance_number,
                        _json({key: instance.attributes[key] for key in INSTANCE_KEYS if key in instance.attributes}),
                    )
                    for instance in series.instances
                ],
            )

    # ------------------------------------------------------------------ reads

    def series_rows(
        self, datastore_id: str, study_uid: str | None = None, series_uid: str | None = None
    ) -> list[SeriesRow]:
        """Indexed series of a datastore, newest first (optionally of one study, or one series)."""
        sql, args = "SELECT * FROM dicomweb_series WHERE datastore_id = ?", [datastore_id]
        if study_uid is not None:
            sql, args = sql + " AND study_uid = ?", [*args, study_uid]
        if series_uid is not None:
            sql, args = sql + " AND series_uid = ?", [*args, series_uid]
        rows = self.db.all(sql + " ORDER BY updated_at DESC, study_uid, series_uid", *args)
        return [SeriesRow.from_row(row) for row in rows]

    def instance_rows(
        self, datastore_id: str, study_uid: str | None = None, series_uid: str | None = None
    ) -> Iterator[InstanceRow]:
        """Indexed instances of a datastore (optionally of one study or one series), in no particular order."""
        sql, args = (
            "SELECT image_set_id, series_uid, sop_uid, attributes FROM dicomweb_instances WHERE datastore_id = ?",
            [datastore_id],
        )
        if study_uid is not None:
            sql, args = sql + " AND study_uid = ?", [*args, study_uid]
        if series_uid is not None:
            sql, args = sql + " AND series_uid = ?", [*args, series_uid]
        for row in self.db.conn().execute(sql, args):
            yield InstanceRow(row["image_set_id"], row["series_uid"], row["sop_uid"], json.loads(row["attributes"]))

    def primary_series(self, datastore_id: str, study_uid: str, series_uid: str) -> SeriesRow | None:
        """The indexed series of the primary image set holding (study, series), if any."""
        rows = self.series_rows(datastore_id, study_uid, series_uid)
        return rows[0] if rows else None
