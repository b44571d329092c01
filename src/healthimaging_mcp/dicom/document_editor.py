"""Copy-on-write editing of a metadata document: a branch is copied the first time it is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthimaging_mcp.dicom.levels import Level
from healthimaging_mcp.dicom.patch_rules import PatchError

__all__ = ["DocumentEditor"]


class DocumentEditor:
    """A new document sharing every branch it did not write with the original; the original is never changed.

    ``read_*`` methods look without copying; the others return branches owned by the new document (copied on
    first use), so writing into them is safe. ``renamed_series`` follows series whose UID an edit changed.
    """

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc: dict[str, Any] = dict(doc)
        self._owned: list[Any] = [self.doc]  # keeps owned objects alive so their ids stay unique
        self._owned_ids = {id(self.doc)}
        self.renamed_series: dict[str, str] = {}

    def own(self, parent: dict[str, Any], key: str) -> dict[str, Any]:
        """``parent[key]`` as an object of the new document (copied the first time)."""
        child = parent.get(key)
        if child is None or id(child) not in self._owned_ids:
            child = dict(child or {})
            parent[key] = child
            self._owned.append(child)
            self._owned_ids.add(id(child))
        return child

    def replace(self, parent: dict[str, Any], key: str, value: dict[str, Any]) -> None:
        """Set ``parent[key]`` to a new object the new document owns."""
        parent[key] = value
        self._owned.append(value)
        self._owned_ids.add(id(value))

    def level_dicom(self, level: Level) -> dict[str, Any]:
        """The writable ``DICOM`` object of the Patient or Study level."""
        return self.own(self.own(self.doc, "Patient" if level == "Patient" else "Study"), "DICOM")

    def read_level(self, level: Level) -> Mapping[str, Any]:
        """The ``DICOM`` object of the Patient or Study level, read only."""
        return (self.doc.get("Patient" if level == "Patient" else "Study") or {}).get("DICOM") or {}

    def read_series_map(self) -> Mapping[str, Any]:
        """``Study.Series``, read only."""
        return (self.doc.get("Study") or {}).get("Series") or {}

    def series_map(self) -> dict[str, Any]:
        """``Study.Series``, writable."""
        return self.own(self.own(self.doc, "Study"), "Series")

    def series_uid(self, uid: str) -> str:
        """The current UID of a series addressed by its original UID."""
        return self.renamed_series.get(uid, uid)

    def read_series(self, uid: str, where: str) -> Mapping[str, Any]:
        """One series, read only; ``PatchError`` naming ``where`` when the document has none by that UID."""
        series = self.read_series_map().get(self.series_uid(uid))
        if not isinstance(series, Mapping):
            raise PatchError(f"{where}: the image set has no series {uid}")
        return series

    def read_instance(self, uid: str, sop: str, where: str) -> Mapping[str, Any]:
        """One instance, read only; ``PatchError`` naming ``where`` when absent."""
        instance = (self.read_series(uid, where).get("Instances") or {}).get(sop)
        if not isinstance(instance, Mapping):
            raise PatchError(f"{where}: series {uid} has no instance {sop}")
        return instance

    def series(self, uid: str) -> dict[str, Any]:
        """One series, writable."""
        return self.own(self.series_map(), self.series_uid(uid))

    def instances(self, uid: str) -> dict[str, Any]:
        """A series' ``Instances``, writable."""
        return self.own(self.series(uid), "Instances")

    def instance(self, uid: str, sop: str) -> dict[str, Any]:
        """One instance, writable."""
        return self.own(self.instances(uid), sop)

    def remove_series(self, uid: str) -> None:
        """Drop a series."""
        del self.series_map()[self.series_uid(uid)]

    def remove_instance(self, uid: str, sop: str) -> None:
        """Drop an instance, and its series when it was the last one."""
        instances = self.instances(uid)
        del instances[sop]
        if not instances:
            self.remove_series(uid)

    def all_sop_uids(self) -> set[str]:
        """Every SOP Instance UID of the document."""
        return {sop for series in self.read_series_map().values() for sop in (series.get("Instances") or {})}
