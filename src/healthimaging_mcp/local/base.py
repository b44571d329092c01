"""State shared by the operation handlers: storage, configuration and lookups that raise model errors."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .arns import LOCAL_ACCOUNT_ID
from .blobs import BlobStore
from .db import Database
from .errors import ConflictError, NotFoundError

MAX_DATASTORES = 10


@dataclass(frozen=True)
class LocalConfig:
    data_dir: Path
    default_region: str = "us-east-1"
    account_id: str = LOCAL_ACCOUNT_ID
    import_workers: int = 2


class BackendBase:
    def __init__(self, config: LocalConfig) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.data_dir / "healthimaging.sqlite3")
        self.blobs = BlobStore(config.data_dir / "blobs")

    @staticmethod
    def now() -> float:
        return round(time.time(), 3)

    def datastore_row(self, datastore_id: str, *, require_active: bool = True) -> sqlite3.Row:
        row = self.db.one("SELECT * FROM datastores WHERE id = ?", datastore_id)
        if row is None or (require_active and row["status"] == "DELETED"):
            raise NotFoundError(f"Datastore {datastore_id} does not exist")
        if require_active and row["status"] != "ACTIVE":
            raise ConflictError(f"Datastore {datastore_id} is {row['status']}, not ACTIVE")
        return row

    def image_set_row(self, datastore_id: str, image_set_id: str, *, allow_deleted: bool = False) -> sqlite3.Row:
        self.datastore_row(datastore_id)
        row = self.db.one("SELECT * FROM image_sets WHERE id = ? AND datastore_id = ?", image_set_id, datastore_id)
        if row is None or (row["state"] == "DELETED" and not allow_deleted):
            raise NotFoundError(f"Image set {image_set_id} does not exist in datastore {datastore_id}")
        return row

    def version_row(self, image_set_id: str, version: str | int | None, latest: int) -> sqlite3.Row:
        number = latest if version is None else int(version)
        row = self.db.one("SELECT * FROM versions WHERE image_set_id = ? AND version = ?", image_set_id, number)
        if row is None:
            raise NotFoundError(f"Version {number} of image set {image_set_id} does not exist")
        return row

    def close(self) -> None:
        self.db.close()
