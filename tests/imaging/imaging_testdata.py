"""pydicom's bundled test files, read without network access (never via get_testdata_file)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def read_bundled(name: str) -> Dataset:
    """Read one bundled file by its path relative to pydicom's test_files folder."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(PYDICOM_FILES / name, force=True)
