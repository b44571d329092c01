"""WADO-RS transfer syntax negotiation (reference §11.4): what to send for an Accept header.

No ``transfer-syntax`` means Explicit VR Little Endian, decoded on the server; ``transfer-syntax=*`` means the
stored encoding as it is; an explicit UID is served when it is the stored syntax or Explicit VR Little
Endian. Anything else is 406 Not Acceptable, naming what can be had.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...imaging.syntaxes import EXPLICIT_VR_LITTLE_ENDIAN
from .errors import NotAcceptableError
from .media import DICOM, MULTIPART, OCTET_STREAM, MediaType, covers, frame_media_type, parse_accept

ANY_SYNTAX = "*"


@dataclass(frozen=True)
class InstanceChoice:
    transfer_syntax_uid: str
    multipart: bool


@dataclass(frozen=True)
class FramesChoice:
    transfer_syntax_uid: str

    @property
    def media_type(self) -> str:
        return frame_media_type(self.transfer_syntax_uid)


def _wanted(requested: str | None, stored: str | None, decodable: bool) -> str | None:
    """The syntax to send for one requested syntax (None: cannot serve it). `stored` None: no pixel data."""
    if stored is None:  # no pixel data: any file syntax we write is as good
        return EXPLICIT_VR_LITTLE_ENDIAN if requested in (None, ANY_SYNTAX, EXPLICIT_VR_LITTLE_ENDIAN) else None
    if requested in (ANY_SYNTAX, stored):
        return stored
    if requested in (None, EXPLICIT_VR_LITTLE_ENDIAN) and decodable:
        return EXPLICIT_VR_LITTLE_ENDIAN
    return None


def _refusal(what: str, stored: str | None, decodable: bool) -> NotAcceptableError:
    offers = [f"transfer-syntax={stored} or *"] if stored else []
    if decodable or stored is None:
        offers.append(f"{EXPLICIT_VR_LITTLE_ENDIAN} (the default)")
    return NotAcceptableError(f"No acceptable {what}: this one can be sent as {' or as '.join(offers)}")


def choose_instance(accept: str | None, stored: str | None, decodable: bool) -> InstanceChoice:
    """Part 10 as ``application/dicom`` (what HealthImaging sends) or inside ``multipart/related``."""
    for media in parse_accept(accept):
        multipart = media.name == MULTIPART
        if multipart and not covers(media.part_type, DICOM):
            continue
        if not multipart and not media.allows(DICOM):
            continue
        syntax = _wanted(media.transfer_syntax, stored, decodable)
        if syntax is not None:
            return InstanceChoice(syntax, multipart)
    raise _refusal("representation of the instance", stored, decodable)


def choose_frames(accept: str | None, stored: str, decodable: bool) -> FramesChoice:
    """Frames go in ``multipart/related``: a part type of ``application/octet-stream`` (or any type) with no
    transfer syntax is the decoded default; the stored media type (e.g. ``image/jphc``) is the stored syntax."""
    for media in parse_accept(accept):
        syntax = _frame_syntax(media, stored, decodable)
        if syntax is not None:
            return FramesChoice(syntax)
    raise _refusal("media type for these frames", stored, decodable)


def _frame_syntax(media: MediaType, stored: str, decodable: bool) -> str | None:
    part_type = media.part_type if media.name == MULTIPART else media.name
    requested = media.transfer_syntax
    if (
        requested is None
        and part_type not in (None, "*/*", "*", OCTET_STREAM)
        and covers(part_type, frame_media_type(stored))
    ):
        requested = stored  # e.g. type=image/jphc: the stored HTJ2K frames
    syntax = _wanted(requested, stored, decodable)
    if syntax is None or not covers(part_type, frame_media_type(syntax)):
        return None
    return syntax


def choose_bulk_data(accept: str | None) -> bool:
    """Whether bulk data goes in ``multipart/related`` (else a single ``application/octet-stream`` body)."""
    for media in parse_accept(accept):
        if media.name == MULTIPART and covers(media.part_type, OCTET_STREAM):
            return True
        if media.name != MULTIPART and media.allows(OCTET_STREAM):
            return False
    raise NotAcceptableError("Bulk data is application/octet-stream, alone or in multipart/related")
