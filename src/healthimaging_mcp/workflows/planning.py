"""Making plans: the image sets of a scope, what would change in each (before → after), nothing written.

An update plan leaves out image sets the change would not alter (already corrected), so a new plan after a
partial or stale one covers exactly what remains. An erasure plan holds every image set of the scope. An undo
plan holds the image sets an applied plan changed that nobody changed since, each reverted to the version
before the plan's.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..aws.waiting import current_state
from ..dicom.document import ImageSetDocument
from ..dicom.values import iso_date
from ..errors import invalid
from ..runtime import Runtime
from .apply import PlanRunner
from .inventory import Scope, Summary, fetch_documents, find_image_sets, require_some, tags
from .plans import Change, Plan, Updates, check_limit, new_plan, updates_for


class PlanRow(BaseModel):
    """One image set of a plan: where it is, its version, and what changes (or how applying went)."""

    image_set_id: str
    version: int
    study: str | None = None
    modality: str | None = None
    changes: list[dict[str, Any]] | None = None
    """`{"keyword": …, "value": {"before": …, "after": …}}` (after: null when removed)."""
    status: str | None = None
    new_version: str | None = None
    message: str | None = None


def study_words(summary: Summary) -> str | None:
    t = tags(summary)
    parts = [iso_date(t.get("DICOMStudyDate")), t.get("DICOMStudyDescription")]
    return " ".join(str(part) for part in parts if part) or None


def _row(summary: Summary, updates: Updates | None = None) -> PlanRow:
    changes = None
    if updates is not None:
        changes = [
            {"keyword": k, "value": {"before": before, "after": after}} for k, before, after in updates.before_after
        ]
    return PlanRow(
        image_set_id=summary["imageSetId"],
        version=int(summary.get("version") or 1),
        study=study_words(summary),
        modality=tags(summary).get("DICOMSeriesModality"),
        changes=changes,
    )


def _scoped(rt: Runtime, datastore_id: str, scope: Scope) -> list[Summary]:
    if scope.kind == "datastore":
        raise invalid("Say whose image sets: patient_id or study_instance_uid.")
    summaries: list[Summary] = list(find_image_sets(rt.aws, datastore_id, scope))
    require_some(summaries, scope, datastore_id)
    return summaries


def plan_update(
    rt: Runtime, datastore_id: str, scope: Scope, change: Change, max_image_sets: int
) -> tuple[Plan, list[PlanRow]]:
    summaries = _scoped(rt, datastore_id, scope)
    documents: dict[str, ImageSetDocument] = fetch_documents(rt.documents, datastore_id, summaries)
    draft = new_plan(datastore_id, "update", scope, change, [])
    deidentifier = draft.deidentifier(rt.plan_key) if change.deidentify else None
    rows, items = [], []
    for summary in summaries:
        updates = updates_for(change, documents[summary["imageSetId"]], deidentifier)
        if updates.empty:
            continue
        rows.append(_row(summary, updates))
        items.append((str(summary["imageSetId"]), int(summary.get("version") or 1)))
    if not items:
        raise invalid(
            f"Nothing to change: none of the {len(summaries)} image sets in scope would change "
            "(values already set, or the series/instances are not there).",
            "Check the values and UIDs with get_overview or get_image_set_metadata.",
        )
    check_limit(len(items), max_image_sets)
    return Plan(datastore_id, "update", scope, change, tuple(items), draft.nonce, draft.created), rows


def plan_erasure(rt: Runtime, datastore_id: str, scope: Scope, max_image_sets: int) -> tuple[Plan, list[PlanRow]]:
    summaries = _scoped(rt, datastore_id, scope)
    check_limit(len(summaries), max_image_sets)
    items = [(str(s["imageSetId"]), int(s.get("version") or 1)) for s in summaries]
    return new_plan(datastore_id, "erase", scope, Change(), items), [_row(s) for s in summaries]


def plan_undo(rt: Runtime, applied: Plan) -> tuple[Plan, list[PlanRow]]:
    """Revert what `applied` changed, image set by image set, where nothing changed since."""
    if applied.kind == "erase":
        raise invalid("An erasure cannot be undone: deleted image sets are gone with all their versions.")
    runner = PlanRunner(rt, applied)
    items, rows = [], []
    for status in runner.statuses():
        if status.status != "done" or status.version is None:
            continue
        latest = current_state(rt.aws, applied.datastore_id, status.image_set_id).get("versionId")
        if latest != status.version:
            continue  # changed again since the plan: reverting would discard that change
        items.append((status.image_set_id, int(status.version)))
        rows.append(PlanRow(image_set_id=status.image_set_id, version=int(status.version)))
    if not items:
        raise invalid(
            "Nothing to undo: the plan changed no image set that is still at the version it made.",
            "Check the plan's report (apply it again to read it).",
        )
    return new_plan(applied.datastore_id, "undo", applied.scope, Change(), items), rows
