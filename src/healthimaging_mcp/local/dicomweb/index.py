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
from collections.abc import Iterable, Iterator, Mapping
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
CREATE INDEX IF NOT EXISTS ix_dicomweb_series_blob ON dicomweb_series (metadata_blob, series_uid);
CREATE TABLE IF NOT EXISTS dicomweb_instances (
    image_set_id TEXT NOT NULL, datastore_id TEXT NOT NULL, study_uid TEXT NOT NULL, series_uid TEXT NOT NULL,
    sop_uid TEXT NOT NULL, updated_at REAL NOT NULL, series_number INTEGER, instance_number INTEGER,
    sop_class_uid, instance_number_value, rows, columns, bits_allocated, number_of_frames, timezone_offset,
    PRIMARY KEY (image_set_id, series_uid, sop_uid)
);
CREATE INDEX IF NOT EXISTS ix_dicomweb_instances_series
    ON dicomweb_instances (datastore_id, study_uid, series_uid, instance_number);
CREATE TRIGGER IF NOT EXISTS dicomweb_unindex_deleted AFTER UPDATE OF state ON image_sets
WHEN NEW.state = 'DELETED' BEGIN
    DELETE FROM dicomweb_series WHERE image_set_id = NEW.id;
    DELETE FROM dicomweb_instances WHERE image_set_id = NEW.id;
END;
"""
INDEX_MARKER = "dicomweb-index-v1"

INSTANCE_COLUMNS = {
    "SOPClassUID": "sop_class_uid",
    "InstanceNumber": "instance_number_value",
    "Rows": "rows",
    "Columns": "columns",
    "BitsAllocated": "bits_allocated",
    "NumberOfFrames": "number_of_frames",
    "TimezoneOffsetFromUTC": "timezone_offset",
}
"""Instance attributes the index keeps, as the metadata has them (untyped columns); others come from documents."""
INSTANCE_KEYS = ("SOPInstanceUID", *INSTANCE_COLUMNS)
PARSED_SERIES_KEPT = 100_000


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

    @property
    def key(self) -> tuple[str, str]:
        return self.image_set_id, self.series_uid


@dataclass(frozen=True)
class StudyRow:
    """One study: the attributes of its most recently written series' image set, and what its series add up to."""

    study_uid: str
    series_count: int
    instance_count: int
    modalities: list[str]
    study: dict[str, Any]


@dataclass(frozen=True)
class InstanceRow:
    """One indexed instance; `attributes` are the ones the index keeps (INSTANCE_KEYS)."""

    row: sqlite3.Row

    @property
    def series_key(self) -> tuple[str, str]:
        return self.row["image_set_id"], self.row["series_uid"]

    @property
    def sop_uid(self) -> str:
        sop_uid: str = self.row["sop_uid"]
        return sop_uid

    @property
    def attributes(self) -> dict[str, Any]:
        row = self.row
        attributes = {key: row[column] for key, column in INSTANCE_COLUMNS.items() if row[column] is not None}
        attributes["SOPInstanceUID"] = row["sop_uid"]
        return attributes


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _scalar(value: Any) -> Any:
    """A value an untyped column can keep as it is (strings and numbers); None for anything else."""
    return value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


class DicomWebIndex:
    """Maintains and reads the index tables (created on first use in the store's SQLite file).

    Parsed series attributes are kept in memory by (metadata blob, series): a blob's content never changes, so
    a search parses each series once, not once per search.
    """

    def __init__(self, db: Database, image_sets: ImageSetStore) -> None:
        self.db = db
        self.image_sets = image_sets
        self._parsed: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
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
            blob, updated_at = row["metadata_blob"], row["updated_at"]
            self.on_write(conn, ImageSetWrite(row["datastore_id"], row["id"], document, blob, True, updated_at))
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
        ids = (write.image_set_id, write.datastore_id, study_uid)
        for series in document.series:
            conn.execute(
                "INSERT OR REPLACE INTO dicomweb_series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *ids,
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
                f"INSERT OR REPLACE INTO dicomweb_instances VALUES ({', '.join('?' * (8 + len(INSTANCE_COLUMNS)))})",
                [
                    (
                        *ids,
                        series.uid,
                        instance.sop_uid,
                        write.updated_at,
                        series.number,
                        instance.instance_number,
                        *(_scalar(instance.attributes.get(key)) for key in INSTANCE_COLUMNS),
                    )
                    for instance in series.instances
                ],
            )

    # ------------------------------------------------------------------ reads

    def series_rows(
        self, datastore_id: str, study_uid: str | None = None, series_uid: str | None = None
    ) -> list[SeriesRow]:
        """Indexed series of a datastore, newest first (optionally of one study, or one series)."""
        sql = (
            "SELECT image_set_id, study_uid, series_uid, updated_at, instance_count, metadata_blob "
            "FROM dicomweb_series WHERE datastore_id = ?"
        )
        args = [datastore_id]
        if study_uid is not None:
            sql, args = sql + " AND study_uid = ?", [*args, study_uid]
        if series_uid is not None:
            sql, args = sql + " AND series_uid = ?", [*args, series_uid]
        rows = self.db.all(sql + " ORDER BY updated_at DESC, study_uid, series_uid", *args)
        return [self._series_row(row) for row in rows]

    def _series_row(self, row: sqlite3.Row) -> SeriesRow:
        study, series = self._attributes(row["metadata_blob"], row["series_uid"])
        return SeriesRow(
            row["image_set_id"], row["study_uid"], row["series_uid"], row["updated_at"], row["instance_count"],
            study, series, row["metadata_blob"],
        )  # fmt: skip

    def study_rows(self, datastore_id: str, study_uid: str | None = None) -> list[StudyRow]:
        """Indexed studies of a datastore, most recently written first (optionally one study)."""
        sql = """SELECT study_uid, MAX(updated_at) AS updated_at, COUNT(*) AS series_count,
                        SUM(instance_count) AS instance_count, GROUP_CONCAT(DISTINCT modality) AS modalities,
                        metadata_blob, series_uid
                 FROM dicomweb_series WHERE datastore_id = ?"""
        args = [datastore_id]
        if study_uid is not None:
            sql, args = sql + " AND study_uid = ?", [*args, study_uid]
        rows = self.db.all(sql + " GROUP BY study_uid ORDER BY updated_at DESC, study_uid", *args)
        return [self._study_row(row) for row in rows]

    def _study_row(self, row: sqlite3.Row) -> StudyRow:
        modalities = sorted(row["modalities"].split(",")) if row["modalities"] else []
        study = self._attributes(row["metadata_blob"], row["series_uid"])[0]
        return StudyRow(row["study_uid"], row["series_count"], row["instance_count"], modalities, study)

    def _attributes(self, metadata_blob: str, series_uid: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(patient and study, series) attributes of an indexed series, parsed once per content."""
        key = (metadata_blob, series_uid)
        parsed = self._parsed.get(key)
        if parsed is None:
            row = self.db.one(
                """SELECT study_attributes, series_attributes FROM dicomweb_series
                   WHERE metadata_blob = ? AND series_uid = ? LIMIT 1""",
                metadata_blob,
                series_uid,
            )
            if row is None:  # dropped by a write since the first read: no attributes
                return {}, {}
            if len(self._parsed) >= PARSED_SERIES_KEPT:
                self._parsed.clear()
            parsed = self._parsed[key] = (json.loads(row[0]), json.loads(row[1]))
        return parsed

    def instance_rows(
        self,
        datastore_id: str,
        study_uid: str | None = None,
        series_uid: str | None = None,
        *,
        newest_series_first: bool = False,
        series_keys: Iterable[tuple[str, str]] | None = None,
        offset: int = 0,
        limit: int = -1,
    ) -> Iterator[InstanceRow]:
        """Indexed instances of a datastore (optionally of one study, one series, or the series `series_keys`
        name), by InstanceNumber (then study, series, SOP UID), or series by series, newest first; `offset` and
        `limit` (-1: no limit) page in that order."""
        sql, args = "SELECT * FROM dicomweb_instances WHERE datastore_id = ?", [datastore_id]
        if study_uid is not None:
            sql, args = sql + " AND study_uid = ?", [*args, study_uid]
        if series_uid is not None:
            sql, args = sql + " AND series_uid = ?", [*args, series_uid]
        if series_keys is not None:
            keys = json.dumps([f"{image_set_id}/{uid}" for image_set_id, uid in series_keys])
            sql += " AND image_set_id || '/' || series_uid IN (SELECT value FROM json_each(?))"
            args.append(keys)
        by_number = "instance_number IS NULL, instance_number, sop_uid"
        if newest_series_first:
            order = f"updated_at DESC, series_number IS NULL, series_number, study_uid, series_uid, {by_number}"
        else:
            order = f"{by_number}, study_uid, series_uid"
        for row in self.db.conn().execute(f"{sql} ORDER BY {order} LIMIT ? OFFSET ?", [*args, limit, offset]):
            yield InstanceRow(row)

    def primary_series(self, datastore_id: str, study_uid: str, series_uid: str) -> SeriesRow | None:
        """The indexed series of the primary image set holding (study, series), if any."""
        rows = self.series_rows(datastore_id, study_uid, series_uid)
        return rows[0] if rows else None
