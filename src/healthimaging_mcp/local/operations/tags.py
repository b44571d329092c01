"""TagResource, UntagResource, ListTagsForResource on datastores and image sets."""

from __future__ import annotations

from typing import Any

from ..errors import NotFoundError, ValidationError
from ..http.auth import Caller
from ..store.arns import parse_arn
from ..store.db import Database

MAX_TAGS = 50


class TagOperations:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _resource(self, arn: str) -> str:
        parsed = parse_arn(arn)
        if parsed is None:
            raise ValidationError("resourceArn is not a HealthImaging datastore or image set ARN")
        datastore = self.db.one("SELECT arn, status FROM datastores WHERE id = ?", parsed.datastore_id)
        if datastore is None or datastore["status"] == "DELETED":
            raise NotFoundError(f"Resource {arn} does not exist")
        expected = datastore["arn"]
        if parsed.image_set_id is not None:
            image_set = self.db.one(
                "SELECT arn FROM image_sets WHERE id = ? AND datastore_id = ? AND state != 'DELETED'",
                parsed.image_set_id,
                parsed.datastore_id,
            )
            if image_set is None:
                raise NotFoundError(f"Resource {arn} does not exist")
            expected = image_set["arn"]
        if expected != arn:
            raise NotFoundError(f"Resource {arn} does not exist in this account and region")
        return arn

    def tag_resource(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        arn = self._resource(p["resourceArn"])
        existing = {r["key"] for r in self.db.all("SELECT key FROM tags WHERE resource_arn = ?", arn)}
        if len(existing | set(p["tags"])) > MAX_TAGS:
            raise ValidationError(f"A resource can carry at most {MAX_TAGS} tags")
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", [(arn, k, v) for k, v in p["tags"].items()]
            )
        return {}

    def untag_resource(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        arn = self._resource(p["resourceArn"])
        with self.db.write() as conn:
            conn.executemany("DELETE FROM tags WHERE resource_arn = ? AND key = ?", [(arn, k) for k in p["tagKeys"]])
        return {}

    def list_tags_for_resource(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        arn = self._resource(p["resourceArn"])
        rows = self.db.all("SELECT key, value FROM tags WHERE resource_arn = ? ORDER BY key", arn)
        return {"tags": {r["key"]: r["value"] for r in rows}}
