"""botocore's `medical-imaging` service model: the single source of routes, shapes and error codes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote

import botocore.session
from botocore.model import OperationModel, ServiceModel

SERVICE_NAME = "medical-imaging"


@cache
def service_model() -> ServiceModel:
    """The same service model boto3 uses, so client and local service cannot drift apart."""
    return botocore.session.get_session().get_service_model(SERVICE_NAME)


def error_status(code: str) -> int:
    """HTTP status of an exception shape, as the model declares it."""
    try:
        shape = service_model().shape_for(code)
    except Exception:
        return 500
    return int(shape.metadata.get("error", {}).get("httpStatusCode", 500))


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    segments: tuple[str, ...]  # literal segment, or "{label}"

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        if method != self.method or len(segments) != len(self.segments):
            return None
        labels: dict[str, str] = {}
        for template, actual in zip(self.segments, segments):
            if template.startswith("{"):
                if not actual:
                    return None
                labels[template.strip("{}+")] = unquote(actual)
            elif template != actual:
                return None
        return labels


@cache
def routes() -> tuple[Route, ...]:
    model = service_model()
    table = []
    for name in model.operation_names:
        op = model.operation_model(name)
        path = op.http["requestUri"].split("?", 1)[0]
        table.append(Route(op, op.http["method"], tuple(path.strip("/").split("/"))))
    return tuple(table)


def find_route(method: str, raw_path: str) -> tuple[OperationModel, dict[str, str]] | None:
    """Match on the raw (still percent-encoded) path, so an encoded ARN stays one segment."""
    segments = raw_path.split("?", 1)[0].strip("/").split("/")
    for route in routes():
        labels = route.match(method, segments)
        if labels is not None:
            return route.operation, labels
    return None
