"""Finding, fetching, decoding and rendering image frames for the image tools."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dicom.document import FrameRef, ImageSetDocument, InstanceView, SeriesView
from ..dicom.values import as_text
from ..errors import ErrorType, HealthImagingError, invalid
from ..imaging.codecs import FrameDecodeError, decode_frame
from ..imaging.layout import FrameLayout
from ..imaging.reformat import AXIS_NAMES, PLANE_NAMES, PLANES, Plane
from ..imaging.render import reduce_for_size
from ..imaging.syntaxes import HTJ2K_SYNTAXES, normalize_uid
from ..imaging.volume import FrameGeometry, plane_name
from ..imaging.window import (
    WINDOW_PRESETS,
    WindowSpec,
    apply_modality_lut,
    modality_lut_of,
    modality_units,
    rescale_of,
)
from ..runtime import Runtime

FETCH_WORKERS = 8


@dataclass(frozen=True)
class FrameTarget:
    series: SeriesView
    instance: InstanceView
    frame: FrameRef
    slice_index: int  # position of the frame in the series display order

    @property
    def attributes(self) -> dict[str, Any]:
        """Series-level then instance-level attributes (PixelPaddingValue lives at series level)."""
        return {**self.series.attributes, **self.instance.attributes}


def pick_series(document: ImageSetDocument, series_uid: str | None) -> SeriesView:
    if series_uid:
        series = document.series_by_uid(series_uid)
        if series is None:
            raise HealthImagingError(
                ErrorType.NOT_FOUND, f"Series {series_uid} is not in this image set.", next_step=_series_hint(document)
            )
        return series
    imaging = [s for s in document.series if s.frame_count]
    if len(imaging) == 1:
        return imaging[0]
    if not imaging:
        raise HealthImagingError(ErrorType.NOT_FOUND, "This image set has no image frames (no pixel data).")
    raise invalid(f"This image set has {len(imaging)} series with images; say which.", _series_hint(document))


def _series_hint(document: ImageSetDocument) -> str:
    listed = "; ".join(
        f"{s.uid} = {s.modality or '?'} {s.description or ''} ({s.frame_count} frames)" for s in document.series[:10]
    )
    return f"Pass series_instance_uid, one of: {listed}"


def slice_position(series: SeriesView, instance: InstanceView, frame: FrameRef) -> int:
    position = 0
    for candidate in series.instances:
        if candidate.sop_uid == instance.sop_uid:
            return position + frame.index
        position += len(candidate.frames)
    return position


def locate(
    document: ImageSetDocument,
    *,
    image_frame_id: str | None = None,
    series_uid: str | None = None,
    instance_number: int | None = None,
    slice_index: int | None = None,
    frame_index: int | None = None,
) -> FrameTarget:
    """The frame asked for: by ID, by instance number (+frame), by slice index, or the middle slice.

    Never a silent choice: an address given two ways (a frame ID beside an instance number, say), an instance
    number shared by several instances, or a slice whose instance the display order cannot tell from others
    (same number and position) is refused, the last two with the candidates.
    """
    one_address(image_frame_id, instance_number, slice_index, frame_index)
    if image_frame_id:
        found = document.find_frame(image_frame_id)
        if found is None:
            raise HealthImagingError(
                ErrorType.NOT_FOUND,
                f"Image frame {image_frame_id} is not in this image set version.",
                next_step="Omit image_frame_id and address the frame by series and instance number or slice index.",
            )
        series, instance, frame = found
        if series_uid and series_uid != series.uid:
            raise invalid(
                f"Image frame {image_frame_id} belongs to series {series.uid}, not {series_uid}.",
                "Give image_frame_id alone, or the series with an instance number or slice index.",
            )
        return FrameTarget(series, instance, frame, slice_position(series, instance, frame))
    series = pick_series(document, series_uid)
    if instance_number is not None:
        frame_index = frame_index or 0
        numbered = series.instances_by_number(instance_number)
        if not numbered:
            numbers = [i.instance_number for i in series.instances if i.instance_number is not None]
            span = f"{min(numbers)}-{max(numbers)}" if numbers else "none"
            raise HealthImagingError(
                ErrorType.NOT_FOUND, f"No instance number {instance_number} in this series (instance numbers: {span})."
            )
        if len(numbered) > 1:
            raise _ambiguous(
                f"Instance number {instance_number} matches {len(numbered)} instances", numbered, frame_index
            )
        (instance,) = numbered
        if not 0 <= frame_index < len(instance.frames):
            raise invalid(f"frame_index must be within 0-{len(instance.frames) - 1} for this instance.")
        frame = instance.frames[frame_index]
        return FrameTarget(series, instance, frame, slice_position(series, instance, frame))
    total = series.frame_count
    index = total // 2 if slice_index is None else slice_index
    if not 0 <= index < total:
        raise invalid(f"slice_index must be within 0-{total - 1} for this series.")
    target = slice_target(series, index)
    tied = series.ties_of(target.instance)
    if len(tied) > 1:
        raise _ambiguous(
            f"Slice {index} is one of {len(tied)} instances at the same position", tied, target.frame.index
        )
    return target


def one_address(
    image_frame_id: str | None, instance_number: int | None, slice_index: int | None, frame_index: int | None
) -> None:
    """Refuse a frame addressed two ways: one of them would be ignored."""
    given = {
        "image_frame_id": bool(image_frame_id),
        "instance_number": instance_number is not None,
        "slice_index": slice_index is not None,
    }
    named = [name for name, present in given.items() if present]
    if len(named) > 1:
        raise invalid(
            f"{' and '.join(named)} each name a frame; give one of them.",
            "image_frame_id alone, instance_number (with frame_index for a multi-frame instance), or slice_index.",
        )
    if frame_index is not None and not given["instance_number"]:
        raise invalid(
            "frame_index picks a frame of the instance given by instance_number; "
            + (f"{named[0]} already names one frame." if named else "give instance_number with it."),
            "Give frame_index only together with instance_number.",
        )


def slice_target(series: SeriesView, index: int) -> FrameTarget:
    """The `index`-th frame of the series in display order (no ambiguity check: montages show them all)."""
    instance, frame = series.frame_at(index)
    return FrameTarget(series, instance, frame, index)


_MAX_CANDIDATES = 8


def _ambiguous(what: str, instances: list[InstanceView], frame_index: int) -> HealthImagingError:
    """A validation error listing the instances that match, each with the image_frame_id that picks it."""
    rows = []
    for instance in instances[:_MAX_CANDIDATES]:
        frame = instance.frames[min(frame_index, len(instance.frames) - 1)] if instance.frames else None
        acquisition = as_text(instance.attributes.get("AcquisitionNumber"))
        position = instance.slice_position()
        details = [f"SOP {instance.sop_uid}"]
        if acquisition:
            details.append(f"acquisition {acquisition}")
        if position is not None:
            details.append(f"position {position:g}")
        rows.append(f"{frame.id if frame else '(no frames)'} ({', '.join(details)})")
    more = f"; {len(instances) - _MAX_CANDIDATES} more" if len(instances) > _MAX_CANDIDATES else ""
    return invalid(
        f"{what}; say which: {'; '.join(rows)}{more}.",
        "Call again with image_frame_id set to one of the IDs listed.",
    )


def window_spec(window: str | None, center: float | None, width: float | None) -> WindowSpec:
    if center is not None or width is not None:
        if center is None or width is None or width <= 0:
            raise invalid("window_center and window_width go together, and window_width must be > 0.")
        return WindowSpec.explicit(center, width)
    if window in (None, "dicom"):
        return WindowSpec.from_dicom()
    if window == "auto":
        return WindowSpec.auto()
    if window == "none":
        return WindowSpec.none()
    if window in WINDOW_PRESETS:
        return WindowSpec.named(window)
    raise invalid(f"Unknown window {window!r}: use dicom, auto, none or a preset ({', '.join(WINDOW_PRESETS)}).")


def decode(target: FrameTarget, data: bytes, *, reduce: int = 0) -> np.ndarray:
    syntax = target.instance.stored_transfer_syntax_uid
    level = reduce if normalize_uid(syntax) in HTJ2K_SYNTAXES else 0
    try:
        return decode_frame(data, syntax, FrameLayout.from_attributes(target.attributes), reduce=level)
    except FrameDecodeError as exc:
        raise HealthImagingError(
            ErrorType.SERVICE,
            f"Cannot decode this frame ({syntax}): {exc}",
            next_step="Save it with save_kind=encoded.",
        ) from None


def reduce_level(target: FrameTarget, size: int) -> int:
    rows, columns = FrameLayout.from_attributes(target.attributes).shape[:2]
    return reduce_for_size(rows, columns, size, size) if rows and columns else 0


def fetch_and_decode(
    rt: Runtime, datastore_id: str, image_set_id: str, targets: list[FrameTarget], *, size: int, workers: int
) -> list[np.ndarray]:
    """Fetch frames concurrently and decode each at the smallest resolution level that still fills `size`."""
    return fetch_and_decode_from(rt, datastore_id, [(image_set_id, t) for t in targets], size=size, workers=workers)


def fetch_and_decode_from(
    rt: Runtime, datastore_id: str, frames: list[tuple[str, FrameTarget]], *, size: int, workers: int
) -> list[np.ndarray]:
    """As `fetch_and_decode`, for frames of several image sets: (image set ID, frame) pairs."""

    def one(item: tuple[str, FrameTarget]) -> np.ndarray:
        image_set_id, target = item
        data, _ = rt.aws.get_image_frame(datastore_id, image_set_id, target.frame.id)
        return decode(target, data, reduce=reduce_level(target, size))

    if workers <= 1:
        return [one(item) for item in frames]
    with ThreadPoolExecutor(min(workers, FETCH_WORKERS, len(frames) or 1)) as pool:
        return list(pool.map(one, frames))


def saved_pixels(target: FrameTarget, pixels: np.ndarray, kind: str) -> tuple[np.ndarray, str]:
    """The array to save for save_kind "pixels" (stored values) or "modality" (float32 in modality units), and a
    note that says what the numbers mean."""
    attrs = target.attributes
    units = modality_units(attrs, target.frame.index) or "modality units"
    if kind == "modality":
        if pixels.ndim != 2 or (as_text(attrs.get("PhotometricInterpretation")) or "").upper() == "PALETTE COLOR":
            raise invalid("Colour and palette images have no modality values.", "Use save_kind=pixels (or rendered).")
        return apply_modality_lut(pixels, attrs, target.frame.index), f"{units}, float32 .npy"
    note = f"stored values, {pixels.dtype} .npy"
    if pixels.ndim == 2 and modality_lut_of(attrs) is None:
        slope, intercept = rescale_of(attrs, target.frame.index)
        if (slope, intercept) != (1.0, 0.0):
            sign = "-" if intercept < 0 else "+"
            note += f"; {units} = value × {slope:g} {sign} {abs(intercept):g} (save_kind=modality saves them)"
    return pixels, note


def frame_position(target: FrameTarget) -> tuple[Plane, float] | None:
    """The named plane of a frame and its patient coordinate along that plane's axis (z for axial…); None when
    the frame has no position or is oblique."""
    geometry = FrameGeometry.from_attributes(target.attributes, target.frame.index)
    if geometry is None:
        return None
    name = plane_name(geometry.normal)
    plane = next((p for p in PLANE_NAMES if p == name), None)  # None: oblique
    return None if plane is None else (plane, geometry.position[PLANES[plane].axis])


def caption(target: FrameTarget, rendered_size: tuple[int, int] | None, window: Mapping[str, Any]) -> str:
    """A patient-free description of the frame shown."""
    layout = FrameLayout.from_attributes(target.attributes)
    placed = frame_position(target)
    parts = [
        target.series.modality or "?",
        target.series.description or "",
        f"instance {target.instance.instance_number}" if target.instance.instance_number is not None else "",
        f"slice {target.slice_index + 1}/{target.series.frame_count}",
        f"frame {target.frame.index + 1}/{len(target.instance.frames)}" if len(target.instance.frames) > 1 else "",
        f"{placed[0]} {AXIS_NAMES[PLANES[placed[0]].axis]} = {placed[1]:.1f} mm" if placed else "",
        f"{layout.columns}×{layout.rows}" + (f" shown {rendered_size[0]}×{rendered_size[1]}" if rendered_size else ""),
    ]
    if window.get("center") is not None:
        units = modality_units(target.attributes, target.frame.index)
        parts.append(window_text(window["center"], window["width"], window["source"], units))
    return " · ".join(p for p in parts if p)


def window_text(center: float, width: float, source: str, units: str | None) -> str:
    """ "window C40/W400 HU (dicom)": the numbers in the modality's `units` (with 3 significant digits below 10)."""
    units = units if source not in ("voi_lut", "mask") else None

    def number(value: float) -> str:
        return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.3g}"

    return f"window C{number(center)}/W{number(width)}{' ' + units if units else ''} ({source})"
