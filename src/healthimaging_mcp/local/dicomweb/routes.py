"""DICOMweb resource paths under ``/datastore/<datastoreId>/`` and the operation (IAM action) each one is.

Native paths share the ``/datastore/<id>`` prefix, but none continues with ``studies``, ``series`` or
``instances``: that third segment tells the two APIs apart on one listener.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from ..errors import NotFoundError
from .errors import MethodNotAllowedError

DICOMWEB_ROOTS = frozenset({"studies", "series", "instances"})
UID = "{uid}"
ANY = "{path}"

# Path segments after /datastore/<id>/ → {method: operation}.
_RESOURCES: dict[tuple[str, ...], dict[str, str]] = {
    ("studies",): {"GET": "SearchDICOMStudies", "POST": "StoreDICOM"},
    ("studies", UID): {"POST": "StoreDICOMStudy"},
    ("studies", UID, "series"): {"GET": "SearchDICOMSeries"},
    ("studies", UID, "instances"): {"GET": "SearchDICOMStudyInstances"},
    ("studies", UID, "series", UID, "instances"): {"GET": "SearchDICOMInstances"},
    ("studies", UID, "series", UID, "metadata"): {"GET": "GetDICOMSeriesMetadata"},
    ("studies", UID, "series", UID, "instances", UID): {"GET": "GetDICOMInstance"},
    ("studies", UID, "series", UID, "instances", UID, "metadata"): {"GET": "GetDICOMInstanceMetadata"},
    ("studies", UID, "series", UID, "instances", UID, "frames", UID): {"GET": "GetDICOMInstanceFrames"},
    ("studies", UID, "series", UID, "instances", UID, "bulkdata", ANY): {"GET": "GetDICOMBulkdata"},
    ("series",): {"GET": "SearchDICOMAllSeries"},
    ("instances",): {"GET": "SearchDICOMAllInstances"},
}


@dataclass(frozen=True)
class Resource:
    """A routed DICOMweb request: its operation and the identifiers its path carries."""

    operation: str
    datastore_id: str
    uids: tuple[str, ...] = ()
    """Study, series and SOP instance UIDs, as far as the path goes, then the frame list."""
    bulk_data_path: str | None = None

    def uid(self, index: int) -> str | None:
        return self.uids[index] if len(self.uids) > index else None

    @property
    def study_uid(self) -> str | None:
        return self.uid(0)

    @property
    def series_uid(self) -> str | None:
        return self.uid(1)

    @property
    def sop_uid(self) -> str | None:
        return self.uid(2)

    @property
    def frame_list(self) -> str | None:
        return self.uid(3)


def is_dicomweb_path(raw_path: str) -> bool:
    segments = raw_path.split("?", 1)[0].strip("/").split("/")
    return len(segments) >= 3 and segments[0] == "datastore" and segments[2] in DICOMWEB_ROOTS


def resolve(method: str, raw_path: str) -> Resource:
    """The resource of a DICOMweb path (call only when `is_dicomweb_path`); 404 / 405 when there is none."""
    segments = raw_path.split("?", 1)[0].strip("/").split("/")
    datastore_id, rest = unquote(segments[1]), segments[2:]
    for template, methods in _RESOURCES.items():
        values = _match(template, rest)
        if values is None:
            continue
        operation = methods.get(method)
        if operation is None:
            raise MethodNotAllowedError(f"{method} is not allowed here; use {' or '.join(sorted(methods))}")
        if template[-1] == ANY:
            return Resource(operation, datastore_id, tuple(values[:-1]), values[-1])
        return Resource(operation, datastore_id, tuple(values))
    raise NotFoundError(f"No DICOMweb resource at {method} /{'/'.join(rest)}")


def _match(template: tuple[str, ...], segments: list[str]) -> list[str] | None:
    if template[-1] == ANY:
        if len(segments) < len(template):
            return None
        head, tail = segments[: len(template) - 1], "/".join(segments[len(template) - 1 :])
        leading = _match(template[:-1], head)
        return None if leading is None else [*leading, unquote(tail)]
    if len(template) != len(segments):
        return None
    values: list[str] = []
    for expected, actual in zip(template, segments):
        if expected == UID:
            if not actual:
                return None
            values.append(unquote(actual))
        elif expected != actual:
            return None
    return values
