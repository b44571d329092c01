"""Waiting for HealthImaging's asynchronous image set writes: update, copy and delete answer LOCKED at once and
finish later (reference §7.2), so callers poll GetImageSet until the image set leaves LOCKED."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ErrorType, HealthImagingError
from .healthimaging import HealthImaging

SETTLE_SECONDS = 60.0
"""How long a caller waits for one write by default before it reports the write as still in progress."""
FIRST_POLL = 0.25
LONGEST_POLL = 2.0

GONE: Mapping[str, Any] = {"imageSetState": "DELETED", "imageSetWorkflowStatus": "DELETED"}
"""What a deleted image set reads as when the service no longer knows it (not found)."""


def is_locked(state: Mapping[str, Any]) -> bool:
    return state.get("imageSetState") == "LOCKED"


def current_state(aws: HealthImaging, datastore_id: str, image_set_id: str) -> Mapping[str, Any]:
    """GetImageSet of the latest version; an image set the service no longer knows reads as DELETED."""
    try:
        return aws.get_image_set(datastore_id, image_set_id)
    except HealthImagingError as exc:
        if exc.error_type is not ErrorType.NOT_FOUND:
            raise
        return {**GONE, "imageSetId": image_set_id}


def settled_state(
    aws: HealthImaging,
    datastore_id: str,
    image_set_id: str,
    timeout: float = SETTLE_SECONDS,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Mapping[str, Any]:
    """The image set's state once it has left LOCKED (ACTIVE, or DELETED after a deletion), polling with a
    growing interval; after `timeout` seconds the last (LOCKED) state."""
    deadline, delay = clock() + timeout, FIRST_POLL
    while True:
        state = current_state(aws, datastore_id, image_set_id)
        remaining = deadline - clock()
        if not is_locked(state) or remaining <= 0:
            return state
        sleep(min(delay, remaining))
        delay = min(delay * 2, LONGEST_POLL)
