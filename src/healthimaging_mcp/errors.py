"""The errors a tool answers with: a type the assistant can act on, a message, and the next step."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any


class ErrorType(str, Enum):
    VALIDATION = "validation_error"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    THROTTLED = "throttled"
    ACCESS_DENIED = "access_denied"
    AUTH = "auth_error"
    SERVICE = "service_error"
    INTERNAL = "internal_error"


# What to do next when the raiser gave no more specific advice: every error carries a next step.
DEFAULT_NEXT_STEP: dict[ErrorType, str] = {
    ErrorType.VALIDATION: "Fix the argument named in the message and call again.",
    ErrorType.NOT_FOUND: "Check the IDs/UIDs; list or search to find valid ones.",
    ErrorType.CONFLICT: "Read the current state (e.g. get_image_set) and retry with it.",
    ErrorType.THROTTLED: "Wait a few seconds and retry.",
    ErrorType.ACCESS_DENIED: "Ask an administrator for the IAM permission this action needs.",
    ErrorType.AUTH: "Configure valid AWS credentials for the MCP server process and retry.",
    ErrorType.SERVICE: "Retry in a moment; if it persists, check the service status.",
    ErrorType.INTERNAL: "Retry; if it persists, report it with the server log.",
}


class HealthImagingError(Exception):
    """A failure explained for the assistant: what went wrong and what to do next."""

    def __init__(
        self,
        error_type: ErrorType,
        message: str,
        *,
        next_step: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.next_step = next_step or DEFAULT_NEXT_STEP[error_type]
        self.code = code
        self.request_id = request_id

    def payload(self, tool: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.error_type.value, "message": self.message}
        if self.next_step:
            body["next_step"] = self.next_step
        if self.code:
            body["aws_error_code"] = self.code
        if self.request_id:
            body["request_id"] = self.request_id
        if tool:
            body["tool"] = tool
        return body

    def to_text(self, tool: str | None = None) -> str:
        return json.dumps({"error": self.payload(tool)}, ensure_ascii=False)


def invalid(message: str, next_step: str | None = None) -> HealthImagingError:
    return HealthImagingError(ErrorType.VALIDATION, message, next_step=next_step)
