"""Rows every operation reads first, looked up by the IDs of a request; a missing one is the model's error."""

from __future__ import annotations

import sqlite3

from ..errors import ConflictError, NotFoundError
from .db import Database


def datastore_row(db: Database, datastore_id: str, *, require_active: bool = True) -> sqlite3.Row:
    row = db.one("SELECT * FROM datastores WHERE id = ?", datastore_id)
    if row is None or (require_active and row["status"] == "DELETED"):
        raise NotFoundError(f"Datastore {datastore_id} does not exist")
    if require_active and row["status"] != "ACTIVE":
        raise ConflictError(f"Datastore {datastore_id} is {row['status']}, not ACTIVE")
    return row


def image_set_row(db: Database, datastore_id: str, image_set_id: str, *, allow_deleted: bool = False) -> sqlite3.Row:
    datastore_row(db, datastore_id)
    row = db.one("SELECT * FROM image_sets WHERE id = ? AND datastore_id = ?", image_set_id, datastore_id)
    if row is None or (row["state"] == "DELETED" and not allow_deleted):
        raise NotFoundError(f"Image set {image_set_id} does not exist in datastore {datastore_id}")
    return row


def version_row(db: Database, image_set_id: str, version: str | int | None, latest: int) -> sqlite3.Row:
    number = latest if version is None else int(version)
    row = db.one("SELECT * FROM versions WHERE image_set_id = ? AND version = ?", image_set_id, number)
    if row is None:
        raise NotFoundError(f"Version {number} of image set {image_set_id} does not exist")
    return row
