"""WADO-RS: series and instance metadata, instances as Part 10, frames, bulk data.

Without ``imageSetId`` a request reads the primary image set of its series (latest version); with it, any image
set of the datastore (primary or not) that holds the study and series of the path. Binary values over 1 MiB,
kept outside the metadata since import, are put back into the instance's attributes as `StoredBulkData`: the
metadata lists them as BulkDataURIs, the bulk data route and Part 10 instances carry their bytes.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from ...dicom.dicom_json import StoredBulkData, dicom_json
from ...dicom.document import InstanceView, SeriesView
from ...dicom.keys import is_hex_key, keyword_or_hex
from ...dicom.part10 import part10_bytes
from ...dicom.values import as_bytes, as_text
from ..errors import NotFoundError, ValidationError
from ..http.protocol import HttpResponse
from ..store.db import Database
from ..store.image_sets import BulkRecord, ImageSetStore
from ..store.lookups import image_set_row, version_row
from . import multipart, negotiation
from .documents import DocumentCache
from .index import DicomWebIndex
from .media import DICOM, OCTET_STREAM
from .pixels import decodable, decode_layout, explicit_le_frame, native_pixel_data, stored_pixel_data
from .urls import ResourceUrls


@dataclass(frozen=True)
class SeriesRef:
    """Where a WADO-RS request reads: the datastore, the path's UIDs and the image set chosen for them."""

    datastore_id: str
    study_uid: str
    series_uid: str
    image_set_id: str | None = None  # as the request named it


@dataclass(frozen=True)
class FoundSeries:
    image_set_id: str
    document: Mapping[str, Any]
    view: SeriesView

    def levels(self) -> list[Mapping[str, Any]]:
        study = self.document.get("Study") or {}
        return [self.view.attributes, study.get("DICOM") or {}, (self.document.get("Patient") or {}).get("DICOM") or {}]

    def attributes(self, instance: InstanceView) -> ChainMap[str, Any]:
        """Every attribute of an instance: its own, then its series', study's and patient's."""
        return ChainMap(dict(instance.attributes), *(dict(level) for level in self.levels()))

    def instance(self, sop_uid: str) -> InstanceView:
        for instance in self.view.instances:
            if instance.sop_uid == sop_uid:
                return instance
        raise NotFoundError(f"Series {self.view.uid} has no instance {sop_uid}")


class WadoRetrieve:
    def __init__(self, db: Database, image_sets: ImageSetStore, index: DicomWebIndex, documents: DocumentCache) -> None:
        self.db = db
        self.image_sets = image_sets
        self.index = index
        self.documents = documents

    def find_series(self, ref: SeriesRef) -> FoundSeries:
        if ref.image_set_id is not None:
            row = image_set_row(self.db, ref.datastore_id, ref.image_set_id)
            version = version_row(self.db, row["id"], None, row["latest_version"])
            image_set_id, blob = row["id"], version["metadata_blob"]
            where = f"Image set {image_set_id}"
        else:
            found = self.index.primary_series(ref.datastore_id, ref.study_uid, ref.series_uid)
            if found is None:
                raise NotFoundError(
                    f"No primary image set holds series {ref.series_uid} of study {ref.study_uid}; "
                    "pass imageSetId to read a non-primary image set"
                )
            image_set_id, blob = found.image_set_id, found.metadata_blob
            where = f"The primary image set {image_set_id}"
        document = self.documents.get(blob)
        study = (document.get("Study") or {}).get("DICOM") or {}
        series = ((document.get("Study") or {}).get("Series") or {}).get(ref.series_uid)
        if as_text(study.get("StudyInstanceUID")) != ref.study_uid or not isinstance(series, Mapping):
            raise NotFoundError(f"{where} holds no series {ref.series_uid} of study {ref.study_uid}")
        return FoundSeries(image_set_id, document, SeriesView.from_json(ref.series_uid, series))

    # ------------------------------------------------------------------ metadata

    def series_metadata(self, ref: SeriesRef, urls: ResourceUrls) -> list[dict[str, Any]]:
        found = self.find_series(ref)
        bulk = self.image_sets.bulk_records(found.image_set_id)  # one query for the whole series
        return [
            _instance_json(self._with_bulk(found.attributes(i), bulk.get(i.sop_uid, [])), i, ref, urls)
            for i in found.view.instances
        ]

    def instance_metadata(self, ref: SeriesRef, sop_uid: str, urls: ResourceUrls) -> list[dict[str, Any]]:
        found = self.find_series(ref)
        instance = found.instance(sop_uid)
        return [_instance_json(self._attributes(found, instance), instance, ref, urls)]

    def _attributes(self, found: FoundSeries, instance: InstanceView) -> ChainMap[str, Any]:
        """Every attribute of an instance, its binary values kept outside the metadata included."""
        bulk = self.image_sets.bulk_records(found.image_set_id, [instance.sop_uid])[instance.sop_uid]
        return self._with_bulk(found.attributes(instance), bulk)

    def _with_bulk(self, attributes: ChainMap[str, Any], bulk: list[BulkRecord]) -> ChainMap[str, Any]:
        for record in bulk:
            value = StoredBulkData(record.length, partial(self.image_sets.blobs.get, record.blob))
            _put_value(attributes, record.path, value)
        return attributes

    # ------------------------------------------------------------------ instance, frames, bulk data

    def instance(self, ref: SeriesRef, sop_uid: str, accept: str | None) -> HttpResponse:
        found = self.find_series(ref)
        instance = found.instance(sop_uid)
        stored = instance.stored_transfer_syntax_uid if instance.frames else None
        choice = negotiation.choose_instance(accept, stored, stored is not None and decodable(stored))
        attributes = self._attributes(found, instance)
        pixels = None
        if stored is not None:
            frames = self._frame_bytes(found.image_set_id, instance, range(len(instance.frames)))
            if choice.transfer_syntax_uid == stored:
                pixels = stored_pixel_data(frames, stored)
            else:
                pixels = native_pixel_data(frames, stored, decode_layout(attributes, stored))
        data = part10_bytes(attributes, choice.transfer_syntax_uid, pixels, instance.vrs)
        content_type = f"{DICOM}; transfer-syntax={choice.transfer_syntax_uid}"
        if not choice.multipart:
            return HttpResponse(200, {"Content-Type": content_type}, data)
        multipart_type, body = multipart.encode([multipart.Part(content_type, data)], DICOM)
        return HttpResponse(200, {"Content-Type": multipart_type}, body)

    def frames(self, ref: SeriesRef, sop_uid: str, frame_list: str, accept: str | None) -> HttpResponse:
        found = self.find_series(ref)
        instance = found.instance(sop_uid)
        if not instance.frames:
            raise NotFoundError(f"Instance {sop_uid} has no pixel data, so no frames")
        indexes = _frame_indexes(frame_list, len(instance.frames))
        stored = instance.stored_transfer_syntax_uid
        choice = negotiation.choose_frames(accept, stored, decodable(stored))
        frames = self._frame_bytes(found.image_set_id, instance, indexes)
        if choice.transfer_syntax_uid != stored:
            layout = decode_layout(found.attributes(instance), stored)
            frames = [explicit_le_frame(data, stored, layout) for data in frames]
        part_type = f"{choice.media_type}; transfer-syntax={choice.transfer_syntax_uid}"
        content_type, body = multipart.encode([multipart.Part(part_type, data) for data in frames], choice.media_type)
        return HttpResponse(200, {"Content-Type": content_type}, body)

    def bulk_data(self, ref: SeriesRef, sop_uid: str, path: str, accept: str | None) -> HttpResponse:
        found = self.find_series(ref)
        value = _value_at(self._attributes(found, found.instance(sop_uid)), path)
        if isinstance(value, StoredBulkData):
            data: bytes | None = value.read()
        else:
            data = as_bytes(value) if isinstance(value, (str, list)) else None
        if data is None:
            raise NotFoundError(f"Instance {sop_uid} has no binary value at {path}")
        if not negotiation.choose_bulk_data(accept):
            return HttpResponse(200, {"Content-Type": OCTET_STREAM}, data)
        content_type, body = multipart.encode([multipart.Part(OCTET_STREAM, data)], OCTET_STREAM)
        return HttpResponse(200, {"Content-Type": content_type}, body)

    def _frame_bytes(self, image_set_id: str, instance: InstanceView, indexes: Iterable[int]) -> list[bytes]:
        ids = [instance.frames[i].id for i in indexes]
        records = {r.frame_id: r for r in self.image_sets.frame_records(image_set_id, ids)}
        missing = [frame_id for frame_id in ids if frame_id not in records]
        if missing:
            raise NotFoundError(f"Image frame {missing[0]} of instance {instance.sop_uid} is not stored")
        return [self.image_sets.blobs.get(records[frame_id].blob) for frame_id in ids]


def _frame_indexes(frame_list: str, count: int) -> list[int]:
    """0-based indexes of a 1-based, comma-separated frame list; 400 when malformed, 404 past the last frame."""
    try:
        numbers = [int(part) for part in frame_list.split(",")]
    except ValueError:
        raise ValidationError(f"Frame list '{frame_list}' must be frame numbers separated by commas") from None
    if any(n < 1 for n in numbers) or len(set(numbers)) != len(numbers):
        raise ValidationError("Frame numbers start at 1 and may appear once each")
    beyond = [n for n in numbers if n > count]
    if beyond:
        raise NotFoundError(f"Frame {beyond[0]} does not exist: the instance has {count} frame(s)")
    return [n - 1 for n in numbers]


def _instance_json(
    attributes: Mapping[str, Any], instance: InstanceView, ref: SeriesRef, urls: ResourceUrls
) -> dict[str, Any]:
    locator = urls.bulk_data_locator(ref.study_uid, ref.series_uid, instance.sop_uid)
    return dicom_json(attributes, instance.vrs, bulk_data=locator)


def _put_value(attributes: MutableMapping[str, Any], path: str, value: StoredBulkData) -> None:
    """Set the value a bulk data path names, copying the sequences and items on the way (the document's own
    objects are shared and never changed); a path whose item is gone (an update removed it) is skipped."""
    head, _, rest = path.partition("/")
    key = keyword_or_hex(int(head, 16))
    if not rest:
        attributes[key] = value
        return
    number, _, inner = rest.partition("/")
    items = list(attributes.get(key) or [])
    index = int(number) - 1
    if not inner or not 0 <= index < len(items) or not isinstance(items[index], Mapping):
        return
    item = dict(items[index])
    _put_value(item, inner, value)
    items[index] = item
    attributes[key] = items


def _value_at(attributes: Mapping[str, Any], path: str) -> Any:
    """The value a bulk data path names: tags, with 1-based item numbers between sequence tags."""
    parts = path.strip("/").split("/")
    current: Any = attributes
    for position, part in enumerate(parts):
        if position % 2:  # an item number
            items = current if isinstance(current, list) else []
            index = int(part) - 1 if part.isdigit() else -1
            current = items[index] if 0 <= index < len(items) else None
        else:
            key = keyword_or_hex(int(part, 16)) if is_hex_key(part) else None
            current = current.get(key) if isinstance(current, Mapping) and key else None
        if current is None:
            return None
    return current
