"""What one tool call did, as the audit trail and the telemetry see it: no argument values, no answer text.

Only two kinds of values are taken from a call: datastore and image set IDs (32 lowercase letters/digits, under
argument or answer keys named `…datastore_id` / `…image_set_id(s)`, and all those a tool reports with `touched`,
as answers list only so many), so a record can say which images were looked at or changed without carrying
patient data.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp.types import CallToolResult, InputRequiredResult, TextContent

from ..middleware import typed_sdk_failure
from .auth import Caller, Capability, current_caller, missing_scope, scope_names

if TYPE_CHECKING:
    from ..settings import Settings

RESOURCE_ID = re.compile(r"^[0-9a-z]{32}$")
TOOL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass
class ToolCall:
    tool: str
    caller: Caller
    started: float = field(default_factory=time.time)  # wall clock, for the record's time
    _clock: float = field(default_factory=time.perf_counter, repr=False)
    duration: float = 0.0  # seconds
    outcome: str = "ok"  # ok | error | denied (scope missing) | input_required (asked the user)
    denied: bool = False  # refused for a scope the caller's token lacks (the whole tool, or what was asked of it)
    error_type: str | None = None
    datastore_ids: set[str] = field(default_factory=set)
    image_set_ids: set[str] = field(default_factory=set)
    image_bytes: int = 0  # decoded size of the images answered

    @classmethod
    def start(cls, tool: str, caller: Caller, arguments: dict[str, Any]) -> ToolCall:
        call = cls(tool if TOOL_NAME.match(tool) else "(invalid name)", caller)
        call._collect(arguments)
        return call

    @contextmanager
    def serving(self) -> Iterator[None]:
        """While the tool runs: the call `touched` and `require` act on."""
        token = _SERVING.set(self)
        try:
            yield
        finally:
            _SERVING.reset(token)

    def finish(self, result: CallToolResult | InputRequiredResult | None, failure: BaseException | None) -> None:
        self.duration = time.perf_counter() - self._clock
        if failure is not None:
            typed = typed_sdk_failure(str(failure))
            self.outcome, self.error_type = "error", typed.error_type.value if typed else "internal_error"
        elif isinstance(result, InputRequiredResult):
            self.outcome = "input_required"
        elif result is not None:
            self._collect(result.structured_content)
            self.image_bytes = sum(_decoded_size(block.data) for block in result.content if block.type == "image")
            if result.is_error:
                self.outcome, self.error_type = "denied" if self.denied else "error", _error_type(result)

    def _collect(self, node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                self._collect(value, name)
        elif isinstance(node, list):
            for item in node:
                self._collect(item, key)
        elif isinstance(node, str) and RESOURCE_ID.match(node):
            if key.endswith("datastore_id"):
                self.datastore_ids.add(node)
            elif key.endswith(("image_set_id", "image_set_ids")):
                self.image_set_ids.add(node)


_SERVING: ContextVar[ToolCall | None] = ContextVar("tool_call", default=None)


def touched(datastore_id: str, image_set_ids: Iterable[str] = ()) -> None:
    """Record on the call being served the datastore and image sets the tool read or changed."""
    call = _SERVING.get()
    if call is not None:
        call._collect({"datastore_id": datastore_id, "image_set_ids": list(image_set_ids)})  # IDs only


def require(capability: Capability, settings: Settings, what: str, next_step: str) -> None:
    """Refuse `what` with access_denied naming the scope (audited as denied) unless the caller may `capability`."""
    scopes = scope_names(settings)
    call = _SERVING.get()
    caller = call.caller if call is not None else current_caller(scopes)
    if caller.may(capability):
        return
    if call is not None:
        call.denied = True
    raise missing_scope(scopes[capability], what, next_step)


def _decoded_size(base64_text: str) -> int:
    return len(base64_text) * 3 // 4 - base64_text.count("=", -2)


def _error_type(result: CallToolResult) -> str:
    """The `type` of the typed error our tools answer with (`errors.HealthImagingError.to_text`)."""
    for block in result.content:
        if isinstance(block, TextContent) and block.text.startswith('{"error"'):
            try:
                kind = json.loads(block.text)["error"]["type"]
            except (ValueError, KeyError, TypeError):
                break
            return str(kind)
    return "tool_error"
