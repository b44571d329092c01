#!/usr/bin/env bash
# Regenerate requirements.lock: the exact versions (with hashes) the container installs, from pyproject.toml
# (core dependencies plus the [otel] extra), for CPython 3.11 on Linux (the image and the dev venv). Needs `uv` (pip install uv).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
export UV_PYTHON_DOWNLOADS=never  # resolving needs no interpreter of that version
{
    echo "# The container's dependencies, pinned with hashes. Regenerate with scripts/lock.sh after changing"
    echo "# pyproject.toml; install with: pip install --require-hashes --no-deps -r requirements.lock"
    "$uv" pip compile pyproject.toml --extra otel --generate-hashes --python-version 3.11 \
        --python-platform linux --no-header
} > requirements.lock
