"""Programs beyond Python that some tests need (dcmtk, node, Chromium): such tests skip where one is missing,
except in CI, which must run everything (`.ci/run` installs them and sets CI)."""

from __future__ import annotations

import os
import shutil

import pytest


def require(missing: str | None) -> None:
    """Skip for want of `missing` tools, except in CI, where it is a failure."""
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs every test, but {missing}")
        pytest.skip(missing)


def missing_dcmtk() -> str | None:
    """What checking DICOM files with dcmtk lacks on this machine."""
    absent = [tool for tool in ("dcmftest", "dcmdump") if shutil.which(tool) is None]
    return f"dcmtk is not installed (apt-get install dcmtk): no {', '.join(absent)}" if absent else None
