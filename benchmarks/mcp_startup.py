"""Start-up table: process start → first tools/list answer over stdio, with the interpreter and import floors."""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .harness import NS_PER_MS, Cell, Options, Result, Table
from .stdio_startup import StartupFailed, StartupTiming, time_first_tools_list, time_process

STARTUP_TARGET_MS = 1500.0
FIRST_USE_EXIT_WAIT_S = 180.0  # closing a first-use --local server waits for its background seeding


@dataclass
class StartCase:
    label: str
    start: Callable[[], StartupTiming | int]  # a server start (timing) or a plain process (ns to exit)
    runs: list[StartupTiming | int] = field(default_factory=list)
    failure: str | None = None

    def record(self) -> None:
        if self.failure:
            return
        try:
            self.runs.append(self.start())
        except StartupFailed as exc:
            self.failure = str(exc)[:300]


def _server(argv: list[str], env: dict[str, str], exit_wait: float = 0.0) -> Callable[[], StartupTiming]:
    return lambda: time_first_tools_list(argv, env, exit_wait=exit_wait)


def _process(argv: list[str], env: dict[str, str]) -> Callable[[], int]:
    return lambda: time_process(argv, env)


def _import_floor(python: str, module: str, env: dict[str, str]) -> Callable[[], int]:
    """Start → `module` imported; `os._exit` skips interpreter teardown, which a server start never waits for."""
    return _process([python, "-c", f"import os, {module}; os._exit(0)"], env)


def startup_table(endpoint: str, root: Path, options: Options) -> Table:
    """Median of several starts of each case, interleaved; `--local` is first started once on a fresh folder."""
    python = sys.executable
    env = dict(os.environ)
    server = [python, "-m", "healthimaging_mcp"]
    local_dir = root / "local-data"
    # The first --local start also seeds the folder the warm starts use; --quick skips the wait and the warm starts.
    first_use = StartCase(
        "stdio server --local, first use (fresh folder, seeds in background)",
        _server([*server, "--local", str(local_dir)], env, 1.0 if options.quick else FIRST_USE_EXIT_WAIT_S),
    )
    first_use.record()
    cases = [
        StartCase("python -c pass", _process([python, "-c", "pass"], env)),
        StartCase(
            "python: import mcp.server.mcpserver (SDK floor)", _import_floor(python, "mcp.server.mcpserver", env)
        ),
        StartCase("python: import healthimaging_mcp.server", _import_floor(python, "healthimaging_mcp.server", env)),
        StartCase(
            "stdio server, AWS mode (--endpoint-url local service)",
            _server([*server, "--endpoint-url", endpoint, "--region", "us-east-1"], env),
        ),
    ]
    if not options.quick:
        cases.append(
            StartCase("stdio server --local (seeded folder)", _server([*server, "--local", str(local_dir)], env))
        )
    for _ in range(options.n(5, 1)):
        for case in cases:
            case.record()
    rows = [_row(case) for case in [*cases, first_use]]
    columns = ["case", "runs", "initialize answered ms", "tools/list answered (or exit) ms", "min ms", "max ms"]
    columns += ["tools", "tools/list chars", "< 1.5 s?"]
    note = (
        "Wall time from spawning the process (`python -m healthimaging_mcp …`, a bare JSON-RPC client on its pipes) "
        "to the initialize answer and to the tools/list answer, median of the runs, interleaved. The `python` rows "
        "are process start to exit (`os._exit` right after the import). Read-only mode (default)."
    )
    failures = [f"{case.label}: {case.failure}" for case in [*cases, first_use] if case.failure]
    if failures:
        note += " FAILED: " + "; ".join(failures)
    results = [Result(case.label, [_ready_ns(run) for run in case.runs]) for case in [*cases, first_use]]
    return Table("Start-up: process start → first tools/list answer over stdio", columns, rows, note, results)


def _ready_ns(run: StartupTiming | int) -> int:
    return run.tools_list_ns if isinstance(run, StartupTiming) else run


def _row(case: StartCase) -> list[Cell]:
    if not case.runs:
        return [case.label, 0, *([None] * 6), "failed"]
    ready = [_ready_ns(run) / NS_PER_MS for run in case.runs]
    servers = [run for run in case.runs if isinstance(run, StartupTiming)]
    row: list[Cell] = [case.label, len(case.runs)]
    row.append(statistics.median(s.initialize_ns / NS_PER_MS for s in servers) if servers else None)
    row += [statistics.median(ready), min(ready), max(ready)]
    if servers:
        stray = sum(s.stray_stdout_lines for s in servers)
        verdict = "yes" if statistics.median(ready) < STARTUP_TARGET_MS else "no"
        row += [
            servers[-1].tool_count,
            f"{servers[-1].tools_list_chars:,}",
            verdict + (f" ({stray} non-JSON lines!)" if stray else ""),
        ]
    else:
        row += [None, None, None]
    return row
