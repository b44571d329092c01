"""The viewer's build tools (node, esbuild in viewer/node_modules): what is missing, and skipping for want of it."""

from __future__ import annotations

import shutil
from pathlib import Path

VIEWER = Path(__file__).resolve().parents[2] / "viewer"


def missing_node_tools() -> str | None:
    """What building the viewer lacks on this machine (CI installs it: .ci/run)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (VIEWER / "node_modules" / "esbuild").is_dir():
        return "viewer/node_modules is missing (npm ci in viewer/)"
    return None
