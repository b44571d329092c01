"""SQLite (WAL) persistence: schema and a thread-safe connection with explicit write transactions."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS datastores (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, arn TEXT NOT NULL,
    kms_key_arn TEXT, lambda_authorizer_arn TEXT, lossless_storage_format TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, client_token TEXT, request_fingerprint TEXT
);
CREATE TABLE IF NOT EXISTS image_sets (
    id TEXT PRIMARY KEY, datastore_id TEXT NOT NULL, arn TEXT NOT NULL, is_primary INTEGER NOT NULL,
    state TEXT NOT NULL, workflow_status TEXT NOT NULL, latest_version INTEGER NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, deleted_at REAL, last_accessed_at REAL, message TEXT,
    study_uid TEXT, series_uid TEXT, patient_id TEXT, accession_number TEXT, study_id TEXT,
    study_date_time TEXT, dicom_tags TEXT NOT NULL, hierarchy TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_image_sets_updated ON image_sets (datastore_id, updated_at, id);
CREATE INDEX IF NOT EXISTS ix_image_sets_series ON image_sets (datastore_id, study_uid, series_uid);
CREATE INDEX IF NOT EXISTS ix_image_sets_patient ON image_sets (datastore_id, patient_id);
CREATE TABLE IF NOT EXISTS versions (
    image_set_id TEXT NOT NULL, version INTEGER NOT NULL, metadata_blob TEXT NOT NULL,
    state TEXT NOT NULL, workflow_status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL,
    message TEXT, forced INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (image_set_id, version)
);
CREATE TABLE IF NOT EXISTS frames (
    image_set_id TEXT NOT NULL, frame_id TEXT NOT NULL, blob TEXT NOT NULL, stored_syntax TEXT,
    PRIMARY KEY (image_set_id, frame_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_frames_blob ON frames (blob);
CREATE TABLE IF NOT EXISTS bulk_data (
    image_set_id TEXT NOT NULL, sop_uid TEXT NOT NULL, path TEXT NOT NULL, blob TEXT NOT NULL,
    length INTEGER NOT NULL,
    PRIMARY KEY (image_set_id, sop_uid, path)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_bulk_data_blob ON bulk_data (blob);
CREATE INDEX IF NOT EXISTS ix_versions_blob ON versions (metadata_blob);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, datastore_id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    role_arn TEXT NOT NULL, input_uri TEXT NOT NULL, output_uri TEXT NOT NULL, job_output_uri TEXT NOT NULL,
    submitted_at REAL NOT NULL, ended_at REAL, message TEXT, client_token TEXT, request_fingerprint TEXT,
    import_configuration TEXT, input_owner_account_id TEXT
);
CREATE INDEX IF NOT EXISTS ix_jobs_datastore ON jobs (datastore_id, submitted_at, id);
CREATE TABLE IF NOT EXISTS local_markers (
    name TEXT PRIMARY KEY, value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_writes (
    image_set_id TEXT NOT NULL, version INTEGER NOT NULL, due REAL NOT NULL,
    final_state TEXT NOT NULL, final_status TEXT NOT NULL,
    PRIMARY KEY (image_set_id, version)
);
CREATE INDEX IF NOT EXISTS ix_pending_writes_due ON pending_writes (due);
CREATE TABLE IF NOT EXISTS tags (
    resource_arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
);
"""


def current_time() -> float:
    """The current time as rows store it and the API reports it: epoch seconds, to the millisecond."""
    return round(time.time(), 3)


class Database:
    """One SQLite connection per thread; writes go through `write()` (BEGIN IMMEDIATE, serialised)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._all: list[sqlite3.Connection] = []
        with self._write_lock:
            self.conn().executescript(SCHEMA)

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._write_lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._write_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all or nothing, one writer at a time."""
        conn = self.conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def one(self, sql: str, *args: object) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn().execute(sql, args).fetchone()
        return row

    def all(self, sql: str, *args: object) -> list[sqlite3.Row]:
        return self.conn().execute(sql, args).fetchall()
