"""Request throttling with the service's published rates, and fault injection for tests and demos."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from ..errors import ServiceError, ThrottlingError, error_for_code

# Published per-account rates: operation -> (requests per second, burst).
AWS_RATES: dict[str, tuple[float, int]] = {
    "CreateDatastore": (0.085, 1),
    "DeleteDatastore": (0.085, 1),
    "GetDatastore": (10, 20),
    "ListDatastores": (5, 10),
    "StartDICOMImportJob": (1, 2),
    "GetDICOMImportJob": (25, 50),
    "ListDICOMImportJobs": (10, 20),
    "SearchImageSets": (25, 50),
    "GetImageSet": (25, 50),
    "GetImageSetMetadata": (50, 100),
    "GetImageFrame": (1000, 2000),
    "ListImageSetVersions": (25, 50),
    "UpdateImageSetMetadata": (0.25, 1),
    "CopyImageSet": (0.25, 1),
    "DeleteImageSet": (0.25, 1),
    "TagResource": (10, 20),
    "ListTagsForResource": (10, 20),
    "UntagResource": (10, 20),
}


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Throttle:
    """Token buckets per operation; empty `rates` disables throttling."""

    rates: dict[str, tuple[float, int]] = field(default_factory=dict)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, operation: str) -> None:
        rate = self.rates.get(operation)
        if rate is None:
            return
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is None:
                bucket = self._buckets[operation] = _Bucket(rate[0], rate[1], rate[1], now)
            if not bucket.take(now):
                raise ThrottlingError(f"Rate exceeded for {operation}")


@dataclass
class _Fault:
    code: str
    message: str
    remaining: int
    skip: int = 0


@dataclass
class FaultInjector:
    """Make the next N calls of an operation (after `after` that pass) fail with a given model error code;
    `fired` counts the failures."""

    _faults: dict[str, _Fault] = field(default_factory=dict)
    _fired: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, operation: str, code: str, *, message: str | None = None, times: int = 1, after: int = 0) -> None:
        with self._lock:
            self._faults[operation] = _Fault(code, message or f"Injected {code}", times, after)

    def clear(self) -> None:
        """Drop the faults not yet fired and forget the count of those that were."""
        with self._lock:
            self._faults.clear()
            self._fired.clear()

    def fired(self, operation: str) -> int:
        """How many calls of `operation` failed with an injected fault since the last `clear()`."""
        with self._lock:
            return self._fired[operation]

    def check(self, operation: str) -> None:
        with self._lock:
            fault = self._faults.get(operation)
            if fault is None:
                return
            if fault.skip > 0:
                fault.skip -= 1
                return
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._faults[operation]
            self._fired[operation] += 1
        error: ServiceError = error_for_code(fault.code, fault.message)
        raise error
