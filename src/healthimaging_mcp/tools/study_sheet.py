"""A study at a glance: one contact sheet with the middle frame of every series of a study (its image sets found
with SearchImageSets by Study Instance UID), each labelled with series number, modality and description."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..dicom.document import ImageSetDocument, SeriesView
from ..dicom.values import as_text, iso_date
from ..imaging.montage import MAX_BYTES, MontageFrame, render_montage, sheet_layout
from ..imaging.render import ImageFormat
from ..imaging.window import WindowSpec
from ..runtime import Runtime
from .frame_pipeline import FETCH_WORKERS, FrameTarget, fetch_and_decode_from, slice_target
from .image_answers import Delivery, ImageAnswer

MAX_IMAGE_SETS = 200  # of one study


@dataclass(frozen=True)
class StudySeries:
    """An imaging series of the study and the image set holding it."""

    image_set_id: str
    series: SeriesView


@dataclass(frozen=True)
class SheetTile(StudySeries):
    target: FrameTarget

    @property
    def label(self) -> str:
        number = "?" if self.series.number is None else str(self.series.number)
        return f"{number} {self.series.modality or '?'} {self.series.description or ''}".strip()


def study_documents(
    rt: Runtime, datastore_id: str, image_set_id: str, version_id: str | None
) -> list[tuple[str, ImageSetDocument]]:
    """The image set's document, then those of the other primary image sets of its study."""
    document = rt.documents.get(datastore_id, image_set_id, version_id)
    study_uid = as_text(document.study.get("StudyInstanceUID"))
    if not study_uid:
        return [(image_set_id, document)]
    criteria = {"filters": [{"operator": "EQUAL", "values": [{"DICOMStudyInstanceUID": study_uid}]}]}
    hits = rt.aws.search_all_image_sets(datastore_id, criteria, page_size=50, max_items=MAX_IMAGE_SETS)
    others = [h for h in hits if h["imageSetId"] != image_set_id and h.get("isPrimary") is not False]

    def read(hit_id: str, version: int | None) -> tuple[str, ImageSetDocument]:
        return hit_id, rt.documents.get(datastore_id, hit_id, str(version) if version else None)

    with ThreadPoolExecutor(FETCH_WORKERS) as pool:
        found = list(pool.map(lambda h: read(h["imageSetId"], h.get("version")), others))
    return [(image_set_id, document), *found]


def study_series(documents: list[tuple[str, ImageSetDocument]]) -> list[StudySeries]:
    """The imaging series (with frames) of the study's image sets, by series number."""
    found = [StudySeries(set_id, s) for set_id, document in documents for s in document.series if s.frame_count]
    found.sort(key=lambda t: (t.series.number is None, t.series.number or 0, t.image_set_id, t.series.uid))
    return found


def study_sheet(
    rt: Runtime,
    datastore_id: str,
    image_set_id: str,
    *,
    count: int,
    tile_size: int,
    window: WindowSpec,
    version_id: str | None,
    image_format: ImageFormat,
    save_as: str | None,
) -> ImageAnswer:
    """The contact sheet of the study of `image_set_id`: the middle frame of each series, up to `count` series."""
    documents = study_documents(rt, datastore_id, image_set_id, version_id)
    tiles = [
        SheetTile(found.image_set_id, found.series, slice_target(found.series, (found.series.frame_count - 1) // 2))
        for found in study_series(documents)
    ]
    total = len(tiles)
    tiles = tiles[:count]
    columns, tile = sheet_layout(len(tiles), tile_size)
    pixels = fetch_and_decode_from(
        rt, datastore_id, [(t.image_set_id, t.target) for t in tiles], size=tile, workers=FETCH_WORKERS
    )
    frames = [MontageFrame(p, t.target.attributes, t.target.frame.index, t.label) for p, t in zip(pixels, tiles)]
    sheet = render_montage(
        frames, window, columns=columns, tile=tile, image_format=image_format, share_auto_window=False
    )
    study = documents[0][1].study
    listed = "; ".join(f"{t.label[:40]} ({t.series.frame_count} frames, image set {t.image_set_id})" for t in tiles)
    caption = (
        f"Study of {iso_date(study.get('StudyDate')) or 'unknown date'} {as_text(study.get('StudyDescription')) or ''}"
        f": {total} series in {len(documents)} image sets, the middle frame of each{_window_text(window)} · "
        f"tiles (number modality description): {listed}"
    )
    if total > len(tiles):
        caption += f" · {total - len(tiles)} more series not shown (count={count})"
    if sheet.tile < tile:
        caption += f" · tiles shrunk to {sheet.tile} px to keep the image under {MAX_BYTES // 1024} KB"
    answer = ImageAnswer(caption=caption, width=sheet.width, height=sheet.height, slice_count=len(tiles))
    Delivery(window, tile_size, image_format, save_as=save_as).deliver(rt, answer, sheet.data)
    return answer


def _window_text(window: WindowSpec) -> str:
    if window.kind == "dicom":
        return ", each in its own window"
    if window.kind == "preset":
        return f", all in the {window.preset} window"
    if window.kind == "explicit":
        return f", all in window C{window.center:g}/W{window.width:g}"
    return f", window {window.kind}"
