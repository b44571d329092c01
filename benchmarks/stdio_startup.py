"""Process start → first answers over stdio, timed with a bare JSON-RPC client (no SDK on the client side)."""

from __future__ import annotations

import json
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

PROTOCOL_VERSION = "2025-11-25"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "healthimaging-mcp-benchmarks", "version": "0"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}


class StartupFailed(RuntimeError):
    """The server exited, answered with an error or did not answer in time."""


@dataclass(frozen=True)
class StartupTiming:
    """One start: nanoseconds from spawning the process to each answer, and what tools/list carried."""

    initialize_ns: int
    tools_list_ns: int
    tool_count: int
    tools_list_chars: int
    stray_stdout_lines: int  # lines on stdout that are not JSON-RPC (must be 0)


class _Lines:
    """Reads a pipe line by line on a thread, so waiting for an answer can time out."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def next(self, deadline: float) -> bytes | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        try:
            return self._queue.get(timeout=remaining)
        except queue.Empty:
            raise TimeoutError from None


def _send(process: subprocess.Popen[bytes], message: Mapping[str, Any]) -> None:
    assert process.stdin is not None
    process.stdin.write(json.dumps(message).encode() + b"\n")
    process.stdin.flush()


def _answer(lines: _Lines, request_id: int, deadline: float) -> tuple[dict[str, Any], int, int]:
    """The response to `request_id`, when it arrived (ns, perf counter), and how many stray lines came first."""
    stray = 0
    while True:
        line = lines.next(deadline)
        if line is None:
            raise StartupFailed("the server closed stdout before answering")
        try:
            message = json.loads(line)
        except ValueError:
            stray += 1
            continue
        if isinstance(message, dict) and message.get("id") == request_id:
            if "error" in message:
                raise StartupFailed(f"request {request_id} failed: {message['error']}")
            return message, time.perf_counter_ns(), stray
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            stray += 1


def _stop(process: subprocess.Popen[bytes], wait_seconds: float) -> None:
    """Close stdin (the polite way to end a stdio server) and wait, then terminate, then kill.

    `wait_seconds` 0 terminates at once (a server with no work left loses nothing, and the run is shorter).
    """
    try:
        if process.stdin is not None:
            process.stdin.close()
        if wait_seconds <= 0:
            raise subprocess.TimeoutExpired(process.args, 0)
        process.wait(timeout=wait_seconds)
    except (subprocess.TimeoutExpired, OSError):
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def time_first_tools_list(
    argv: Sequence[str], env: Mapping[str, str], *, timeout: float = 60.0, exit_wait: float = 0.0
) -> StartupTiming:
    """Spawn `argv`, do the initialize handshake, ask tools/list; time both answers from the spawn."""
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter_ns()
        process = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env)
        try:
            assert process.stdout is not None
            lines = _Lines(process.stdout)
            deadline = time.monotonic() + timeout
            _send(process, INITIALIZE)
            _, initialized_at, stray_before = _answer(lines, 1, deadline)
            _send(process, INITIALIZED)
            _send(process, TOOLS_LIST)
            listed, listed_at, stray_after = _answer(lines, 2, deadline)
        except (StartupFailed, TimeoutError) as exc:
            _stop(process, 1.0)
            stderr.seek(0)
            tail = stderr.read()[-800:].decode(errors="replace")
            raise StartupFailed(f"{' '.join(argv[:4])}…: {exc or 'timed out'}; stderr: {tail}") from None
        finally:
            if process.returncode is None:
                _stop(process, exit_wait)
    tools = listed["result"].get("tools", [])
    return StartupTiming(
        initialize_ns=initialized_at - started,
        tools_list_ns=listed_at - started,
        tool_count=len(tools),
        tools_list_chars=len(json.dumps(listed["result"], separators=(",", ":"), ensure_ascii=False)),
        stray_stdout_lines=stray_before + stray_after,
    )


def time_process(argv: Sequence[str], env: Mapping[str, str], *, timeout: float = 60.0) -> int:
    """Nanoseconds from spawning `argv` to its exit (it must exit with status 0)."""
    started = time.perf_counter_ns()
    completed = subprocess.run(list(argv), env=env, capture_output=True, timeout=timeout, check=False)
    elapsed = time.perf_counter_ns() - started
    if completed.returncode != 0:
        raise StartupFailed(f"{' '.join(argv)} exited {completed.returncode}: {completed.stderr[-400:]!r}")
    return elapsed
