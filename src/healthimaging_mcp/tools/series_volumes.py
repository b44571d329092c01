"""A series as a volume for the plane and measurement tools: its main stack planned from the metadata, the frames
fetched concurrently (GetImageFrame) and decoded into one voxel array, kept in the runtime's volume cache."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..dicom.document import ImageSetDocument, SeriesView
from ..dicom.values import find_value
from ..errors import invalid
from ..imaging.layout import FrameLayout
from ..imaging.volume import (
    FrameGeometry,
    Volume,
    VolumeError,
    allocate_volume,
    plan_stack,
    put_slice,
    shared_rescale,
)
from ..runtime import Runtime
from .frame_pipeline import FETCH_WORKERS, FrameTarget, decode, pick_series, slice_target

_SERIES_KEYWORDS = (
    "Modality",
    "PhotometricInterpretation",
    "RescaleType",
    "Units",
    "DoseUnits",
    "SeriesDescription",
    "SeriesDate",
    "BodyPartExamined",
    "FrameOfReferenceUID",
)
_FRAME_KEYWORDS = ("WindowCenter", "WindowWidth", "VOILUTFunction")


@dataclass(frozen=True)
class SeriesVolume:
    """A series of one image set version, its document and its volume."""

    image_set_id: str
    version: str
    document: ImageSetDocument
    series: SeriesView
    volume: Volume


def open_volume(
    rt: Runtime, datastore_id: str, image_set_id: str, version_id: str | None, series_uid: str | None
) -> SeriesVolume:
    """The volume of a series (the only imaging series when `series_uid` is None), from the cache when there."""
    version = version_id or rt.documents.latest_version(datastore_id, image_set_id)
    document = rt.documents.get(datastore_id, image_set_id, version)
    series = pick_series(document, series_uid)
    key = (datastore_id, image_set_id, version, series.uid)
    volume = rt.volumes.get(key, lambda: load_volume(rt, datastore_id, image_set_id, series))
    return SeriesVolume(image_set_id, version, document, series, volume)


def load_volume(rt: Runtime, datastore_id: str, image_set_id: str, series: SeriesView) -> Volume:
    """Plan the stack, fetch and decode its frames concurrently into one array."""
    targets = [slice_target(series, i) for i in range(series.frame_count)]
    try:
        plan = plan_stack([FrameGeometry.from_attributes(t.attributes, t.frame.index) for t in targets])
    except VolumeError as exc:
        raise invalid(f"This series cannot be shown as a volume: {exc}", "Look at its frames one by one.") from None
    members = [targets[i] for i in plan.members]
    layout = FrameLayout.from_attributes(members[0].attributes)
    if layout.samples_per_pixel != 1:
        raise invalid("Colour series cannot be shown as a volume.", "Look at its frames one by one.")
    rescale = shared_rescale([(t.attributes, t.frame.index) for t in members])
    itemsize = layout.dtype.itemsize if rescale is not None else 4
    nbytes = len(members) * layout.rows * layout.columns * itemsize
    if not rt.volumes.fits(nbytes):
        raise invalid(
            f"This series makes a {nbytes / 2**20:.0f} MB volume, more than the volume cache holds "
            f"({rt.volumes.max_bytes / 2**20:.0f} MB).",
            "Look at its frames one by one, or start the server with a larger --volume-cache-mb.",
        )
    middle = members[len(members) // 2]
    volume = allocate_volume(plan, layout.dtype, rescale, display_attributes(middle))

    def fetch(k: int) -> None:
        target = members[k]
        data, _ = rt.aws.get_image_frame(datastore_id, image_set_id, target.frame.id)
        try:
            put_slice(volume, k, decode(target, data), target.attributes, target.frame.index)
        except VolumeError as exc:
            raise invalid(f"This series cannot be shown as a volume: {exc}") from None

    with ThreadPoolExecutor(FETCH_WORKERS) as pool:
        list(pool.map(fetch, range(len(members))))
    return volume


def display_attributes(target: FrameTarget) -> dict[str, Any]:
    """What displaying and naming the volume's modality values needs, from one of its frames."""
    attributes = target.attributes
    found = {keyword: attributes.get(keyword) for keyword in _SERIES_KEYWORDS}
    found |= {keyword: find_value(attributes, keyword, target.frame.index) for keyword in _FRAME_KEYWORDS}
    return {keyword: value for keyword, value in found.items() if value is not None}
