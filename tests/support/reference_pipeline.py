"""Our display pipeline against pydicom's reference pipeline, image by image, in grey levels.

Reference: pydicom decodes (`pydicom.pixels.pixel_array`, with the pylibjpeg / pyjpegls plugins of the dev
extras) and maps with `apply_modality_lut`, `apply_voi_lut`, `apply_color_lut` (YBR is converted to RGB by
pydicom's decoders, i.e. `convert_color_space`). Ours: `dataset_pixels` / `codecs` decode the same file and
`render.to_display` maps it. Enhanced objects are compared frame by frame, the reference reading each frame's
functional groups flattened onto the dataset. The mean absolute difference (MAD) is over all samples, 0–255.

Run `python -m tests.support.reference_pipeline` for the table; tests/imaging/test_imaging_reference.py checks it, and
tests/mcp/test_mcp_reference_images.py checks a subset end to end (local service, MCP get_image_frame).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut, apply_windowing
from pydicom.pixels.utils import pixel_array
from pydicom.uid import ImplicitVRLittleEndian

from healthimaging_mcp.imaging.codecs import decode_frame
from healthimaging_mcp.imaging.dataset_pixels import (
    frame_layout,
    iter_encoded_frames,
    iter_frames,
    number_of_frames,
    transfer_syntax_of,
)
from healthimaging_mcp.imaging.render import to_display
from healthimaging_mcp.imaging.syntaxes import NATIVE_SYNTAXES
from healthimaging_mcp.imaging.window import WindowSpec, mask_maximum
from tests.support.dicom_files import PYDICOM_FILES, pydicom_data_dir

_FRAMES_PER_FILE = 3  # first, middle and last frame of multi-frame files


def reference_files() -> list[tuple[str, Path]]:
    """(collection, path) of every DICOM file bundled with pydicom and in pydicom-data."""
    files = [("pydicom", path) for path in sorted(PYDICOM_FILES.glob("*.dcm"))]
    data_dir = pydicom_data_dir()
    if data_dir is not None:
        files += [("pydicom-data", path) for path in sorted(data_dir.glob("*.dcm"))]
    return files


@dataclass(frozen=True)
class Comparison:
    """One image compared (or skipped, with the reason)."""

    collection: str
    name: str
    photometric: str = ""
    mode: str = ""  # what was compared: "dicom window", "VOI LUT", "palette", "colour", "full range", "mask"
    frames: str = ""  # frames compared / frames in the file
    mad: float | None = None
    max_difference: int | None = None
    skipped: str | None = None


def read_reference(path: Path) -> Dataset:
    """The file, also without a preamble or file meta (then its transfer syntax is the encoding it was read in)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, force=True)
    if "TransferSyntaxUID" not in ds.file_meta and ds.original_encoding == (True, True):
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    return ds


def frame_view(ds: Dataset, index: int) -> Dataset:
    """A copy of `ds` (pixel data left out) with the Shared and then frame `index`'s Per-frame Functional Group
    macros copied to the top level. Big-endian palette data is swapped to little endian: pydicom's
    `apply_color_lut` reads plain (not segmented) LUT data as little endian whatever the dataset's encoding."""
    flat = Dataset()
    for element in ds:
        if element.keyword != "PixelData":
            flat.add(copy.copy(element))
    flat.file_meta = ds.file_meta
    implicit_vr, little_endian = ds.original_encoding
    flat.set_original_encoding(implicit_vr, little_endian, ds.original_character_set)
    if ds.original_encoding[1] is False:
        for channel in ("Red", "Green", "Blue"):
            keyword = f"{channel}PaletteColorLookupTableData"
            if keyword in flat:
                setattr(flat, keyword, np.frombuffer(flat[keyword].value, ">u2").astype("<u2").tobytes())
    for keyword, item_index in (("SharedFunctionalGroupsSequence", 0), ("PerFrameFunctionalGroupsSequence", index)):
        groups = ds.get(keyword)
        if not groups or item_index >= len(groups):
            continue
        for macro in groups[item_index]:
            if macro.VR == "SQ" and macro.value:
                for element in macro.value[0]:
                    flat[element.tag] = element
    return flat


def _indices(count: int) -> list[int]:
    return sorted({0, count // 2, count - 1}) if count > 1 else [0]


def our_frames(ds: Dataset, wanted: list[int]) -> dict[int, np.ndarray]:
    """Our decoder's frames `wanted` of `ds` (encapsulated: our codecs on each frame's codestream)."""
    if transfer_syntax_of(ds) not in NATIVE_SYNTAXES:  # encapsulated (compressed or .1.2.1.98)
        layout, syntax = frame_layout(ds), transfer_syntax_of(ds)
        return {i: decode_frame(data, syntax, layout) for i, data in enumerate(iter_encoded_frames(ds)) if i in wanted}
    return {i: frame for i, frame in enumerate(iter_frames(ds)) if i in wanted}


def reference_frames(ds: Dataset, path: Path, wanted: list[int], count: int) -> dict[int, np.ndarray]:
    """pydicom's frames `wanted`: one at a time from the file, else (e.g. deflated files) from the dataset."""
    try:
        return {i: pixel_array(path, index=i if count > 1 else None) for i in wanted}
    except Exception:
        frames = ds.pixel_array
        return {i: frames[i] if count > 1 else frames for i in wanted}


def _to_8bit(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((values.astype(np.float64) - low) / max(high - low, 1e-12) * 255.0, 0, 255)


def reference_display(ds: Dataset, stored: np.ndarray, index: int) -> tuple[np.ndarray, str, WindowSpec | None]:
    """pydicom's 8-bit rendering of one frame, the mode compared, and the window to ask of our pipeline."""
    flat = frame_view(ds, index)
    photometric = str(flat.get("PhotometricInterpretation", "")).upper()
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(stored, flat)
        nominal = int(flat.RedPaletteColorLookupTableDescriptor[2])
        if rgb.dtype == np.uint16 and (nominal > 8 or int(rgb.max()) > 255):
            rgb = rgb >> 8
        return rgb.astype(np.float64), "palette", None
    if stored.ndim == 3:
        if stored.dtype == np.uint8:
            return stored.astype(np.float64), "colour", None
        return _to_8bit(stored, 0, (1 << int(flat.BitsStored)) - 1), "colour", None
    values = apply_modality_lut(stored, flat)
    if "DoseGridScaling" in flat and "RescaleSlope" not in flat:  # PS3.3 C.8.8.3.4.1 (pydicom leaves it out)
        values = values * float(flat.DoseGridScaling)
    spec: WindowSpec | None = None
    if flat.get("VOILUTSequence"):
        item = flat.VOILUTSequence[0]
        grey = _to_8bit(apply_voi_lut(values, flat), 0, (1 << int(item.LUTDescriptor[2])) - 1)
        mode = "VOI LUT"
    else:
        if "WindowCenter" in flat and "WindowWidth" in flat:
            mode = "dicom window"
        elif mask_maximum(flat) is not None:
            maximum = float(mask_maximum(flat) or 1.0)
            flat.VOILUTFunction, flat.WindowCenter, flat.WindowWidth = "LINEAR_EXACT", maximum / 2, maximum
            mode = "mask"
        else:  # no window of its own: compare the full value range ("none")
            low, high = float(values.min()), float(values.max())
            flat.WindowCenter, flat.WindowWidth = (low + high) / 2 + 0.5, high - low + 1
            mode, spec = "full range", WindowSpec.none()
        # The output range of pydicom's windowing, read off by windowing two values far outside any window.
        y_min, y_max = apply_windowing(np.array([-1e15, 1e15]), flat)
        grey = _to_8bit(apply_windowing(values, flat), float(y_min), float(y_max))
    if photometric == "MONOCHROME1":
        grey = 255.0 - grey
    return np.rint(grey), mode, spec


def compare_file(collection: str, path: Path) -> Comparison:
    name = path.name
    try:
        ds = read_reference(path)
    except Exception as exc:
        return Comparison(collection, name, skipped=f"unreadable: {type(exc).__name__}")
    if "PixelData" not in ds:
        return Comparison(collection, name, skipped="no pixel data")
    photometric = str(ds.get("PhotometricInterpretation", ""))
    try:
        count = number_of_frames(ds)
    except Exception as exc:
        return Comparison(collection, name, photometric, skipped=f"bad NumberOfFrames: {exc}")
    wanted = _indices(count)
    try:
        references = reference_frames(ds, path, wanted, count)
    except Exception as exc:
        return Comparison(collection, name, photometric, skipped=f"pydicom cannot decode: {_short(exc)}")
    if photometric.upper() == "PALETTE COLOR" and ds.get("PixelPresentation") in ("MIXED", "COLOR"):
        return Comparison(collection, name, photometric, skipped="supplemental palette (pydicom has no reference)")
    try:
        ours = our_frames(ds, wanted)
    except Exception as exc:
        return Comparison(collection, name, photometric, skipped=f"our decoder fails: {_short(exc)}")
    differences, modes = [], set()
    for index in wanted:
        expected, mode, spec = reference_display(ds, references[index], index)
        shown = to_display(ours[index], ds, spec, frame_index=index).pixels.astype(np.float64)
        if shown.shape != expected.shape:
            return Comparison(collection, name, photometric, mode, skipped=f"shape {shown.shape} ≠ {expected.shape}")
        differences.append(np.abs(shown - expected))
        modes.add(mode)
    every = np.concatenate([d.reshape(-1) for d in differences])
    return Comparison(
        collection,
        name,
        photometric,
        "/".join(sorted(modes)),
        f"{len(wanted)}/{count}",
        float(every.mean()),
        int(every.max()),
    )


def _short(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:90]


def compare_all() -> Iterator[Comparison]:
    for collection, path in reference_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the odd files are odd on purpose
            yield compare_file(collection, path)


def table(rows: list[Comparison]) -> str:
    """A Markdown table of the comparisons."""
    lines = ["| collection | file | photometric | compared | frames | MAD | max |", "|---|---|---|---|---|---:|---:|"]
    for row in rows:
        if row.skipped:
            lines.append(f"| {row.collection} | {row.name} | {row.photometric} | skipped: {row.skipped} | | | |")
        else:
            lines.append(
                f"| {row.collection} | {row.name} | {row.photometric} | {row.mode} | {row.frames} "
                f"| {row.mad:.3f} | {row.max_difference} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(list(compare_all())))
