"""The volume cache: bounded in bytes (least recently used go first), one load per series at a time."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from healthimaging_mcp.imaging.volume import Volume, VolumeGeometry
from healthimaging_mcp.volumes import VolumeCache, VolumeKey

MB = 2**20


def volume_of(megabytes: int) -> Volume:
    geometry = VolumeGeometry(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), (1, 0, 0, 0, 1, 0), (1.0, 1.0), 512, 512)
    voxels = np.zeros(megabytes * MB, dtype=np.uint8).reshape(-1, 512, 512)
    return Volume(voxels, geometry, 1.0, 0.0, {})


def key(name: str) -> VolumeKey:
    return ("datastore", name, "1", "1.2.3")


def test_the_least_recently_used_volumes_go_first_beyond_the_budget() -> None:
    cache = VolumeCache(10 * MB)
    for name in ("a", "b", "c"):
        cache.get(key(name), lambda: volume_of(4))
    assert cache.size == 8 * MB  # "a" went when "c" came
    cache.get(key("b"), lambda: pytest.fail("b is cached"))  # now "c" is the least recently used
    cache.get(key("d"), lambda: volume_of(4))
    kept = [name for name in "abcd" if cache.get(key(name), lambda: volume_of(0)).nbytes]
    assert kept == ["b", "d"] and (cache.hits, cache.misses) == (3, 6)
    assert cache.fits(10 * MB) and not cache.fits(10 * MB + 1)


def test_concurrent_calls_for_one_series_load_it_once() -> None:
    cache = VolumeCache(10 * MB)
    loads = []

    def load() -> Volume:
        loads.append(1)
        time.sleep(0.05)
        return volume_of(1)

    with ThreadPoolExecutor(4) as pool:
        volumes = list(pool.map(lambda _: cache.get(key("a"), load), range(4)))
    assert len(loads) == 1 and all(v is volumes[0] for v in volumes)


def test_a_failed_load_is_not_kept_and_is_tried_again() -> None:
    cache = VolumeCache(10 * MB)

    def broken() -> Volume:
        raise RuntimeError("fetch failed")

    with pytest.raises(RuntimeError):
        cache.get(key("a"), broken)
    assert cache.get(key("a"), lambda: volume_of(1)).nbytes == MB
