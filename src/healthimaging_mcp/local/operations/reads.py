"""SearchImageSets, GetImageSet, GetImageSetMetadata, GetImageFrame, ListImageSetVersions."""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

from ...imaging.syntaxes import content_type_for
from ..errors import NotFoundError
from ..http.auth import Caller
from ..store.blobs import BlobStore
from ..store.db import Database, current_time
from ..store.lookups import datastore_row, image_set_row, version_row
from ..store.paging import fingerprint, keyset_page
from ..store.search import build_query

ACCESS_RECORD_INTERVAL = 60.0  # seconds between lastAccessedAt writes for one image set


def _search_summary(row: sqlite3.Row) -> dict[str, Any]:
    summary = {
        "imageSetId": row["id"],
        "version": int(row["latest_version"]),
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "lastAccessedAt": row["last_accessed_at"],
        "storageTier": "FREQUENT_ACCESS",
        "DICOMTags": json.loads(row["dicom_tags"]),
        "isPrimary": bool(row["is_primary"]),
    }
    return summary


class ReadOperations:
    """The reads; each records when an image set was last read (`lastAccessedAt`), at most once a minute."""

    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs
        self._access_lock = threading.Lock()
        self._last_access: dict[str, float] = {}

    def _record_access(self, image_set_id: str) -> None:
        now = current_time()
        with self._access_lock:
            if now - self._last_access.get(image_set_id, 0.0) < ACCESS_RECORD_INTERVAL:
                return
            self._last_access[image_set_id] = now
        with self.db.write() as conn:
            conn.execute("UPDATE image_sets SET last_accessed_at = ? WHERE id = ?", (now, image_set_id))

    def search_image_sets(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        datastore = datastore_row(self.db, p["datastoreId"])
        criteria = p.get("searchCriteria", {})
        query = build_query(criteria)
        key = f"COALESCE({query.sort_column}, '')" if query.sort_column == "study_date_time" else query.sort_column
        rows, token = keyset_page(
            self.db,
            "image_sets",
            f"datastore_id = ? AND state != 'DELETED' AND {query.where}",
            [datastore["id"], *query.args],
            key=key,
            tie="id",
            descending=query.descending,
            scope=fingerprint("SearchImageSets", datastore["id"], criteria),
            next_token=p.get("nextToken"),
            max_results=p.get("maxResults"),
        )
        out: dict[str, Any] = {"imageSetsMetadataSummaries": [_search_summary(r) for r in rows], "nextToken": token}
        if criteria.get("sort"):
            out["sort"] = criteria["sort"]
        return out

    def get_image_set(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        row = image_set_row(self.db, p["datastoreId"], p["imageSetId"], allow_deleted=True)
        out: dict[str, Any] = {
            "datastoreId": row["datastore_id"],
            "imageSetId": row["id"],
            "imageSetArn": row["arn"],
            "createdAt": row["created_at"],
            "isPrimary": bool(row["is_primary"]),
            "storageTier": "FREQUENT_ACCESS",
            "lastAccessedAt": row["last_accessed_at"],
        }
        if row["state"] == "DELETED":
            return out | {
                "versionId": str(row["latest_version"]),
                "imageSetState": "DELETED",
                "imageSetWorkflowStatus": "DELETED",
                "updatedAt": row["updated_at"],
                "deletedAt": row["deleted_at"],
            }
        version = version_row(self.db, row["id"], p.get("versionId"), row["latest_version"])
        out |= {
            "versionId": str(version["version"]),
            "imageSetState": version["state"],
            "imageSetWorkflowStatus": version["workflow_status"],
            "updatedAt": version["updated_at"] or version["created_at"],
            "message": version["message"],
        }
        if version["forced"]:
            out["overrides"] = {"forced": True}
        return out

    def get_image_set_metadata(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        row = image_set_row(self.db, p["datastoreId"], p["imageSetId"])
        version = version_row(self.db, row["id"], p.get("versionId"), row["latest_version"])
        blob = self.blobs.get(version["metadata_blob"])
        self._record_access(row["id"])
        return {"imageSetMetadataBlob": blob, "contentType": "application/json", "contentEncoding": "gzip"}

    def get_image_frame(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        row = image_set_row(self.db, p["datastoreId"], p["imageSetId"])
        frame_id = p["imageFrameInformation"]["imageFrameId"]
        frame = self.db.one(
            "SELECT blob, stored_syntax FROM frames WHERE image_set_id = ? AND frame_id = ?",
            row["id"],
            frame_id,
        )
        if frame is None:
            raise NotFoundError(f"Image frame {frame_id} does not exist in image set {row['id']}")
        self._record_access(row["id"])
        return {
            "imageFrameBlob": self.blobs.get(frame["blob"]),
            "contentType": content_type_for(frame["stored_syntax"]),
        }

    def list_image_set_versions(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        row = image_set_row(self.db, p["datastoreId"], p["imageSetId"])
        versions, token = keyset_page(
            self.db,
            "versions",
            "image_set_id = ?",
            [row["id"]],
            key="version",
            tie="version",
            descending=True,
            scope=fingerprint("ListImageSetVersions", row["id"]),
            next_token=p.get("nextToken"),
            max_results=p.get("maxResults"),
        )
        items = []
        for version in versions:
            item = {
                "imageSetId": row["id"],
                "versionId": str(version["version"]),
                "imageSetState": version["state"],
                "ImageSetWorkflowStatus": version["workflow_status"],
                "createdAt": row["created_at"],
                "updatedAt": version["updated_at"],
                "message": version["message"],
                "isPrimary": bool(row["is_primary"]),
            }
            if version["forced"]:
                item["overrides"] = {"forced": True}
            items.append(item)
        return {"imageSetPropertiesList": items, "nextToken": token}
