"""Where the local service keeps its data by default: a per-user data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "healthimaging-mcp"


def default_data_dir() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / APP_NAME / "local"
