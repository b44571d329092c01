"""Files the tools write: only inside the configured output folder, never elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import invalid

MAX_NAME_CHARS = 255  # a requested name, folders included
MAX_PART_BYTES = 200  # one folder or file name: room for a suffix and the temporary name within the usual 255


def file_name_problem(requested: str) -> str | None:
    """Why `requested` cannot name a file inside the output folder, or None; never quotes the name (it may
    hold patient data, and error texts are logged)."""
    if not requested.strip():
        return "is empty"
    if not requested.isprintable():
        return "contains a NUL, control or other unprintable character"
    if len(requested) > MAX_NAME_CHARS:
        return f"is longer than {MAX_NAME_CHARS} characters"
    if "\\" in requested:
        return "contains a backslash; separate folders with '/'"
    parts = requested.split("/")
    if requested.startswith("~") or any(part in ("", ".", "..") for part in parts):
        return "must be a relative path inside the output folder (no leading '/' or '~', no empty, '.' or '..' parts)"
    if any(len(part.encode()) > MAX_PART_BYTES for part in parts):
        return f"has a folder or file name longer than {MAX_PART_BYTES} bytes"
    return None


def output_path(output_dir: Path | None, requested: str, default_suffix: str) -> Path:
    """Resolve `requested` inside `output_dir`; refuse anything that would land outside it."""
    if output_dir is None:
        raise invalid(
            "Saving files is disabled: no output folder is configured.",
            "Start the server with --output-dir DIR (or HEALTHIMAGING_MCP_OUTPUT_DIR) to allow saving there.",
        )
    problem = file_name_problem(requested)
    if problem:
        raise invalid(f"The file name {problem}.", "Give a short file name (or a relative path) in the output folder.")
    root = output_dir.expanduser().resolve()
    target = (root / requested).resolve()
    if target != root and root not in target.parents:  # a symbolic link leading out
        raise invalid(
            f"The file name leads outside the output folder {root} (through a symbolic link).",
            "Give a file name (or a relative path) inside the output folder.",
        )
    if target.is_dir():
        raise invalid("The file name names a folder; give a file name.")
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


def input_files(input_dir: Path | None, requested: str | None) -> tuple[list[tuple[str, Path]], list[str]]:
    """The regular files at `requested` (a file or folder, relative to `input_dir`; all of it when None), as
    (name relative to the folder, resolved path), and the names of entries refused because they lead outside it
    (symbolic links are resolved). Hidden files are skipped."""
    if input_dir is None:
        raise invalid(
            "Uploading files is disabled: no input folder is configured.",
            "Start the server with --input-dir DIR (or HEALTHIMAGING_MCP_INPUT_DIR) to allow uploads from there.",
        )
    root = input_dir.expanduser().resolve()
    problem = requested and file_name_problem(requested)
    if problem:
        raise invalid(
            f"The path {problem.replace('output', 'input')}.", "Give a relative path inside the input folder."
        )
    start = (root / requested).resolve() if requested else root
    if start != root and root not in start.parents:
        raise invalid("The path leads outside the input folder.", "Give a relative path inside the input folder.")
    if not start.exists():
        raise invalid("Nothing exists at that path in the input folder.")
    candidates = [start] if start.is_file() else sorted(p for p in start.rglob("*") if not p.is_dir())
    found: list[tuple[str, Path]] = []
    refused: list[str] = []
    for path in candidates:
        name = path.relative_to(root).as_posix() if path != root else path.name
        if any(part.startswith(".") for part in Path(name).parts):
            continue
        real = path.resolve()
        if root not in real.parents or not real.is_file():
            refused.append(name)
        else:
            found.append((name, real))
    return found, refused
