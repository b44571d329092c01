"""Client-side pacing for operations HealthImaging throttles hard, so calls wait instead of failing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Operations limited to 0.25 requests/second (burst 1) per account.
PACED_OPERATIONS = frozenset({"update_image_set_metadata", "copy_image_set", "delete_image_set"})


class Pacer:
    """Spaces calls of each paced operation at least 1/rate seconds apart (0 disables pacing)."""

    def __init__(
        self,
        rate_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, operation: str) -> float:
        """Block until `operation` may run; returns the seconds waited."""
        if not self.interval or operation not in PACED_OPERATIONS:
            return 0.0
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(operation, now))
            self._next[operation] = start + self.interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay
