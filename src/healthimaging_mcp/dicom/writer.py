"""Copy-on-write editing of a metadata document: a branch is copied the first time it is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthimaging_mcp.dicom.levels import Level
from healthimaging_mcp.dicom.patch_rules import PatchError

__all__ = ["DocumentWriter"]


class DocumentWriter:
    """Copy-on-write access to a document: a branch is copied the first time it is written."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc: dict[str, Any] = dict(doc)
        self._owned: list[Any] = [self.doc]  # keeps owned objects alive so their ids stay unique
        self._owned_ids = {id(self.doc)}
        self.renamed_series: dict[str, str] = {}

    def own(self, parent: dict[str, Any], key: str) -> dict[str, Any]:
        child = parent.get(key)
        if child is None or id(child) not in self._owned_ids:
            child = dict(child or {})
            parent[key] = child
            self._owned.append(child)
            self._owned_ids.add(id(child))
        return child

    def level_dicom(self, level: Level) -> dict[str, Any]:
        return self.own(self.own(self.doc, "Patient" if level == "Patient" else "Study"), "DICOM")

    def read_level(self, level: Level) -> Mapping[str, Any]:
        return (self.doc.get("Patient" if level == "Patient" else "Study") or {}).get("DICOM") or {}

    def read_series_map(self) -> Mapping[str, Any]:
        return (self.doc.get("Study") or {}).get("Series") or {}

    def replace(self, parent: dict[str, Any], key: str, value: dict[str, Any]) -> None:
        parent[key] = value
        self._owned.append(value)
        self._owned_ids.add(id(value))

    def series_map(self) -> dict[str, Any]:
        return self.own(self.own(self.doc, "Study"), "Series")

    def series_uid(self, uid: str) -> str:
        return self.renamed_series.get(uid, uid)

    def read_series(self, uid: str, where: str) -> Mapping[str, Any]:
        series = self.read_series_map().get(self.series_uid(uid))
        if not isinstance(series, Mapping):
            raise PatchError(f"{where}: the image set has no series {uid}")
        return series

    def read_instance(self, uid: str, sop: str, where: str) -> Mapping[str, Any]:
        instance = (self.read_series(uid, where).get("Instances") or {}).get(sop)
        if not isinstance(instance, Mapping):
            raise PatchError(f"{where}: series {uid} has no instance {sop}")
        return instance

    def series(self, uid: str) -> dict[str, Any]:
        return self.own(self.series_map(), self.series_uid(uid))

    def instances(self, uid: str) -> dict[str, Any]:
        return self.own(self.series(uid), "Instances")

    def instance(self, uid: str, sop: str) -> dict[str, Any]:
        return self.own(self.instances(uid), sop)

    def remove_series(self, uid: str) -> None:
        del self.series_map()[self.series_uid(uid)]

    def remove_instance(self, uid: str, sop: str) -> None:
        instances = self.instances(uid)
        del instances[sop]
        if not instances:
            self.remove_series(uid)

    def all_sop_uids(self) -> set[str]:
        return {sop for series in self.read_series_map().values() for sop in (series.get("Instances") or {})}
