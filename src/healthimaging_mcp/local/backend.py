"""The local HealthImaging backend: every operation handler over one data folder."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from .base import LocalConfig
from .import_run import ImportReport, Loader, run_import
from .importer import Importer
from .jobs import ImportRunner, S3ClientFactory, default_s3_client
from .ops_datastores import DatastoreOps
from .ops_jobs import JobOps
from .ops_reads import ReadOps
from .ops_tags import TagOps
from .ops_writes import WriteOps


class LocalBackend(DatastoreOps, TagOps, ReadOps, WriteOps, JobOps, Importer):
    """Handlers are named as boto3 names the operations; each takes (params, caller) and returns the output."""

    def __init__(
        self, config: LocalConfig, s3_client: S3ClientFactory = default_s3_client, *, recover_jobs: bool = True
    ) -> None:
        super().__init__(config)
        self._access_lock = threading.Lock()
        self._last_access = {}
        self.runner = ImportRunner(self, config.import_workers, s3_client)
        if recover_jobs:
            self._fail_interrupted_jobs()

    def _fail_interrupted_jobs(self) -> None:
        """Jobs a previous server left unfinished can never finish: report them FAILED.

        Only the process that runs jobs (the server) does this; a `local import` or `local seed` next to a
        running server must not touch that server's jobs.
        """
        with self.db.write() as conn:
            conn.execute(
                """UPDATE jobs SET status = 'FAILED', ended_at = ?, message = 'Interrupted by a service restart'
                   WHERE status IN ('SUBMITTED', 'IN_PROGRESS')""",
                (self.now(),),
            )

    def import_files(self, datastore_id: str, files: Iterable[tuple[str, Loader]]) -> ImportReport:
        """Import local files synchronously (the `local import` / `local seed` convenience)."""
        datastore = self.datastore_row(datastore_id)
        return run_import(self, datastore["id"], datastore["lossless_storage_format"], files)

    def import_paths(self, datastore_id: str, paths: Iterable[Path]) -> ImportReport:
        files: list[tuple[str, Loader]] = []
        for path in paths:
            candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            files += [(str(p), p.read_bytes) for p in candidates]
        return self.import_files(datastore_id, files)

    def close(self) -> None:
        self.runner.shutdown()
        super().close()
