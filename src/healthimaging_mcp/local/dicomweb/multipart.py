"""multipart/related bodies (RFC 2387), as WADO-RS answers frames and instances and STOW-RS receives files."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import ValidationError
from .media import MULTIPART, parse_media_type

CRLF = b"\r\n"


@dataclass(frozen=True)
class Part:
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names


def encode(parts: Iterable[Part], part_type: str) -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart/related message whose parts are all of `part_type`."""
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for part in parts:
        chunks += [b"--", boundary.encode(), CRLF, f"Content-Type: {part.content_type}".encode(), CRLF]
        chunks += [f"{name}: {value}".encode() + CRLF for name, value in part.headers.items()]
        chunks += [CRLF, part.body, CRLF]
    chunks += [b"--", boundary.encode(), b"--", CRLF]
    return f'{MULTIPART}; type="{part_type}"; boundary={boundary}', b"".join(chunks)


def decode(content_type: str, body: bytes) -> list[Part]:
    """The parts of a multipart/related body; ValidationError when it is not one."""
    boundary = parse_media_type(content_type).parameters.get("boundary")
    if not boundary:
        raise ValidationError("The multipart/related Content-Type has no boundary parameter")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise ValidationError("The body has no part: its boundary never occurs")
    parts: list[Part] = []
    position = start + len(delimiter)
    while not body.startswith(b"--", position):  # "--boundary--" closes the message
        header_end = body.find(CRLF + CRLF, position)
        following = body.find(CRLF + delimiter, position)
        if header_end < 0 or following < 0 or header_end > following:
            raise ValidationError("The multipart body is cut short: a part has no closing boundary")
        headers = _headers(body[position:header_end])
        content = body[header_end + 4 : following]
        parts.append(Part(headers.get("content-type", ""), content, headers))
        position = following + len(CRLF + delimiter)
    return parts


def _headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.decode("latin-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers
