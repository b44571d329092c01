"""`compare` for coroutines: time sync and async cases interleaved inside one running event loop."""

from __future__ import annotations

import gc
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping

from .harness import Result

AsyncCase = Callable[[int], "Awaitable[object] | object"]


async def run_case(fn: AsyncCase, i: int) -> object:
    """Call `fn(i)`, awaiting the answer when it is awaitable (so plain functions mix with coroutines)."""
    answer = fn(i)
    if inspect.isawaitable(answer):
        return await answer
    return answer


async def compare_async(
    cases: Mapping[str, AsyncCase],
    *,
    n: int,
    warmup: int = 3,
    baselines: Mapping[str, str | None] | None = None,
) -> list[Result]:
    """Like `harness.compare` (A, B, C, A, B, C, …), for cases that may return awaitables.

    Blocking cases block the loop while they run; that is intended, nothing else is scheduled meanwhile.
    """
    for i in range(warmup):
        for fn in cases.values():
            await run_case(fn, i)
    samples: dict[str, list[int]] = {name: [] for name in cases}
    gc.collect()
    for i in range(n):
        for name, fn in cases.items():
            started = time.perf_counter_ns()
            await run_case(fn, i)
            samples[name].append(time.perf_counter_ns() - started)
    chosen = baselines or {}
    return [Result(name, samples[name], chosen.get(name)) for name in cases]


async def time_async(fn: Callable[[], Awaitable[object]]) -> int:
    """Nanoseconds one awaited call of `fn` takes."""
    started = time.perf_counter_ns()
    await fn()
    return time.perf_counter_ns() - started
