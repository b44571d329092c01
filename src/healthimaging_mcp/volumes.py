"""Series volumes kept in memory between calls, within a byte budget (least recently used go first).

Keys name one series of one image set version, so a cached volume is never stale. Each key is loaded by one
caller at a time: concurrent calls for the same series wait for that load instead of fetching it again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from .imaging.volume import Volume

VolumeKey = tuple[str, str, str, str]  # (datastore, image set, version, series instance UID)


class VolumeCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._volumes: OrderedDict[VolumeKey, Volume] = OrderedDict()
        self._loading: dict[VolumeKey, threading.Lock] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def size(self) -> int:
        """Bytes of voxels held."""
        with self._lock:
            return sum(v.nbytes for v in self._volumes.values())

    def fits(self, nbytes: int) -> bool:
        """Whether a volume of `nbytes` may be loaded at all."""
        return nbytes <= self.max_bytes

    def get(self, key: VolumeKey, load: Callable[[], Volume]) -> Volume:
        """The cached volume for `key`, or `load()`'s (kept, evicting the least recently used beyond the budget)."""
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                cached = self._volumes.get(key)
                if cached is not None:
                    self._volumes.move_to_end(key)
                    self.hits += 1
                    return cached
                self.misses += 1
            try:
                volume = load()
                self._keep(key, volume)
            finally:
                with self._lock:
                    self._loading.pop(key, None)
            return volume

    def _keep(self, key: VolumeKey, volume: Volume) -> None:
        with self._lock:
            self._volumes[key] = volume
            total = sum(v.nbytes for v in self._volumes.values())
            while total > self.max_bytes and len(self._volumes) > 1:
                _, dropped = self._volumes.popitem(last=False)
                total -= dropped.nbytes
            if total > self.max_bytes:
                self._volumes.clear()
