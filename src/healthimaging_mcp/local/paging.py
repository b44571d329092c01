"""Opaque, tamper-evident pagination tokens bound to the query that produced them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from .errors import ValidationError

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
