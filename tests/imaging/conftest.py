"""Shared fixtures for the imaging tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from imaging_testdata import read_bundled
from pydicom.dataset import Dataset


@pytest.fixture
def bundled() -> Callable[[str], Dataset]:
    return read_bundled
