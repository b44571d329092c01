"""Opaque, tamper-evident pagination tokens bound to the query that produced them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from ..errors import ValidationError
from .db import Database

_KEY = b"healthimaging-local-paging"


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_token(query: str, position: list[Any]) -> str:
    body = json.dumps({"q": query, "p": position}, separators=(",", ":")).encode()
    mac = hmac.new(_KEY, body, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")


def decode_token(token: str, query: str) -> list[Any]:
    """The position stored in `token`; ValidationException if it is foreign, forged or from another query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        mac, body = raw[:12], raw[12:]
        if not hmac.compare_digest(mac, hmac.new(_KEY, body, hashlib.sha256).digest()[:12]):
            raise ValueError("bad mac")
        data = json.loads(body)
    except ValueError:
        raise ValidationError("Invalid nextToken: pass the token exactly as a previous response returned it") from None
    if data.get("q") != query:
        raise ValidationError("nextToken does not belong to this request: repeat the same parameters to page")
    position: list[Any] = data["p"]
    return position


def page_size(max_results: int | None, default: int = 50) -> int:
    return max_results if max_results is not None else default


def keyset_page(
    db: Database,
    table: str,
    where: str,
    args: Sequence[Any],
    *,
    key: str,
    tie: str,
    descending: bool,
    scope: str,
    next_token: str | None,
    max_results: int | None,
) -> tuple[list[sqlite3.Row], str | None]:
    """One page of the rows of `table` matching `where`, ordered by (`key`, `tie`), after the token's position.

    Keyset paging neither skips nor repeats rows when others are added between pages. `key` may be an SQL
    expression; it must not be NULL (wrap nullable columns in COALESCE).
    """
    sql, params = f"SELECT *, {key} AS _key FROM {table} WHERE {where}", list(args)
    cmp, order = ("<", "DESC") if descending else (">", "ASC")
    if next_token:
        value, last = decode_token(next_token, scope)
        sql += f" AND ({key} {cmp} ? OR ({key} = ? AND {tie} {cmp} ?))"
        params += [value, value, last]
    limit = page_size(max_results)
    rows = db.all(f"{sql} ORDER BY {key} {order}, {tie} {order} LIMIT ?", *params, limit + 1)
    if len(rows) <= limit:
        return rows, None
    last_row = rows[limit - 1]
    return rows[:limit], encode_token(scope, [last_row["_key"], last_row[tie]])
