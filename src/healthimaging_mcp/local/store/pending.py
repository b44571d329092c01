"""Image set writes that finish later, as HealthImaging's do: LOCKED (UPDATING, COPYING, DELETING) until done.

A write stores its result at once (its final state and status included); `hold` then makes the version it
made or touched LOCKED with the in-progress workflow status and records when and how it completes.
`settle_due`, run before every request, completes the writes whose time has come: the version gets its
final state and status back (UPDATED, COPIED, COPY_FAILED …), and a deletion removes the image set's data.
The records live in SQLite, so a write in progress when the service stopped completes once it runs again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .db import Database, current_time
from .image_sets import ImageSetStore


@dataclass(frozen=True)
class Completion:
    """How a held write ends: the version's final state and workflow status (DELETED: the image set goes)."""

    state: str
    status: str


DELETION = Completion("DELETED", "DELETED")


class PendingWrites:
    def __init__(self, db: Database, image_sets: ImageSetStore, write_seconds: float) -> None:
        self.db = db
        self.image_sets = image_sets
        self.write_seconds = write_seconds

    def hold(
        self,
        conn: sqlite3.Connection,
        image_set_id: str,
        version: int,
        in_progress: str,
        completion: Completion | None = None,
    ) -> None:
        """Mark `version` of the image set LOCKED with status `in_progress` until the write time has passed; it
        then ends as `completion` (default: the state and status the write gave the version)."""
        if completion is None:
            final = conn.execute(
                "SELECT state, workflow_status FROM versions WHERE image_set_id = ? AND version = ?",
                (image_set_id, version),
            ).fetchone()
            completion = Completion(final["state"], final["workflow_status"])
        conn.execute(
            "UPDATE versions SET state = 'LOCKED', workflow_status = ? WHERE image_set_id = ? AND version = ?",
            (in_progress, image_set_id, version),
        )
        conn.execute(
            "UPDATE image_sets SET state = 'LOCKED', workflow_status = ? WHERE id = ?", (in_progress, image_set_id)
        )
        conn.execute(
            "INSERT OR REPLACE INTO pending_writes VALUES (?, ?, ?, ?, ?)",
            (image_set_id, version, current_time() + self.write_seconds, completion.state, completion.status),
        )

    def settle_due(self) -> None:
        """Complete every held write whose time has come (cheap when there is none)."""
        due = self.db.all(
            "SELECT image_set_id, version FROM pending_writes WHERE due <= ? ORDER BY due", current_time()
        )
        for row in due:
            self._complete(row["image_set_id"], int(row["version"]))

    def _complete(self, image_set_id: str, version: int) -> None:
        blobs: list[str] = []
        with self.db.write() as conn:
            pending = conn.execute(
                "DELETE FROM pending_writes WHERE image_set_id = ? AND version = ? RETURNING final_state, final_status",
                (image_set_id, version),
            ).fetchone()
            if pending is None:  # another request completed it meanwhile
                return
            if pending["final_state"] == DELETION.state:
                blobs = self._erase(conn, image_set_id)
            else:
                conn.execute(
                    "UPDATE versions SET state = ?, workflow_status = ? WHERE image_set_id = ? AND version = ?",
                    (pending["final_state"], pending["final_status"], image_set_id, version),
                )
                conn.execute(
                    "UPDATE image_sets SET state = ?, workflow_status = ? WHERE id = ? AND latest_version = ?",
                    (pending["final_state"], pending["final_status"], image_set_id, version),
                )
        self.image_sets.purge_unreferenced(blobs)

    @staticmethod
    def _erase(conn: sqlite3.Connection, image_set_id: str) -> list[str]:
        """Delete an image set's versions, frames, bulk data values and tags; returns the blobs they referred to."""
        blobs = [r["blob"] for r in conn.execute("SELECT blob FROM frames WHERE image_set_id = ?", (image_set_id,))]
        blobs += [r["blob"] for r in conn.execute("SELECT blob FROM bulk_data WHERE image_set_id = ?", (image_set_id,))]
        blobs += [
            r["metadata_blob"]
            for r in conn.execute("SELECT metadata_blob FROM versions WHERE image_set_id = ?", (image_set_id,))
        ]
        now = current_time()
        conn.execute(
            """UPDATE image_sets SET state = 'DELETED', workflow_status = 'DELETED', deleted_at = ?, updated_at = ?
               WHERE id = ?""",
            (now, now, image_set_id),
        )
        conn.execute("DELETE FROM frames WHERE image_set_id = ?", (image_set_id,))
        conn.execute("DELETE FROM bulk_data WHERE image_set_id = ?", (image_set_id,))
        conn.execute("DELETE FROM versions WHERE image_set_id = ?", (image_set_id,))
        conn.execute("DELETE FROM tags WHERE resource_arn = (SELECT arn FROM image_sets WHERE id = ?)", (image_set_id,))
        conn.execute("DELETE FROM pending_writes WHERE image_set_id = ?", (image_set_id,))
        return blobs
