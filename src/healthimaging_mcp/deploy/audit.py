"""The audit trail: one JSON line per tool call, to stderr or a file (format in README 'Audit trail').

{"time": "2026-12-01T09:14:03.512Z", "caller": {"subject": "…", "client_id": "…"} | "local", "tool": "…",
 "datastore_ids": […], "image_set_ids": […], "outcome": "ok", "error_type": null, "duration_ms": 12.41}

A line never carries patient data: no argument values or answers, only the tool name, the caller's identity
from their token, and datastore / image set IDs (see `calls`).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from .calls import ToolCall

STDERR = ("stderr", "-")


def audit_line(call: ToolCall) -> str:
    caller: dict[str, Any] | str = (
        "local" if call.caller.local else {"subject": call.caller.subject, "client_id": call.caller.client_id}
    )
    seconds = int(call.started)
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        + f".{int((call.started - seconds) * 1000):03d}Z",
        "caller": caller,
        "tool": call.tool,
        "datastore_ids": sorted(call.datastore_ids),
        "image_set_ids": sorted(call.image_set_ids),
        "outcome": call.outcome,
        "error_type": call.error_type,
        "duration_ms": round(call.duration * 1000, 2),
    }
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


class AuditLog:
    """Writes audit lines to `destination` ("stderr" or a file path, appended to; reopened when rotated)."""

    def __init__(self, destination: str) -> None:
        # A handler of its own, no logger: never mixed into the operational log, whatever its level.
        handler: logging.Handler
        if destination in STDERR:
            handler = logging.StreamHandler(sys.stderr)
        else:
            from logging.handlers import WatchedFileHandler

            handler = WatchedFileHandler(destination, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        self.handler = handler

    def record(self, call: ToolCall) -> None:
        self.handler.handle(logging.makeLogRecord({"msg": audit_line(call), "levelno": logging.INFO}))

    def close(self) -> None:
        self.handler.close()
