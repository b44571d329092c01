"""CreateDatastore, GetDatastore, ListDatastores, DeleteDatastore."""

from __future__ import annotations

import sqlite3
from typing import Any

from ..config import LocalConfig
from ..errors import ConflictError, QuotaExceededError
from ..http.auth import Caller
from ..store.arns import datastore_arn, new_id
from ..store.db import Database, current_time
from ..store.lookups import datastore_row
from ..store.paging import fingerprint, keyset_page

MAX_DATASTORES = 10


def _summary(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "datastoreId": row["id"],
        "datastoreName": row["name"],
        "datastoreStatus": row["status"],
        "datastoreArn": row["arn"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


class DatastoreOperations:
    def __init__(self, db: Database, config: LocalConfig) -> None:
        self.db = db
        self.config = config

    def create_datastore(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        token = p["clientToken"]
        request = fingerprint({k: v for k, v in p.items() if k != "clientToken"})
        existing = self.db.one("SELECT * FROM datastores WHERE client_token = ?", token)
        if existing is not None:
            if existing["request_fingerprint"] != request:
                raise ConflictError("clientToken was already used with different parameters")
            return {"datastoreId": existing["id"], "datastoreStatus": "CREATING"}
        live = self.db.one("SELECT COUNT(*) AS n FROM datastores WHERE status != 'DELETED'")
        if live is not None and live["n"] >= MAX_DATASTORES:
            raise QuotaExceededError(f"At most {MAX_DATASTORES} datastores per region; delete one first")
        datastore_id, now = new_id(), current_time()
        arn = datastore_arn(caller.region or self.config.default_region, datastore_id, self.config.account_id)
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO datastores VALUES (?, ?, 'ACTIVE', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    datastore_id,
                    p.get("datastoreName") or datastore_id,
                    arn,
                    p.get("kmsKeyArn"),
                    p.get("lambdaAuthorizerArn"),
                    p.get("losslessStorageFormat", "HTJ2K"),
                    now,
                    now,
                    token,
                    request,
                ),
            )
            conn.executemany("INSERT INTO tags VALUES (?, ?, ?)", [(arn, k, v) for k, v in p.get("tags", {}).items()])
        return {"datastoreId": datastore_id, "datastoreStatus": "CREATING"}

    def get_datastore(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        row = datastore_row(self.db, p["datastoreId"], require_active=False)
        props = _summary(row)
        props["losslessStorageFormat"] = row["lossless_storage_format"]
        props["kmsKeyArn"] = row["kms_key_arn"]
        props["lambdaAuthorizerArn"] = row["lambda_authorizer_arn"]
        return {"datastoreProperties": props}

    def list_datastores(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        status = p.get("datastoreStatus")
        rows, token = keyset_page(
            self.db,
            "datastores",
            "status = ?" if status else "1 = 1",
            [status] if status else [],
            key="created_at",
            tie="id",
            descending=False,
            scope=fingerprint("ListDatastores", status),
            next_token=p.get("nextToken"),
            max_results=p.get("maxResults"),
        )
        return {"datastoreSummaries": [_summary(r) for r in rows], "nextToken": token}

    def delete_datastore(self, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        row = datastore_row(self.db, p["datastoreId"])
        busy = self.db.one(
            "SELECT COUNT(*) AS n FROM image_sets WHERE datastore_id = ? AND state != 'DELETED'", row["id"]
        )
        if busy is not None and busy["n"]:
            raise ConflictError(
                f"Datastore {row['id']} still holds {busy['n']} image set(s); delete them before the datastore"
            )
        running = self.db.one(
            "SELECT COUNT(*) AS n FROM jobs WHERE datastore_id = ? AND status IN ('SUBMITTED', 'IN_PROGRESS')",
            row["id"],
        )
        if running is not None and running["n"]:
            raise ConflictError(f"Datastore {row['id']} has import jobs in progress")
        with self.db.write() as conn:
            conn.execute(
                "UPDATE datastores SET status = 'DELETED', updated_at = ? WHERE id = ?",
                (current_time(), row["id"]),
            )
            conn.execute("DELETE FROM tags WHERE resource_arn = ?", (row["arn"],))
        return {"datastoreId": row["id"], "datastoreStatus": "DELETING"}
