"""Plan handles: what a plan is, sealed by the server so a caller can hand it back later, to any replica.

A handle carries the whole plan (its image sets, their versions, the change), compressed and encrypted with a
key only the servers know, and authenticated: a handle that was altered, made with another key or truncated
is refused. Nothing is kept in memory between calls, so a plan can be applied or resumed after a restart, or by
another replica configured with the same key. Sealing is encrypt-then-MAC with HMAC-SHA256 as the pseudo-random
function (counter-mode key stream, 128-bit tag) from Python's standard library; the ciphertext hides patient
values (e.g. new names) from the model that relays the handle.

The key comes from HEALTHIMAGING_MCP_STATE_KEY (give every replica the same one); without it `--local` keeps a
key file in its data folder, and otherwise a key is made for this process (handles then last until it exits).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import zlib
from pathlib import Path
from typing import Any

from ..errors import invalid
from ..settings import Settings

log = logging.getLogger(__name__)

PREFIX = "hip1."
KEY_FILE = "plan-handles.key"
_NONCE = 16
_TAG = 16
_BLOCK = 32


def plan_key(settings: Settings) -> bytes:
    """The key that seals plan handles (see the module docstring for where it comes from)."""
    if settings.state_key:  # the replicas' shared secret, also sealing request state: derive a key of its own
        return hashlib.sha256(b"plan-handles\0" + settings.state_key.encode()).digest()
    if settings.local_data_dir is not None:
        return _key_file(settings.local_data_dir / KEY_FILE)
    if settings.allow_write:
        log.warning(
            "HEALTHIMAGING_MCP_STATE_KEY is not set: plan handles are valid only until this server process exits "
            "and only on this replica; set the same key on every replica to resume plans after a restart"
        )
    return secrets.token_bytes(32)


def _key_file(path: Path) -> bytes:
    """The key stored at `path`, made (readable by this user only) on first use."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key.hex())
    return key


def _subkey(key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, purpose, hashlib.sha256).digest()


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (length + _BLOCK - 1) // _BLOCK
    return b"".join(hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(blocks))[
        :length
    ]


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def seal(key: bytes, payload: dict[str, Any]) -> str:
    """The handle of `payload` (JSON-serialisable)."""
    plain = zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 9)
    nonce = secrets.token_bytes(_NONCE)
    body = nonce + _xor(plain, _stream(_subkey(key, b"encrypt"), nonce, len(plain)))
    tag = hmac.new(_subkey(key, b"authenticate"), PREFIX.encode() + body, hashlib.sha256).digest()[:_TAG]
    return PREFIX + base64.urlsafe_b64encode(body + tag).decode().rstrip("=")


def handle_id(handle: str) -> str:
    """A short public name of a handle (`plan-` and 10 hex digits of its tag), e.g. for confirmations."""
    try:
        raw = base64.urlsafe_b64decode(handle.removeprefix(PREFIX) + "==")
    except (binascii.Error, ValueError):
        return "plan-invalid"
    return "plan-" + raw[-_TAG:].hex()[:10]


def open_handle(key: bytes, handle: str) -> dict[str, Any]:
    """The payload of a handle this server (or one with the same key) sealed; refuses anything else."""
    refused = invalid(
        "This plan handle is not valid here: it was changed, cut short, or made by a server with another key.",
        "Pass the plan exactly as returned, to a server with the same HEALTHIMAGING_MCP_STATE_KEY, or make a new plan.",
    )
    if not handle.startswith(PREFIX):
        raise refused
    try:
        raw = base64.urlsafe_b64decode(handle[len(PREFIX) :] + "=" * (-len(handle[len(PREFIX) :]) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    body, tag = raw[:-_TAG], raw[-_TAG:]
    expected = hmac.new(_subkey(key, b"authenticate"), PREFIX.encode() + body, hashlib.sha256).digest()[:_TAG]
    if len(body) <= _NONCE or not hmac.compare_digest(tag, expected):
        raise refused
    nonce, cipher = body[:_NONCE], body[_NONCE:]
    try:
        payload: dict[str, Any] = json.loads(
            zlib.decompress(_xor(cipher, _stream(_subkey(key, b"encrypt"), nonce, len(cipher))))
        )
    except (zlib.error, ValueError):
        raise refused from None
    return payload
