"""Files the tools write: only inside the configured output folder, never elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import invalid


def output_path(output_dir: Path | None, requested: str, default_suffix: str) -> Path:
    """Resolve `requested` inside `output_dir`; refuse anything that would land outside it."""
    if output_dir is None:
        raise invalid(
            "Saving files is disabled: no output folder is configured.",
            "Start the server with --output-dir DIR (or HEALTHIMAGING_MCP_OUTPUT_DIR) to allow saving there.",
        )
    root = output_dir.expanduser().resolve()
    candidate = Path(requested).expanduser()
    target = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if target != root and root not in target.parents:
        raise invalid(
            f"{requested!r} is outside the output folder {root}.",
            "Give a file name (or a relative path) inside the output folder.",
        )
    if target == root or target.is_dir():
        raise invalid(f"{requested!r} is a folder; give a file name.")
    if not target.suffix:
        target = target.with_suffix(default_suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def write_file(path: Path, data: bytes) -> Path:
    """Write atomically so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
