"""The local HealthImaging backend: storage and every operation handler over one data folder, composed here."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from botocore import xform_name

from .config import LocalConfig
from .dicomweb.router import DicomWebRouter
from .http.app import Handler
from .http.auth import Caller
from .http.routes import service_model
from .imports.assembler import ImageSetAssembler
from .imports.batch import ImportReport, Loader, run_import
from .imports.jobs import ImportJobs, S3ClientFactory, default_s3_client
from .operations.datastores import DatastoreOperations
from .operations.reads import ReadOperations
from .operations.tags import TagOperations
from .operations.writes import WriteOperations
from .store.blobs import BlobStore
from .store.db import Database
from .store.image_sets import ImageSetStore
from .store.lookups import datastore_row
from .store.pending import PendingWrites


class LocalBackend:
    """The state (one SQLite file, one blob folder) and the handler groups that share it.

    Each group names its handlers as boto3 names the operations (`get_image_set` for GetImageSet) and takes
    (params, caller); `handler()` finds them by the service model's operation names.
    """

    def __init__(
        self, config: LocalConfig, s3_client: S3ClientFactory = default_s3_client, *, recover_jobs: bool = True
    ) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.data_dir / "healthimaging.sqlite3")
        self.blobs = BlobStore(config.data_dir / "blobs")
        self.image_sets = ImageSetStore(self.db, self.blobs)
        self.assembler = ImageSetAssembler(self.db, self.image_sets)
        self.datastores = DatastoreOperations(self.db, config)
        self.reads = ReadOperations(self.db, self.blobs)
        self.pending = PendingWrites(self.db, self.image_sets, config.write_seconds)
        self.writes = WriteOperations(self.db, self.image_sets, self.pending)
        self.tags = TagOperations(self.db)
        self.jobs = ImportJobs(self.db, self.blobs, self.assembler, config.import_workers, s3_client)
        self.dicomweb = DicomWebRouter(self.db, self.blobs, self.image_sets, self.assembler)
        groups = (self.datastores, self.reads, self.writes, self.tags, self.jobs)
        self._handlers: dict[str, Handler] = {
            name: self._after_settling(getattr(group, xform_name(name)))
            for name in service_model().operation_names
            for group in groups
            if hasattr(group, xform_name(name))
        }
        self.pending.settle_due()
        if recover_jobs:
            self.jobs.fail_interrupted()

    def _after_settling(self, handler: Handler) -> Handler:
        """Every request first completes the image set writes whose time has come, so it sees their outcome."""

        def settled(params: dict[str, Any], caller: Caller) -> dict[str, Any]:
            self.pending.settle_due()
            return handler(params, caller)

        return settled

    def handler(self, operation: str) -> Handler | None:
        return self._handlers.get(operation)

    def import_files(self, datastore_id: str, files: Iterable[tuple[str, Loader]]) -> ImportReport:
        """Import local files synchronously (the `local import` / `local seed` convenience)."""
        datastore = datastore_row(self.db, datastore_id)
        return run_import(self.assembler, self.blobs, datastore["id"], datastore["lossless_storage_format"], files)

    def import_paths(self, datastore_id: str, paths: Iterable[Path]) -> ImportReport:
        files: list[tuple[str, Loader]] = []
        for path in paths:
            candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            files += [(str(p), p.read_bytes) for p in candidates]
        return self.import_files(datastore_id, files)

    def close(self) -> None:
        self.jobs.shutdown()
        self.db.close()
