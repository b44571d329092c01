"""Seeing images: get_image_frame (one frame as a PNG/JPEG) and get_series_montage (a labelled contact sheet)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..errors import invalid
from ..files import output_path, write_file
from ..imaging.montage import MAX_BYTES, MontageFrame, choose_indices, render_montage, sheet_layout
from ..imaging.reformat import Plane, Projection
from ..imaging.render import render_frame
from ..imaging.window import modality_units
from ..runtime import Runtime
from .common import DatastoreIdArg, ImageSetIdArg, SaveAsArg, SeriesUidArg, VersionArg
from .frame_pipeline import (
    FETCH_WORKERS,
    FrameTarget,
    caption,
    decode,
    fetch_and_decode,
    frame_position,
    locate,
    pick_series,
    saved_pixels,
    slice_target,
    window_spec,
    window_text,
)
from .image_answers import Delivery, FrameAnswer, ImageAnswer
from .planes import PlaneRequest, comparison_answer, plane_answer
from .registry import READ_ONLY, Toolset
from .series_volumes import open_volume
from .study_sheet import study_sheet

toolset = Toolset()

WindowArg = Annotated[
    str | None,
    Field(
        description="lung, mediastinum, soft_tissue, bone, brain, subdural, stroke, abdomen, liver, spine, auto, "
        "none, or dicom (the image's own; default)"
    ),
]
_EXTENSIONS = {
    "image/jph": ".jph",
    "image/jphc": ".jhc",
    "image/j2c": ".j2c",
    "image/jpeg": ".jpg",
    "image/jxl": ".jxl",
}


@toolset.tool(READ_ONLY)
def get_image_frame(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    datastore_id: DatastoreIdArg = None,
    series_instance_uid: SeriesUidArg = None,
    instance_number: int | None = None,
    slice_index: Annotated[int | None, Field(ge=0, description="0-based; default: the middle")] = None,
    frame_index: Annotated[int | None, Field(ge=0)] = None,  # of a multi-frame instance (default 0)
    image_frame_id: Annotated[str | None, Field(pattern=r"^[0-9a-z]{32}$")] = None,
    version_id: VersionArg = None,
    window: WindowArg = None,
    window_center: float | None = None,
    window_width: float | None = None,
    max_size: Annotated[int, Field(ge=32, le=2048)] = 512,
    image_format: Literal["png", "jpeg"] = "png",
    include_image: bool = True,
    save_as: SaveAsArg = None,
    save_kind: Literal["rendered", "encoded", "pixels", "modality"] = "rendered",
    plane: Plane | None = None,
    position_mm: Annotated[float | None, Field(description="x sagittal, y coronal, z axial, patient mm")] = None,
    slab_mm: float | None = None,
    projection: Projection | None = None,  # default mip
    compare_with: Annotated[str | None, Field(description="'prior' or an image set ID")] = None,
) -> FrameAnswer:
    """Look at one image, captioned: a frame (series + instance_number, slice_index: default middle, or
    image_frame_id), or the series as a volume in any plane (plane, position_mm, slab_mm); compare_with: another
    study beside it, matched, same window."""
    spec = window_spec(window, window_center, window_width)
    datastore_id = rt.resolve_datastore(datastore_id)
    if plane or position_mm is not None or slab_mm is not None or compare_with:
        if slab_mm is not None and slab_mm <= 0:
            raise invalid("slab_mm must be more than 0 (leave it out for a plane without a slab).")
        if projection and slab_mm is None:
            raise invalid("projection applies to a slab: give slab_mm too.")
        if save_as and save_kind in ("encoded", "pixels"):
            raise invalid(
                "A plane of a volume has no stored frame or stored values.",
                "Use save_kind=modality (the plane's values) or rendered.",
            )
        request = PlaneRequest(
            plane=plane,
            position_mm=position_mm,
            slice_index=slice_index,
            slab_mm=slab_mm or 0.0,
            projection=projection or "mip",
            instance_number=instance_number,
            frame_index=frame_index,
            image_frame_id=image_frame_id,
        )
        delivery = Delivery(spec, max_size, image_format, include_image, save_as, save_kind)
        source = open_volume(rt, datastore_id, image_set_id, version_id, series_instance_uid)
        if compare_with:
            return comparison_answer(rt, datastore_id, source, request, compare_with, delivery)
        return plane_answer(rt, source, request, delivery)
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
    placed = frame_position(target)
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
        plane=placed[0] if placed else None,
        position_mm=placed[1] if placed else None,
    )
    delivery = Delivery(spec, max_size, image_format, include_image, save_as, save_kind)
    delivery.deliver(rt, answer, rendered.data)
    if save_as and save_kind == "encoded":
        note = f"the frame as stored ({content_type or 'unknown type'})"
        delivery.save(rt, answer, _EXTENSIONS.get(content_type or "", ".bin"), data, note)
    elif save_as and save_kind in ("pixels", "modality"):
        delivery.save_array(rt, answer, *saved_pixels(target, pixels, save_kind))
    return answer


@toolset.tool(READ_ONLY)
def get_series_montage(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    datastore_id: DatastoreIdArg = None,
    series_instance_uid: SeriesUidArg = None,
    count: Annotated[int, Field(ge=1, le=64)] = 12,
    tile_size: Annotated[int, Field(ge=64, le=512)] = 192,
    window: str | None = None,  # as for get_image_frame
    window_center: float | None = None,
    window_width: float | None = None,
    version_id: VersionArg = None,
    image_format: Literal["png", "jpeg"] = "png",
    save_as: SaveAsArg = None,
    whole_study: bool = False,
) -> ImageAnswer:
    """A series at a glance: evenly spaced frames tiled in one image labelled with instance numbers; whole_study:
    one frame of every series of the study."""
    spec = window_spec(window, window_center, window_width)  # refuse a bad window before any call
    datastore_id = rt.resolve_datastore(datastore_id)
    if whole_study:
        if series_instance_uid:
            raise invalid("whole_study shows every series: leave series_instance_uid out.")
        return study_sheet(
            rt,
            datastore_id,
            image_set_id,
            count=count,
            tile_size=tile_size,
            window=spec,
            version_id=version_id,
            image_format=image_format,
            save_as=save_as,
        )
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
        units = modality_units(targets[0].attributes, targets[0].frame.index)
        text += " · " + window_text(first.window_center, first.window_width, first.window_source, units)
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
