"""Applying a plan: progress recomputed from the image sets' versions, writes paced at the quota, a report.

Nothing is remembered between calls. The status of every image set comes from the service: still at the
planned version (pending), at the next version holding this plan's change (done; in progress while LOCKED),
changed by someone else since planning, failed (the service's UPDATE_FAILED), or gone. So an apply that was
interrupted (a client timeout, a server restart) continues where it stopped when called again with the same
handle, on any replica, without repeating or skipping a write. Writes carry the planned version
(optimistic concurrency): an image set changed meanwhile is reported, never overwritten. The pacer spaces the
writes at HealthImaging's write quota; each write is left to finish while the next one is sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..aws.waiting import current_state, is_locked, settled_state
from ..errors import ErrorType, HealthImagingError
from ..runtime import Runtime
from .inventory import find_image_sets
from .plans import Plan, Updates, is_applied, same_content, updates_for

if TYPE_CHECKING:
    from mypy_boto3_medical_imaging.type_defs import DICOMUpdatesTypeDef, MetadataUpdatesTypeDef

Status = Literal["pending", "busy", "in_progress", "done", "changed", "failed", "gone"]
STATUS_WORKERS = 8
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ItemStatus:
    image_set_id: str
    planned_version: int
    status: Status
    version: str | None = None
    """The version this plan made (updates, undo)."""
    message: str | None = None


class PlanRunner:
    """One plan against the live service: statuses, writes and the erasure check."""

    def __init__(self, rt: Runtime, plan: Plan) -> None:
        self.rt = rt
        self.plan = plan
        self.deidentifier = plan.deidentifier(rt.plan_key) if plan.change.deidentify else None

    @property
    def datastore_id(self) -> str:
        return self.plan.datastore_id

    def updates(self, image_set_id: str, version: int) -> Updates:
        document = self.rt.documents.get(self.datastore_id, image_set_id, str(version))
        return updates_for(self.plan.change, document, self.deidentifier)

    # ------------------------------------------------------------------------------------------ statuses

    def statuses(self) -> list[ItemStatus]:
        items = self.plan.items
        if len(items) <= 1:
            return [self.status(*item) for item in items]
        with ThreadPoolExecutor(min(STATUS_WORKERS, len(items)), thread_name_prefix="plan-status") as pool:
            return list(pool.map(lambda item: self.status(*item), items))

    def status(self, image_set_id: str, version: int) -> ItemStatus:
        state = current_state(self.rt.aws, self.datastore_id, image_set_id)
        deleted = state["imageSetState"] == "DELETED"
        locked = is_locked(state)
        if self.plan.kind == "erase":
            if deleted:
                return ItemStatus(image_set_id, version, "done")
            if locked and state.get("imageSetWorkflowStatus") == "DELETING":
                return ItemStatus(image_set_id, version, "in_progress")
        elif deleted:
            return ItemStatus(image_set_id, version, "gone", message="the image set was deleted")
        latest = int(state["versionId"])
        if latest == version:
            return ItemStatus(image_set_id, version, "busy" if locked else "pending")
        if self.plan.kind == "erase" or latest < version:
            return self._changed(image_set_id, version, latest)
        return self._next_version(image_set_id, version, latest)

    def _next_version(self, image_set_id: str, version: int, latest: int) -> ItemStatus:
        """Whether version+1 is this plan's work (done, or in progress while LOCKED), a failure, or another change."""
        after = self.rt.aws.get_image_set(self.datastore_id, image_set_id, str(version + 1))
        workflow = str(after.get("imageSetWorkflowStatus") or "")
        if workflow.endswith("FAILED"):
            return ItemStatus(image_set_id, version, "failed", str(version + 1), after.get("message") or workflow)
        document = self.rt.documents.get(self.datastore_id, image_set_id, str(version + 1))
        if self.plan.kind == "undo":
            ours = same_content(document, self.rt.documents.get(self.datastore_id, image_set_id, str(version - 1)))
        else:
            ours = is_applied(self.plan.change, self.updates(image_set_id, version), document)
        if not ours:
            return self._changed(image_set_id, version, latest)
        return ItemStatus(image_set_id, version, "in_progress" if is_locked(after) else "done", str(version + 1))

    @staticmethod
    def _changed(image_set_id: str, version: int, latest: int) -> ItemStatus:
        return ItemStatus(
            image_set_id, version, "changed", message=f"at version {latest}, changed since the plan (version {version})"
        )

    # ------------------------------------------------------------------------------------------- writing

    def write(self, image_set_id: str, version: int) -> None:
        """The plan's one write to this image set, against the planned version."""
        aws, datastore_id = self.rt.aws, self.datastore_id
        if self.plan.kind == "erase":
            aws.delete_image_set(datastore_id, image_set_id)
            return
        if self.plan.kind == "undo":
            updates: MetadataUpdatesTypeDef = {"revertToVersionId": str(version - 1)}
            aws.update_image_set_metadata(datastore_id, image_set_id, str(version), updates)
            return
        planned = self.updates(image_set_id, version)
        dicom: DICOMUpdatesTypeDef = {}
        if planned.updatable:
            dicom["updatableAttributes"] = json.dumps(planned.updatable).encode()
        if planned.removable:
            dicom["removableAttributes"] = json.dumps(planned.removable).encode()
        aws.update_image_set_metadata(
            datastore_id, image_set_id, str(version), {"DICOMUpdates": dicom}, force=planned.force
        )

    def apply(self, progress: Progress | None = None) -> list[ItemStatus]:
        """Write what is still to do, paced; wait for the writes to finish; the statuses afterwards."""
        current = self.statuses()
        changed = [s for s in current if s.status == "changed"]
        if changed:
            raise HealthImagingError(
                ErrorType.CONFLICT,
                f"{len(changed)} of {len(current)} image sets changed since this plan was made "
                f"(e.g. {changed[0].image_set_id}: {changed[0].message}); nothing was changed.",
                next_step="Make a new plan: it starts from the current versions and leaves out what is already done.",
            )
        todo = [s for s in current if s.status in ("pending", "busy")]
        finished = len(current) - len(todo)
        written: list[str] = []
        for item in todo:
            if item.status == "busy":  # another write in progress on it: wait, then look again
                settled_state(self.rt.aws, self.datastore_id, item.image_set_id)
                item = self.status(item.image_set_id, item.planned_version)
                if item.status != "pending":
                    continue
            try:
                self.write(item.image_set_id, item.planned_version)
            except HealthImagingError as exc:
                if exc.error_type is not ErrorType.CONFLICT:
                    raise
                continue  # changed or locked meanwhile: the final statuses say which
            written.append(item.image_set_id)
            finished += 1
            if progress is not None:
                progress(finished, len(current), f"{finished} of {len(current)} image sets ({item.image_set_id})")
        for image_set_id in written:
            settled_state(self.rt.aws, self.datastore_id, image_set_id)
        return self.statuses()

    # -------------------------------------------------------------------------------------- erasure check

    def remaining(self) -> list[str]:
        """A fresh search of the plan's scope (every page, primary and non-primary): what is still there."""
        found = find_image_sets(self.rt.aws, self.datastore_id, self.plan.scope)
        return [str(summary["imageSetId"]) for summary in found]


def counts(statuses: Sequence[ItemStatus]) -> dict[str, int]:
    found: dict[str, int] = {}
    for item in statuses:
        found[item.status] = found.get(item.status, 0) + 1
    return found


def record(
    plan: Plan,
    plan_id: str,
    statuses: Sequence[ItemStatus],
    started: float,
    remaining: Sequence[str] | None,
) -> dict[str, Any]:
    """What a plan did, for the output folder: IDs, versions, counts and times (no patient data)."""
    return {
        "plan_id": plan_id,
        "kind": plan.kind,
        "datastore_id": plan.datastore_id,
        "planned_at": _utc(plan.created),
        "applied_from": _utc(started),
        "finished_at": _utc(time.time()),
        "counts": counts(statuses),
        "image_sets": [{k: v for k, v in asdict(s).items() if v is not None} for s in statuses],
        **({"verification": {"remaining_image_sets": list(remaining)}} if remaining is not None else {}),
    }


def _utc(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
