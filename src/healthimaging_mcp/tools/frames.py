"""Seeing images: get_image_frame (one frame as a PNG/JPEG) and get_series_montage (a labelled contact sheet)."""

from __future__ import annotations

import base64
import io
from typing import Annotated, Literal

import numpy as np
from mcp.types import ContentBlock, ImageContent
from pydantic import Field, PrivateAttr

from ..files import output_path, write_file
from ..imaging.montage import choose_indices, make_montage
from ..imaging.render import display_size, encode_image, physical_spacing, render_frame, to_display
from ..imaging.resample import resize
from ..runtime import Runtime
from .common import UID_PATTERN, DatastoreIdArg, ImageSetIdArg, VersionArg
from .frame_pipeline import (
    FETCH_WORKERS,
    caption,
    decode,
    fetch,
    fetch_and_decode,
    locate,
    pick_series,
    saved_pixels,
    slice_target,
    window_spec,
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

    @property
    def image_data(self) -> bytes | None:
        """The encoded image shown (not part of the structured content)."""
        return self._image[0] if self._image else None

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
    save_as: Annotated[str | None, Field(description="File name in the output folder.")] = None,
    save_kind: Literal["rendered", "encoded", "pixels", "modality"] = "rendered",
) -> FrameAnswer:
    """Look at one image (decoded, windowed PNG/JPEG) with a caption. Address it by series + instance_number or
    slice_index (default: the middle slice), or by image_frame_id. Saved pixels: stored values, or modality units
    (HU, Gy…)."""
    spec = window_spec(window, window_center, window_width)
    datastore_id = rt.resolve_datastore(datastore_id)
    document = rt.document(datastore_id, image_set_id, version_id)
    target = locate(
        document,
        image_frame_id=image_frame_id,
        series_uid=series_instance_uid,
        instance_number=instance_number,
        slice_index=slice_index,
        frame_index=frame_index,
    )
    data, content_type = fetch(rt, datastore_id, image_set_id, target.frame.id)
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
    save_as: Annotated[str | None, Field(description="File name in the output folder.")] = None,
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
    """The montage itself (`workers` = frames fetched at once; 1 fetches one after another)."""
    document = rt.document(datastore_id, image_set_id, version_id)
    series = pick_series(document, series_instance_uid)
    indices = choose_indices(series.frame_count, count)
    targets = [slice_target(series, i) for i in indices]
    spec = window_spec(window, window_center, window_width)
    frames = fetch_and_decode(rt, datastore_id, image_set_id, targets, size=tile_size, workers=workers)
    tiles, first = [], None
    for target, pixels in zip(targets, frames):
        display = to_display(pixels, target.attributes, spec, frame_index=target.frame.index)
        first = first or display
        rows, columns = display.pixels.shape[:2]
        spacing = physical_spacing(target.attributes, target.frame.index)
        height, width = display_size(rows, columns, spacing, tile_size)
        tiles.append(display.pixels if (height, width) == (rows, columns) else resize(display.pixels, height, width))
    labels = [
        str(t.instance.instance_number if t.instance.instance_number is not None else t.slice_index + 1)
        for t in targets
    ]
    sheet = make_montage(tiles, labels, tile_size=tile_size)
    data = encode_image(sheet, image_format)
    center = first.window_center if first else None
    window_span = first.window_width if first else None
    source = first.window_source if first else "none"
    text = (
        f"Montage of {len(targets)} of {series.frame_count} frames · {series.modality or '?'} "
        f"{series.description or ''} · labels are instance numbers"
    )
    if center is not None and window_span is not None:
        text += f" · window C{center:.0f}/W{window_span:.0f} ({source})"
    answer = ImageAnswer(
        caption=text,
        width=int(sheet.shape[1]),
        height=int(sheet.shape[0]),
        series_instance_uid=series.uid,
        slice_count=series.frame_count,
        window_center=center,
        window_width=window_span,
        window_source=source,
    )
    answer.show(data, "image/png" if image_format == "png" else "image/jpeg")
    if save_as:
        suffix = ".png" if image_format == "png" else ".jpg"
        answer.saved_to = str(write_file(output_path(rt.settings.output_dir, save_as, suffix), data))
    return answer
