"""`python -m healthimaging_mcp` as a child process: its environment, and an HTTP server on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def child_env(**extra: str) -> dict[str, str]:
    """What the subprocess needs: PATH/HOME, PYTHONPATH (the code under test, not another installed copy) and the
    test's AWS settings (stdio clients pass nothing else)."""
    names = ("PATH", "HOME", "TMPDIR", "LANG", "PYTHONPATH")
    keep = {k: v for k, v in os.environ.items() if k.startswith("AWS_") or k in names}
    return {**keep, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def launch(
    port: int, *args: str, address: str = "127.0.0.1", stderr: Path | None = None, **env: str
) -> subprocess.Popen[bytes]:
    """`healthimaging-mcp --transport http --port PORT ARGS`, once it accepts connections at `address`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "healthimaging_mcp", "--transport", "http", "--port", str(port), *args],
        env=child_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=stderr.open("wb") if stderr else subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection((address, port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"no HTTP listener on {address}:{port} (exit code {process.wait()})")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)
