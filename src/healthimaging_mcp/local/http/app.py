"""The ASGI application: one listener for control-plane and `runtime-` routes, whatever the Host header."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qs

import anyio
from starlette.types import Receive, Scope, Send

from ..errors import AuthenticationError, InternalError, PayloadTooLargeError, ServiceError, UnknownOperationError
from .auth import Authenticator, Caller
from .limits import FaultInjector, Throttle
from .protocol import (
    HttpRequest,
    HttpResponse,
    bind_request,
    error_response,
    new_request_id,
    serialize_response,
)
from .routes import find_route
from .validation import validate

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1 << 30
"""The largest request body accepted: STOW-RS's 1 GB limit (native requests are far smaller)."""

Handler = Callable[[dict[str, Any], Caller], dict[str, Any]]
"""An operation handler: the bound, validated input parameters and the caller → the output members."""


class Handlers(Protocol):
    def handler(self, operation: str) -> Handler | None:
        """The handler of a model operation (e.g. `GetImageSet`), or None when there is none."""
        ...


class ExtraRoutes(Protocol):
    def handle(
        self, request: HttpRequest, admit: Callable[[HttpRequest, str], Caller], request_id: str
    ) -> HttpResponse | None:
        """The answer to a request on one of its paths (admitted through `admit`), or None for other paths."""
        ...


class LocalHealthImagingApp:
    """Routes each request by the service model and dispatches it to `handlers.handler(<operation name>)`;
    `extra_routes` (the DICOMweb API) answers the paths it owns first."""

    def __init__(
        self,
        handlers: Handlers,
        authenticator: Authenticator | None = None,
        *,
        throttle: Throttle | None = None,
        faults: FaultInjector | None = None,
        extra_routes: ExtraRoutes | None = None,
    ) -> None:
        self.handlers = handlers
        self.authenticator = authenticator or Authenticator()
        self.throttle = throttle or Throttle()
        self.faults = faults or FaultInjector()
        self.extra_routes = extra_routes
        self.max_request_bytes = MAX_REQUEST_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            request = await _read_request(scope, receive, self.max_request_bytes)
        except PayloadTooLargeError as error:
            response = error_response(error, new_request_id())
        else:
            response = await anyio.to_thread.run_sync(self.handle, request)
        headers = [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Route, authenticate, bind, validate, dispatch and serialize one request (blocking)."""
        request_id = new_request_id()
        if self.extra_routes is not None:
            answered = self.extra_routes.handle(request, self.admit, request_id)
            if answered is not None:
                return answered
        found = find_route(request.method, request.raw_path)
        if found is None:
            error = UnknownOperationError(f"No operation matches {request.method} {request.raw_path}")
            return error_response(error, request_id)
        op, labels = found
        allowed = {shape.name for shape in op.error_shapes}
        try:
            caller = self.admit(request, op.name)
            params = bind_request(op, labels, request)
            if op.input_shape is not None:
                validate(op.input_shape, params)
            handler = self.handlers.handler(op.name)
            if handler is None:
                log.error("%s has no handler", op.name)
                return error_response(InternalError("The service encountered an unexpected error"), request_id)
            output = handler(params, caller)
            return serialize_response(op, output, request_id)
        except AuthenticationError as error:
            return error_response(error, request_id)
        except ServiceError as error:
            if error.code not in allowed:
                log.error("%s raised %s, which its model does not list", op.name, error.code)
                error = InternalError("The service encountered an unexpected error")
            if error.code == "InternalServerException":
                log.warning("%s failed: %s", op.name, error.message)
            return error_response(error, request_id)
        except Exception:
            log.exception("%s crashed", op.name)
            return error_response(InternalError("The service encountered an unexpected error"), request_id)

    def admit(self, request: HttpRequest, operation: str) -> Caller:
        """Authenticate a request, then apply the faults and rate limit of `operation` (raises ServiceError)."""
        caller = self.authenticator.authenticate(request)
        self.faults.check(operation)
        self.throttle.check(operation)
        return caller


async def _read_request(scope: Scope, receive: Receive, limit: int) -> HttpRequest:
    """The whole request; PayloadTooLargeError as soon as its declared or received size passes `limit`."""
    too_large = PayloadTooLargeError(f"The request body is larger than {limit:,} bytes")
    for name, value in scope["headers"]:
        if name.lower() == b"content-length" and value.isdigit() and int(value) > limit:
            raise too_large
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    raw_query = scope.get("query_string", b"").decode("latin-1")
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    raw_path = scope.get("raw_path") or scope["path"].encode()
    server = scope.get("server")
    return HttpRequest(
        method=scope["method"],
        raw_path=raw_path.decode("latin-1"),
        raw_query=raw_query,
        query=parse_qs(raw_query, keep_blank_values=True),
        headers=headers,
        body=b"".join(chunks),
        server=f"{server[0]}:{server[1]}" if server and server[1] is not None else None,
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
