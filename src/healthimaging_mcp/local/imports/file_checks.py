"""Is one DICOM Part 10 file whole and its pixel data usable? Checked before anything of it is stored.

A file cut short (inside Pixel Data or anywhere else), pixel data missing where the SOP class needs it, or
native pixel data shorter than Rows × Columns × SamplesPerPixel × BitsAllocated × NumberOfFrames fails with a
reason in our own words: pydicom's messages (and their "use force=True" advice) never reach a user.
"""

from __future__ import annotations

import io
import zlib
from typing import Any

import pydicom
from pydicom import config as pydicom_config
from pydicom.datadict import dictionary_description
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.utils import get_expected_length
from pydicom.uid import UID, EnhancedUSVolumeStorage, ParametricMapStorage, SegmentationStorage

from ...dicom.search_tags import MAX_LENGTHS, SEARCH_TAGS
from ...imaging.codecs import FrameDecodeError
from ...imaging.dataset_pixels import iter_encoded_frames, number_of_frames
from ...imaging.syntaxes import DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, NATIVE_SYNTAXES, is_video, normalize_uid

# Values that break a VR's rules are imported as they are (the service does too), without warnings.
pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE

UNDEFINED_LENGTH = 0xFFFFFFFF
PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# SOP classes without "Image Storage" in their name whose instances still carry pixel data.
_PIXEL_SOP_CLASSES = frozenset({SegmentationStorage, EnhancedUSVolumeStorage, ParametricMapStorage})

# The HealthImaging search member named in a length error, by DICOM keyword.
_SEARCH_MEMBER = {keyword: member for member, (_, keyword) in SEARCH_TAGS.items()}


class IngestError(ValueError):
    """The file cannot be imported; reported for that file alone, the rest of the job goes on."""

    exception_type = "ValidationException"


def read_part10(data: bytes) -> Dataset:
    """The data set of a whole Part 10 file that has the attributes HealthImaging requires."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except InvalidDicomError:
        raise IngestError("Not a DICOM Part 10 file: there is no 'DICM' marker after the 128-byte preamble") from None
    except (EOFError, ValueError, OSError, KeyError, TypeError, AttributeError, IndexError, zlib.error):
        raise IngestError("The file cannot be read as DICOM: it is cut short or damaged") from None
    transfer_syntax = normalize_uid(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None))
    if not transfer_syntax:
        raise IngestError("DICOM attribute TransferSyntaxUID does not exist")
    if transfer_syntax != DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN:  # positions of a deflated set are not file offsets
        _check_whole(ds, data)
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
        if not ds.get(keyword):
            raise IngestError(f"DICOM attribute {keyword} does not exist")
    for keyword, limit in MAX_LENGTHS.items():
        value = ds.get(keyword)
        if value is not None and len(str(value)) > limit:
            raise IngestError(
                f"DICOM attribute {keyword} is longer than {limit} characters ({_SEARCH_MEMBER[keyword]})"
            )
    return ds


def _element_name(tag: int) -> str:
    text = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    try:
        return f"{dictionary_description(tag)} {text}"
    except KeyError:
        return text


def _check_whole(ds: Dataset, data: bytes) -> None:
    """Refuse a data set that stops before the end of the file (pydicom reads what it can, silently).

    Must run before any element is accessed: it reads the raw elements' file positions and lengths.
    """
    size = len(data)
    tags = list(ds.keys())
    if not tags:  # pydicom drops everything when the file ends inside an undefined-length element
        if _readable_before_pixels(data):
            raise IngestError("The file is cut short: it ends inside its encapsulated Pixel Data (7FE0,0010)")
        raise IngestError("The file is cut short or damaged: no data element could be read after its file meta header")
    elements = [ds.get_item(tag) for tag in tags]
    last = max(elements, key=lambda e: (e.value_tell if isinstance(e, RawDataElement) else e.file_tell) or 0)
    if not isinstance(last, RawDataElement):
        return  # an undefined-length sequence: a cut inside it already failed the read
    value = last.value or b""
    name = _element_name(int(last.tag))
    if last.length == UNDEFINED_LENGTH:
        end = last.value_tell + len(value) + 8  # the value, then its sequence delimitation item
    else:
        if len(value) < last.length:
            raise IngestError(
                f"The file is cut short: it ends inside {name}, after {len(value):,} of its {last.length:,} bytes"
            )
        end = last.value_tell + last.length
    if end < size and data[end:].strip(b"\0"):  # trailing NUL padding is harmless
        raise IngestError(
            f"The file is cut short or damaged: the {size - end:,} bytes after {name} "
            "are not a whole DICOM data element"
        )


def _readable_before_pixels(data: bytes) -> bool:
    try:
        return len(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).keys()) > 0
    except Exception:
        return False


def requires_pixel_data(sop_class_uid: str) -> bool:
    """Image storage SOP classes (and segmentations, parametric maps, US volumes) carry pixel data."""
    uid = UID(normalize_uid(sop_class_uid) or "")
    return uid in _PIXEL_SOP_CLASSES or "Image Storage" in uid.name


def check_pixel_data(ds: Dataset) -> None:
    """Pixel data present where required; native data long enough; encapsulated data split into its frames."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if not any(keyword in ds for keyword in PIXEL_DATA_KEYWORDS):
        if requires_pixel_data(sop_class):
            raise IngestError(f"{UID(sop_class).name} instances need Pixel Data (7FE0,0010); this file has none")
        return
    if "PixelData" not in ds:
        return  # float pixel data is stored as instance metadata, not as frames
    transfer_syntax = str(normalize_uid(ds.file_meta.TransferSyntaxUID))
    if is_video(transfer_syntax):
        return
    for keyword in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated"):
        _image_pixel_int(ds, keyword)
    if transfer_syntax in NATIVE_SYNTAXES:
        _check_native_length(ds)
    else:
        _check_frame_count(ds, transfer_syntax)


def _image_pixel_int(ds: Dataset, keyword: str) -> int:
    value: Any = ds.get(keyword)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise IngestError(f"Pixel Data cannot be checked: {keyword} is missing or not a positive number")
    return number


def _check_native_length(ds: Dataset) -> None:
    try:
        frames = number_of_frames(ds)
        expected = get_expected_length(ds, unit="bytes")
    except (FrameDecodeError, ValueError, TypeError, AttributeError):
        raise IngestError("Pixel Data cannot be checked: the Image Pixel attributes are inconsistent") from None
    actual = len(ds.PixelData or b"")
    if actual < expected:
        raise IngestError(
            f"Pixel Data holds {actual:,} bytes; Rows × Columns × SamplesPerPixel × BitsAllocated × NumberOfFrames "
            f"({ds.Rows} × {ds.Columns} × {ds.SamplesPerPixel} × {ds.BitsAllocated} bits × {frames}) "
            f"needs {expected:,}"
        )


def _check_frame_count(ds: Dataset, transfer_syntax: str) -> None:
    try:
        expected = number_of_frames(ds)
    except FrameDecodeError:
        raise IngestError("NumberOfFrames is not a number") from None
    try:
        for _ in iter_encoded_frames(ds):  # stops at NumberOfFrames, raises when there are fewer
            pass
    except FrameDecodeError:
        raise IngestError(
            f"The encapsulated Pixel Data ({UID(transfer_syntax).name}) does not hold the {expected} frame(s) "
            "NumberOfFrames declares, or its fragments are damaged"
        ) from None
    except Exception:
        raise IngestError(f"The encapsulated Pixel Data ({UID(transfer_syntax).name}) is damaged") from None
