"""Shared fixtures for the imaging tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydicom.dataset import Dataset

from tests.support.dicom_files import read_bundled


@pytest.fixture
def bundled() -> Callable[[str], Dataset]:
    return read_bundled
