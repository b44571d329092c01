"""DICOM files in tests: Part 10 bytes of a dataset, file meta, sequence items, and the files bundled with pydicom
and pydicom-data (read without network access, never via get_testdata_file)."""

from __future__ import annotations

import importlib.util
import io
import warnings
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

PYDICOM_DATA = Path(pydicom.__file__).parent / "data"
PYDICOM_FILES = PYDICOM_DATA / "test_files"
CHARSET_FILES = PYDICOM_DATA / "charset_files"


def part10(ds: Dataset) -> bytes:
    """The dataset as a DICOM Part 10 file."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def with_meta(ds: Dataset) -> Dataset:
    """`ds` with a preamble and file meta (Explicit VR Little Endian), ready for `part10`."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    return ds


def item(**attributes: object) -> Dataset:
    """A sequence item holding `attributes` (keyword → value)."""
    found = Dataset()
    for keyword, value in attributes.items():
        setattr(found, keyword, value)
    return found


def read_bundled(name: str) -> Dataset:
    """Read one bundled file by its path relative to pydicom's test_files folder."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(PYDICOM_FILES / name, force=True)


def pydicom_data_dir() -> Path | None:
    """The files of the pydicom-data package (module `data_store`), if installed; never downloads."""
    spec = importlib.util.find_spec("data_store")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "data"
