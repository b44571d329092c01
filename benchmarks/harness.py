"""Timing helpers and the result model every suite shares: measure, summarise, render as Markdown."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NS_PER_MS = 1_000_000

Cell = str | int | float | None


@dataclass(frozen=True)
class Options:
    """What the command line asked for; suites read it to size their work."""

    quick: bool = False

    def n(self, full: int, quick: int) -> int:
        """An iteration count: `full` normally, `quick` under --quick."""
        return quick if self.quick else full


@dataclass
class Result:
    """Repeated timings of one case, in nanoseconds; `baseline` names the case it is compared with."""

    name: str
    samples_ns: list[int]
    baseline: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.samples_ns)

    def percentile_ms(self, q: float) -> float:
        return percentile(self.samples_ns, q) / NS_PER_MS

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p95_ms(self) -> float:
        return self.percentile_ms(95)

    @property
    def mean_ms(self) -> float:
        return sum(self.samples_ns) / len(self.samples_ns) / NS_PER_MS if self.samples_ns else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "baseline": self.baseline,
            "n": self.n,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "mean_ms": self.mean_ms,
            "samples_ms": [s / NS_PER_MS for s in self.samples_ns],
            "info": self.info,
        }


@dataclass
class Table:
    """One printed table: a title, columns, rows of cells and a note line explaining the baseline."""

    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""
    results: list[Result] = field(default_factory=list)  # the raw data behind the rows, for --json

    def to_markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|")
        lines += ["| " + " | ".join(format_cell(c) for c in row) + " |" for row in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "note": self.note,
            "results": [r.to_dict() for r in self.results],
        }


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def format_cell(value: Cell) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def time_once(fn: Callable[[], object]) -> int:
    """Nanoseconds one call of `fn` takes."""
    started = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - started


def measure(name: str, fn: Callable[[int], object], *, n: int, warmup: int = 3, baseline: str | None = None) -> Result:
    """Call `fn(i)` `warmup` times untimed, then `n` times timed (i counts up, so `fn` can cycle inputs)."""
    return compare({name: fn}, n=n, warmup=warmup, baselines={name: baseline} if baseline else None)[0]


def compare(
    cases: Mapping[str, Callable[[int], object]],
    *,
    n: int,
    warmup: int = 3,
    baselines: Mapping[str, str | None] | None = None,
) -> list[Result]:
    """Time several cases interleaved (case A, B, C, A, B, C, …) so drift in the machine hits all alike."""
    for i in range(warmup):
        for fn in cases.values():
            fn(i)
    samples: dict[str, list[int]] = {name: [] for name in cases}
    gc.collect()
    for i in range(n):
        for name, fn in cases.items():
            started = time.perf_counter_ns()
            fn(i)
            samples[name].append(time.perf_counter_ns() - started)
    chosen = baselines or {}
    return [Result(name, samples[name], chosen.get(name)) for name in cases]


LATENCY_COLUMNS = ["case", "p50 ms", "p95 ms", "mean ms", "n", "baseline p50 ms", "p50 overhead ms", "p50 ratio"]


def latency_row(result: Result, by_name: Mapping[str, Result]) -> list[Cell]:
    """One row: the case's percentiles, and how its median compares with its baseline's."""
    row: list[Cell] = [result.name, result.p50_ms, result.p95_ms, result.mean_ms, result.n]
    base = by_name.get(result.baseline) if result.baseline else None
    if base is None:
        return [*row, None, None, None]
    ratio = f"{result.p50_ms / base.p50_ms:.2f}×" if base.p50_ms > 0 else None
    return [*row, base.p50_ms, result.p50_ms - base.p50_ms, ratio]


def latency_table(title: str, results: Sequence[Result], note: str = "") -> Table:
    """A latency table; each result's baseline is looked up by name among `results`."""
    by_name = {r.name: r for r in results}
    rows = [latency_row(r, by_name) for r in results]
    return Table(title, list(LATENCY_COLUMNS), rows, note, list(results))
