"""Assemble prepared instances into image sets the way HealthImaging does.

One primary image set per (study, series). Instances whose study/series key elements agree with the
existing primary image set merge into it (a new version); conflicting ones go into a new non-primary image
set. Re-importing a SOP instance replaces it instead of duplicating it.
"""

from __future__ import annotations

import copy
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ...dicom.key_elements import hierarchy_key_elements, key_element_conflicts
from ..errors import ServiceError
from ..store.db import Database, current_time
from ..store.image_sets import BulkByInstance, FrameRecord, ImageSetStore
from ..store.lookups import datastore_row
from .ingest import PreparedInstance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportedImageSet:
    image_set_id: str
    version: int
    is_primary: bool
    sop_instance_uids: tuple[str, ...]


@dataclass(frozen=True)
class FailedCommit:
    """Instances whose image set could not be committed (nothing of it was stored)."""

    sop_instance_uids: tuple[str, ...]
    exception_type: str
    message: str


def _hierarchy(instance: PreparedInstance) -> str:
    return json.dumps(hierarchy_key_elements(instance.normalized), sort_keys=True)


def _merge_into(document: dict[str, Any], instances: list[PreparedInstance]) -> dict[str, Any]:
    """A new document with `instances` added (or replaced) and their level attributes applied."""
    document = copy.deepcopy(document)
    patient = document.setdefault("Patient", {}).setdefault("DICOM", {})
    study = document.setdefault("Study", {})
    study_dicom = study.setdefault("DICOM", {})
    series_map = study.setdefault("Series", {})
    for instance in instances:
        normalized = instance.normalized
        patient.update(normalized.patient)
        study_dicom.update(normalized.study)
        series = series_map.setdefault(normalized.series_instance_uid, {"DICOM": {}, "Instances": {}})
        series["DICOM"].update(normalized.series)
        series["Instances"][normalized.sop_instance_uid] = instance.entry
    return document


def _new_document(instances: list[PreparedInstance]) -> dict[str, Any]:
    return _merge_into(
        {"SchemaVersion": "1.1", "Patient": {"DICOM": {}}, "Study": {"DICOM": {}, "Series": {}}}, instances
    )


def _frames(instances: list[PreparedInstance]) -> list[FrameRecord]:
    return [frame for instance in instances for frame in instance.frames]


def _bulk(instances: list[PreparedInstance]) -> BulkByInstance:
    """Each instance's large binary values (a re-imported instance's replace those it had)."""
    return {instance.normalized.sop_instance_uid: instance.bulk for instance in instances}


class ImageSetAssembler:
    def __init__(self, db: Database, image_sets: ImageSetStore) -> None:
        self.db = db
        self.image_sets = image_sets

    def assemble(
        self, datastore_id: str, instances: list[PreparedInstance]
    ) -> tuple[list[ImportedImageSet], list[FailedCommit]]:
        """Commit prepared instances into image sets; one transaction per image set, a failed one fails alone."""
        groups: dict[tuple[str, str], dict[str, list[PreparedInstance]]] = defaultdict(lambda: defaultdict(list))
        for instance in instances:
            groups[instance.key][_hierarchy(instance)].append(instance)
        results: list[ImportedImageSet] = []
        failures: list[FailedCommit] = []
        for (study_uid, series_uid), variants in groups.items():
            for hierarchy, members in variants.items():
                uids = tuple(m.normalized.sop_instance_uid for m in members)
                try:
                    results.append(self._commit(datastore_id, study_uid, series_uid, hierarchy, members))
                except ServiceError as exc:
                    failures.append(FailedCommit(uids, exc.code, exc.message))
                except Exception as exc:
                    log.exception("storing an image set failed; its %d instance(s) are reported as failed", len(uids))
                    failures.append(
                        FailedCommit(
                            uids, "InternalServerException", f"{type(exc).__name__}: could not store the image set"
                        )
                    )
        return results, failures

    def _commit(
        self,
        datastore_id: str,
        study_uid: str,
        series_uid: str,
        hierarchy: str,
        members: list[PreparedInstance],
    ) -> ImportedImageSet:
        uids = tuple(m.normalized.sop_instance_uid for m in members)
        now = current_time()
        replaced: list[str] = []  # blobs of the large values re-imported instances had
        with self.db.write() as conn:
            datastore = datastore_row(self.db, datastore_id)
            primary = self.image_sets.primary_for(datastore_id, study_uid, series_uid)
            if primary is not None and not key_element_conflicts(
                json.loads(primary["hierarchy"]), json.loads(hierarchy)
            ):
                document = _merge_into(
                    self.image_sets.load_document(primary["id"], int(primary["latest_version"])), members
                )
                replaced = self.image_sets.bulk_blobs(primary["id"], uids)
                version = self.image_sets.add_version(
                    conn, primary, document, _frames(members), workflow_status="IMPORTED", now=now, bulk=_bulk(members)
                )
                imported = ImportedImageSet(primary["id"], version, True, uids)
            else:
                is_primary = primary is None
                image_set_id = self.image_sets.insert_image_set(
                    conn,
                    datastore,
                    _new_document(members),
                    _frames(members),
                    is_primary=is_primary,
                    workflow_status="CREATED",
                    now=now,
                    bulk=_bulk(members),
                )
                imported = ImportedImageSet(image_set_id, 1, is_primary, uids)
        self.image_sets.purge_unreferenced(replaced)
        return imported
