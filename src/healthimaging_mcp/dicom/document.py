"""A typed, read-only view of an image set metadata document (the JSON of GetImageSetMetadata).

The views wrap the parsed JSON without copying it; indexes (frame id, SOP UID) are built on first use, so
opening a document with thousands of instances stays cheap. Treat the wrapped JSON as immutable.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from healthimaging_mcp.dicom.values import as_float, as_floats, as_int, as_text

__all__ = [
    "DEFAULT_STORED_TRANSFER_SYNTAX_UID",
    "FrameRef",
    "ImageSetDocument",
    "InstanceView",
    "SeriesView",
]

DEFAULT_STORED_TRANSFER_SYNTAX_UID = "1.2.840.10008.1.2.4.202"
"""HTJ2K lossless RPCL: what a missing or null ``StoredTransferSyntaxUID`` means."""

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class FrameRef:
    """One entry of an instance's ``ImageFrames``."""

    id: str
    index: int
    min_pixel_value: float | None
    max_pixel_value: float | None
    size_in_bytes: int | None
    checksum: int | None
    """Full-resolution CRC32: the checksum entry with the largest ``Width``."""

    @classmethod
    def from_json(cls, entry: Mapping[str, Any], index: int) -> FrameRef:
        """Read one ``ImageFrames`` entry."""
        levels = entry.get("PixelDataChecksumFromBaseToFullResolution") or []
        full = max(
            (level for level in levels if isinstance(level, Mapping)),
            key=lambda level: as_int(level.get("Width")) or 0,
            default=None,
        )
        return cls(
            id=str(entry.get("ID", "")),
            index=index,
            min_pixel_value=as_float(entry.get("MinPixelValue")),
            max_pixel_value=as_float(entry.get("MaxPixelValue")),
            size_in_bytes=as_int(entry.get("FrameSizeInBytes")),
            checksum=as_int(full.get("Checksum")) if full is not None else None,
        )


@dataclass(frozen=True)
class InstanceView:
    """One SOP instance: its ``DICOM`` attributes, ``DICOMVRs`` and frames."""

    sop_uid: str
    series_uid: str
    attributes: Mapping[str, Any]
    vrs: Mapping[str, str]
    stored_transfer_syntax_uid: str
    frames: list[FrameRef]
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, sop_uid: str, series_uid: str, instance: Mapping[str, Any]) -> InstanceView:
        """Wrap ``Study.Series.<series_uid>.Instances.<sop_uid>``."""
        frames = instance.get("ImageFrames") or []
        return cls(
            sop_uid=sop_uid,
            series_uid=series_uid,
            attributes=instance.get("DICOM") or {},
            vrs=instance.get("DICOMVRs") or {},
            stored_transfer_syntax_uid=instance.get("StoredTransferSyntaxUID") or DEFAULT_STORED_TRANSFER_SYNTAX_UID,
            frames=[FrameRef.from_json(entry, i) for i, entry in enumerate(frames) if isinstance(entry, Mapping)],
            raw=instance,
        )

    @property
    def instance_number(self) -> int | None:
        """InstanceNumber as an int, when present and parseable."""
        return as_int(self.attributes.get("InstanceNumber"))

    @property
    def number_of_frames(self) -> int:
        """How many frames the metadata lists for this instance."""
        return len(self.frames)

    def slice_position(self) -> float | None:
        """Position along the slice normal: ImagePositionPatient · (row × column direction cosines)."""
        return self._slice_position

    @cached_property
    def _slice_position(self) -> float | None:
        position = as_floats(self.attributes.get("ImagePositionPatient"))
        orientation = as_floats(self.attributes.get("ImageOrientationPatient"))
        if position is None or orientation is None or len(position) != 3 or len(orientation) != 6:
            return None
        rx, ry, rz, cx, cy, cz = orientation
        normal = (ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx)
        return sum(p * n for p, n in zip(position, normal, strict=True))


def _display_order(instance: InstanceView) -> tuple[bool, int, bool, float, str]:
    number = instance.instance_number
    position = instance.slice_position()
    return (number is None, number or 0, position is None, position or 0.0, instance.sop_uid)


@dataclass(frozen=True)
class SeriesView:
    """One series: its ``DICOM`` attributes and instances in display order."""

    uid: str
    attributes: Mapping[str, Any]
    instances: list[InstanceView]
    """Sorted by InstanceNumber, then position along the slice normal, then SOP Instance UID."""

    @classmethod
    def from_json(cls, uid: str, series: Mapping[str, Any]) -> SeriesView:
        """Wrap ``Study.Series.<uid>``."""
        instances = [
            InstanceView.from_json(sop_uid, uid, instance)
            for sop_uid, instance in (series.get("Instances") or {}).items()
            if isinstance(instance, Mapping)
        ]
        instances.sort(key=_display_order)
        return cls(uid=uid, attributes=series.get("DICOM") or {}, instances=instances)

    @property
    def modality(self) -> str | None:
        """Modality, e.g. ``"CT"``."""
        return as_text(self.attributes.get("Modality"))

    @property
    def description(self) -> str | None:
        """SeriesDescription."""
        return as_text(self.attributes.get("SeriesDescription"))

    @property
    def number(self) -> int | None:
        """SeriesNumber as an int, when parseable."""
        return as_int(self.attributes.get("SeriesNumber"))

    @cached_property
    def _frames(self) -> list[tuple[InstanceView, FrameRef]]:
        return [(instance, frame) for instance in self.instances for frame in instance.frames]

    @property
    def frame_count(self) -> int:
        """Frames across all instances of the series."""
        return len(self._frames)

    def frame_at(self, index: int) -> tuple[InstanceView, FrameRef]:
        """The ``index``-th frame (0-based slice index) of the series in display order."""
        if not 0 <= index < len(self._frames):
            raise IndexError(f"frame index {index} is out of range; series {self.uid} has {len(self._frames)} frames")
        return self._frames[index]

    def instances_by_number(self, number: int) -> list[InstanceView]:
        """Every instance (display order) whose InstanceNumber equals ``number``: several when numbers repeat."""
        return [i for i in self.instances if i.instance_number == number]

    def ties_of(self, instance: InstanceView) -> list[InstanceView]:
        """The instances that display order cannot tell apart from ``instance`` (same number and position)."""
        key = _display_order(instance)[:4]
        return [i for i in self.instances if _display_order(i)[:4] == key]


class ImageSetDocument:
    """Read model over an image set metadata document; wraps the JSON without copying it."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("Study", {}), Mapping):
            raise ValueError("not an image set metadata document: expected a JSON object with a Study object")
        self._doc = doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ImageSetDocument:
        """Wrap an already parsed document."""
        return cls(doc)

    @classmethod
    def from_bytes(cls, data: bytes) -> ImageSetDocument:
        """Parse gzip-compressed (as GetImageSetMetadata returns it) or plain JSON bytes."""
        if data[:2] == _GZIP_MAGIC:
            data = gzip.decompress(data)
        return cls(json.loads(data))

    @property
    def raw(self) -> Mapping[str, Any]:
        """The wrapped JSON document."""
        return self._doc

    @property
    def schema_version(self) -> str | None:
        """``SchemaVersion`` as a string (the service writes ``"1.1"``)."""
        version = self._doc.get("SchemaVersion")
        return None if version is None else str(version)

    @property
    def image_set_id(self) -> str | None:
        """``ImageSetID``."""
        return self._doc.get("ImageSetID")

    @property
    def datastore_id(self) -> str | None:
        """``DatastoreID``."""
        return self._doc.get("DatastoreID")

    @property
    def patient(self) -> Mapping[str, Any]:
        """Patient-level attributes."""
        return (self._doc.get("Patient") or {}).get("DICOM") or {}

    @property
    def study(self) -> Mapping[str, Any]:
        """Study-level attributes."""
        return (self._doc.get("Study") or {}).get("DICOM") or {}

    @cached_property
    def series(self) -> list[SeriesView]:
        """Series ordered by SeriesNumber (unnumbered last), then document order."""
        raw = (self._doc.get("Study") or {}).get("Series") or {}
        views = [SeriesView.from_json(uid, series) for uid, series in raw.items() if isinstance(series, Mapping)]
        views.sort(key=lambda view: (view.number is None, view.number or 0))
        return views

    @property
    def instance_count(self) -> int:
        """Instances across all series."""
        return sum(len(series.instances) for series in self.series)

    @property
    def frame_count(self) -> int:
        """Frames across all series."""
        return sum(series.frame_count for series in self.series)

    @cached_property
    def _series_index(self) -> dict[str, SeriesView]:
        return {series.uid: series for series in self.series}

    @cached_property
    def _instance_index(self) -> dict[str, InstanceView]:
        return {instance.sop_uid: instance for series in self.series for instance in series.instances}

    @cached_property
    def _frame_index(self) -> dict[str, tuple[SeriesView, InstanceView, FrameRef]]:
        return {
            frame.id: (series, instance, frame)
            for series in self.series
            for instance in series.instances
            for frame in instance.frames
        }

    def series_by_uid(self, uid: str) -> SeriesView | None:
        """The series with this SeriesInstanceUID, if present."""
        return self._series_index.get(uid)

    def instance(self, sop_uid: str) -> InstanceView | None:
        """The instance with this SOPInstanceUID, if present."""
        return self._instance_index.get(sop_uid)

    def find_frame(self, frame_id: str) -> tuple[SeriesView, InstanceView, FrameRef] | None:
        """Locate an image frame by its ``ID``."""
        return self._frame_index.get(frame_id)
