"""Seeing images: get_image_frame (one frame as a PNG/JPEG) and get_series_montage (a labelled contact sheet)."""

from __future__ import annotations

import base64
import io
from typing import Annotated, Literal

import numpy as np
from mcp.types import ContentBlock, ImageContent
from pydantic import Field, PrivateAttr

from ..files import output_path, write_file
from ..imaging.montage import MAX_BYTES, MontageFrame, choose_indices, render_montage, sheet_layout
from ..imaging.render import render_frame
from ..runtime import Runtime
from .common import UID_PATTERN, DatastoreIdArg, FileNameArg, ImageSetIdArg, VersionArg
from .frame_pipeline import (
    FETCH_WORKERS,
    FrameTarget,
    caption,
    decode,
    fetch_and_decode,
    locate,
    pick_series,
    saved_pixels,
    slice_target,
    window_spec,
    window_text,
)
from .registry import READ_ONLY, ToolOutput, Toolset

toolset = Toolset()

WindowArg = Annotated[
    str | None,
    Field(
        description="lung, mediastinum, soft_tissue, bone, brain, subdural, stroke, abdomen, liver, spine, auto, "
        "none, or dicom (the image's own; default)"
    ),
]
MontageWindowArg = Annotated[str | None, Field(description="As for get_image_frame.")]
SeriesUidArg = Annotated[str | None, Field(pattern=UID_PATTERN)]
_EXTENSIONS = {
    "image/jph": ".jph",
    "image/jphc": ".jhc",
    "image/j2c": ".j2c",
    "image/jpeg": ".jpg",
    "image/jxl": ".jxl",
}


class ImageAnswer(ToolOutput):
    """An image for the model: an image block, with the caption as the text block."""

    caption: str
    width: int
    height: int
    series_instance_uid: str
    slice_count: int | None = None
    window_center: float | None = None
    window_width: float | None = None
    window_source: str | None = None
    saved_to: str | None = None
    _image: tuple[bytes, str] | None = PrivateAttr(default=None)
    _saved_note: str = PrivateAttr(default="")

    def show(self, data: bytes, mime_type: str) -> None:
        self._image = (data, mime_type)

    def note_saved(self, note: str) -> None:
        """What the saved file holds (e.g. its units), said after its path."""
        self._saved_note = note

    def render(self) -> str:
        saved = f"\nSaved to {self.saved_to}" if self.saved_to else ""
        note = f": {self._saved_note}" if self.saved_to and self._saved_note else ""
        return f"{self.caption}{saved}{note}"

    def extra_content(self) -> list[ContentBlock]:
        if self._image is None:
            return []
        data, mime_type = self._image
        return [ImageContent(type="image", data=base64.b64encode(data).decode(), mime_type=mime_type)]


class FrameAnswer(ImageAnswer):
    sop_instance_uid: str
    image_frame_id: str
    instance_number: int | None = None
    slice_index: int


@toolset.tool(READ_ONLY)
def get_image_frame(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    datastore_id: DatastoreIdArg = None,
    series_instance_uid: SeriesUidArg = None,
    instance_number: int | None = None,
    slice_index: Annotated[int | None, Field(ge=0, description="0-based; default: the middle")] = None,
    frame_index: Annotated[int, Field(ge=0)] = 0,  # of a multi-frame instance
    image_frame_id: Annotated[str | None, Field(pattern=r"^[0-9a-z]{32}$")] = None,
    version_id: VersionArg = None,
    window: WindowArg = None,
    window_center: float | None = None,
    window_width: float | None = None,
    max_size: Annotated[int, Field(ge=32, le=2048)] = 512,
    image_format: Literal["png", "jpeg"] = "png",
    include_image: bool = True,
    save_as: Annotated[FileNameArg, Field(description="File name in the output folder.")] = None,
    save_kind: Literal["rendered", "encoded", "pixels", "modality"] = "rendered",
) -> FrameAnswer:
    """Look at one image (decoded, windowed PNG/JPEG) with a caption. Address it by series + instance_number or
    slice_index (default: the middle slice), or by image_frame_id."""
    spec = window_spec(window, window_center, window_width)
    datastore_id = rt.resolve_datastore(datastore_id)
    document = rt.documents.get(datastore_id, image_set_id, version_id)
    target = locate(
        document,
        image_frame_id=image_frame_id,
        series_uid=series_instance_uid,
        instance_number=instance_number,
        slice_index=slice_index,
        frame_index=frame_index,
    )
    data, content_type = rt.aws.get_image_frame(datastore_id, image_set_id, target.frame.id)
    pixels = decode(target, data)
    rendered = render_frame(
        pixels,
        target.attributes,
        window=spec,
        max_size=max_size,
        image_format=image_format,
        frame_index=target.frame.index,
    )
    window_info = {"center": rendered.window_center, "width": rendered.window_width, "source": rendered.window_source}
    answer = FrameAnswer(
        caption=caption(target, (rendered.width, rendered.height), window_info),
        width=rendered.width,
        height=rendered.height,
        series_instance_uid=target.series.uid,
        sop_instance_uid=target.instance.sop_uid,
        image_frame_id=target.frame.id,
        instance_number=target.instance.instance_number,
        slice_index=target.slice_index,
        slice_count=target.series.frame_count,
        window_center=rendered.window_center,
        window_width=rendered.window_width,
        window_source=rendered.window_source,
    )
    if include_image:
        answer.show(rendered.data, rendered.mime_type)
    if save_as:
        if save_kind == "encoded":
            suffix = _EXTENSIONS.get(content_type or "", ".bin")
            payload, note = data, f"the frame as stored ({content_type or 'unknown type'})"
        elif save_kind in ("pixels", "modality"):
            array, note = saved_pixels(target, pixels, save_kind)
            suffix, buffer = ".npy", io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            payload = buffer.getvalue()
        else:
            suffix, payload, note = "." + image_format.replace("jpeg", "jpg"), rendered.data, ""
        answer.saved_to = str(write_file(output_path(rt.settings.output_dir, save_as, suffix), payload))
        answer.note_saved(note)
    return answer


@toolset.tool(READ_ONLY)
def get_series_montage(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    datastore_id: DatastoreIdArg = None,
    series_instance_uid: SeriesUidArg = None,
    count: Annotated[int, Field(ge=1, le=64)] = 12,
    tile_size: Annotated[int, Field(ge=64, le=512)] = 192,
    window: MontageWindowArg = None,
    window_center: float | None = None,
    window_width: float | None = None,
    version_id: VersionArg = None,
    image_format: Literal["png", "jpeg"] = "png",
    save_as: Annotated[FileNameArg, Field(description="File name in the output folder.")] = None,
) -> ImageAnswer:
    """A series at a glance: evenly spaced frames tiled in one image labelled with instance numbers."""
    window_spec(window, window_center, window_width)  # refuse a bad window before any call
    datastore_id = rt.resolve_datastore(datastore_id)
    return montage(
        rt,
        datastore_id,
        image_set_id,
        series_instance_uid=series_instance_uid,
        count=count,
        tile_size=tile_size,
        window=window,
        window_center=window_center,
        window_width=window_width,
        version_id=version_id,
        image_format=image_format,
        save_as=save_as,
        workers=FETCH_WORKERS,
    )


def montage(
    rt: Runtime,
    datastore_id: str,
    image_set_id: str,
    *,
    series_instance_uid: str | None,
    count: int,
    tile_size: int,
    window: str | None,
    window_center: float | None,
    window_width: float | None,
    version_id: str | None,
    image_format: Literal["png", "jpeg"],
    save_as: str | None,
    workers: int,
) -> ImageAnswer:
    """The montage itself (`workers` = frames fetched at once; 1 fetches one after another).

    The picture stays within the montage limits (imaging.montage: MAX_SIDE pixels, MAX_BYTES encoded): larger
    asks get smaller tiles, and the caption says so."""
    document = rt.documents.get(datastore_id, image_set_id, version_id)
    series = pick_series(document, series_instance_uid)
    targets = [slice_target(series, i) for i in choose_indices(series.frame_count, count)]
    spec = window_spec(window, window_center, window_width)
    columns, tile = sheet_layout(len(targets), tile_size)
    decoded = fetch_and_decode(rt, datastore_id, image_set_id, targets, size=tile, workers=workers)
    labels, legend = tile_labels(targets)
    frames = [
        MontageFrame(pixels, target.attributes, target.frame.index, label)
        for pixels, target, label in zip(decoded, targets, labels)
    ]
    sheet = render_montage(frames, spec, columns=columns, tile=tile, image_format=image_format)
    text = (
        f"Montage of {len(targets)} of {series.frame_count} frames · {series.modality or '?'} "
        f"{series.description or ''} · labels: {legend}"
    )
    displays = sheet.displays
    windows = {(d.window_center, d.window_width, d.window_source) for d in displays}
    first = displays[0]
    if len(windows) > 1:
        text += f" · each frame in its own window ({first.window_source})"
    elif first.window_center is not None and first.window_width is not None:
        text += " · " + window_text(first.window_center, first.window_width, first.window_source, targets[0])
    if sheet.tile < tile_size:
        text += f" · tiles shrunk from {tile_size} to {sheet.tile} px to keep the image under {MAX_BYTES // 1024} KB"
    answer = ImageAnswer(
        caption=text,
        width=sheet.width,
        height=sheet.height,
        series_instance_uid=series.uid,
        slice_count=series.frame_count,
        window_center=first.window_center if len(windows) == 1 else None,
        window_width=first.window_width if len(windows) == 1 else None,
        window_source=first.window_source,
    )
    answer.show(sheet.data, "image/png" if image_format == "png" else "image/jpeg")
    if save_as:
        suffix = ".png" if image_format == "png" else ".jpg"
        answer.saved_to = str(write_file(output_path(rt.settings.output_dir, save_as, suffix), sheet.data))
    return answer


def tile_labels(targets: list[FrameTarget]) -> tuple[list[str], str]:
    """One label per tile, all different: the instance number, plus ":frame" when multi-frame instances are shown,
    plus "#slice" when instances share numbers; and the legend that says so."""

    def number(target: FrameTarget) -> str:
        value = target.instance.instance_number
        return "?" if value is None else str(value)

    multi_frame = any(len(t.instance.frames) > 1 for t in targets)
    labels = [number(t) + (f":{t.frame.index + 1}" if multi_frame else "") for t in targets]
    legend = "instance:frame" if multi_frame else "instance numbers"
    if len(set(labels)) < len(labels):
        labels = [f"{label}#{t.slice_index + 1}" for label, t in zip(labels, targets)]
        legend += " #slice"
    return labels, legend
