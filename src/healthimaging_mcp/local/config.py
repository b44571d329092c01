"""How one local service is configured, and where it keeps its data by default (a per-user data folder)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .store.arns import LOCAL_ACCOUNT_ID

APP_NAME = "healthimaging-mcp"


@dataclass(frozen=True)
class LocalConfig:
    data_dir: Path
    default_region: str = "us-east-1"
    account_id: str = LOCAL_ACCOUNT_ID
    import_workers: int = 2
    write_seconds: float = 0.0  # how long an image set update, copy or delete stays LOCKED before it completes


def default_data_dir() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / APP_NAME / "local"
