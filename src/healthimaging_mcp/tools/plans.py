"""change_image_sets: bulk changes and erasure of a patient's or a study's image sets, as plans.

Called without `plan` it makes a plan and changes nothing; called with the plan's handle it asks the user
once (what, whose, how many, how long), applies it at the write quota with progress, and reports; called again
with the same handle it continues an interrupted apply or reads the report. `undo` makes the reverting plan.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import anyio
import anyio.from_thread
from mcp.server.mcpserver import Context, ElicitationResult
from mcp.server.mcpserver.resolve import Resolve
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from ..deploy.auth import Capability
from ..deploy.calls import require, touched
from ..errors import invalid
from ..files import output_path, write_file
from ..runtime import Runtime
from ..workflows.apply import ItemStatus, PlanRunner, counts, record
from ..workflows.handles import handle_id
from ..workflows.inventory import Scope, find_image_sets, tags
from ..workflows.planning import PlanRow, plan_erasure, plan_undo, plan_update, study_words
from ..workflows.plans import DEFAULT_MAX_IMAGE_SETS, Change, Plan
from .common import DatastoreIdArg, FileNameArg, UidValue
from .confirm import ConfirmAction, confirm_destruction, outcome
from .registry import DESTRUCTIVE, ToolOutput, Toolset
from .stakes import counted

toolset = Toolset()
ROWS_LISTED = 20


class PlanAnswer(ToolOutput):
    plan: str
    plan_id: str
    state: str
    counts: dict[str, int]
    image_sets: list[PlanRow]
    message: str

    def render(self) -> str:
        lines = [self.message]
        for row in self.image_sets:
            status = f" {row.status}" + (f" → v{row.new_version}" if row.new_version else "") if row.status else ""
            where = ", ".join(part for part in (row.study, row.modality) if part)
            lines.append(f"  {row.image_set_id} v{row.version}{status}{f' ({where})' if where else ''}")
            for change in row.changes or []:
                value = change["value"]
                after = "removed" if value["after"] is None else json.dumps(value["after"], ensure_ascii=False)
                lines.append(f"    {change['keyword']}: {json.dumps(value['before'], ensure_ascii=False)} → {after}")
            if row.message:
                lines.append(f"    {row.message}")
        total = sum(self.counts.values())
        if total > len(self.image_sets):
            lines.append(f"  … and {total - len(self.image_sets)} more image sets")
        return "\n".join(lines)


def _values(value: dict[str, Any] | None) -> dict[str, Any] | None:
    for keyword, item in (value or {}).items():
        if not (item is None or isinstance(item, (str, int, float, list))):
            raise PydanticCustomError("attribute_value", "{keyword}: give a text, number or list", {"keyword": keyword})
    return value


AttributeValuesArg = Annotated[dict[str, Any] | None, AfterValidator(_values)]


def _positive(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise PydanticCustomError("positive", "Give 1 or more")
    return value


# ------------------------------------------------------------------------------------------ confirmation


def _what(rt: Runtime, plan: Plan) -> str:
    """Whose image sets, which studies (from a search of the plan's scope)."""
    ids = {image_set_id for image_set_id, _ in plan.items}
    summaries = [s for s in find_image_sets(rt.aws, plan.datastore_id, plan.scope) if s["imageSetId"] in ids]
    studies = list(dict.fromkeys(filter(None, map(study_words, summaries))))
    who = ""
    if summaries:
        t = tags(summaries[0])
        patient = rt.redaction.value({"patient_name": t.get("DICOMPatientName"), "patient_id": t.get("DICOMPatientId")})
        who = f" of patient {patient['patient_name'] or '(no name)'} ({patient['patient_id'] or '-'})"
    shown = "; ".join(f"'{s}'" for s in studies[:3]) + (f" and {len(studies) - 3} more" if len(studies) > 3 else "")
    return f"{who}, {counted(len(studies), 'study', 'studies')} ({shown})" if studies else who


def _duration(rt: Runtime, writes: int) -> str:
    rate = rt.settings.write_rate_per_second
    if rate <= 0:
        return f"{writes} write(s)"
    return f"{writes} write(s) paced at {rate:g}/s (about {max(1, round(writes / rate))} s)"


def _change_words(rt: Runtime, change: Change) -> str:
    """The change in words, new values as pseudonyms under --redact-phi (by keyword, e.g. PatientName)."""
    values = rt.redaction.value(dict(change.set_attributes))
    return Change(values, change.remove_series, change.remove_instances, change.deidentify).words()


def _require_delete(rt: Runtime, erase: bool, change: Change) -> None:
    """Erasing and removing data need the delete capability; corrections and undo need only write."""
    if erase or change.removes:
        require(
            Capability.DELETE,
            rt.settings,
            "a plan that erases image sets, removes series or instances, or de-identifies in place",
            "Plan a correction (set_attributes) instead, or ask an administrator for a token with that scope.",
        )


def _describe(rt: Runtime, args: dict[str, Any]) -> str | None:
    handle = args["plan"]
    if handle is None:
        return None  # planning changes nothing
    plan = Plan.open(rt.plan_key, handle, args["datastore_id"] or rt.settings.datastore_id)
    _require_delete(rt, plan.kind == "erase", plan.change)  # before the user is asked
    statuses = PlanRunner(rt, plan).statuses()
    todo = sum(1 for s in statuses if s.status in ("pending", "busy"))
    if todo == 0 or any(s.status == "changed" for s in statuses):
        return None  # nothing left to write, or refused as stale: the tool answers without asking
    done = len(statuses) - todo
    resumed = f" ({done} of {len(statuses)} already done)" if done else ""
    n = counted(len(statuses), "image set")
    what = _what(rt, plan)
    when = _duration(rt, todo)
    if plan.kind == "erase":
        return (
            f"Permanently delete {n} (every version){what}{resumed}: {when}, then a new search checks that nothing "
            "remains"
        )
    if plan.kind == "undo":
        return f"Undo: revert {n}{what} to the version before the plan's change{resumed}: {when}"
    words = _change_words(rt, plan.change)
    kept = "HealthImaging keeps the earlier versions readable"
    if plan.change.deidentify:
        kept += " (with the identifying values) until the image sets are deleted"
    return f"Apply plan {handle_id(handle)}: {words} in {n}{what}{resumed}: {when}. {kept}"


# ----------------------------------------------------------------------------------------------- the tool


def _plan(
    rt: Runtime,
    datastore_id: str | None,
    scope: Scope,
    change: Change,
    erase: bool,
    undo: str | None,
    max_image_sets: int,
) -> PlanAnswer:
    if undo is not None:
        plan, rows = plan_undo(rt, Plan.open(rt.plan_key, undo, datastore_id or rt.settings.datastore_id))
        what = f"revert {counted(len(rows), 'image set')} to the version before the plan's change"
    elif datastore_id is None:
        raise invalid("A datastore is needed to plan.")  # resolved by the caller; kept for the type checker
    elif erase:
        if change != Change():
            raise invalid("erase deletes whole image sets: give it without other changes.")
        plan, rows = plan_erasure(rt, datastore_id, scope, max_image_sets)
        what = f"delete {counted(len(rows), 'image set')} (every version)"
    else:
        if change == Change():
            raise invalid(
                "Say what to change: set_attributes, remove_series, remove_instances, deidentify, erase or undo."
            )
        plan, rows = plan_update(rt, datastore_id, scope, change, max_image_sets)
        what = f"{_change_words(rt, change)} in {counted(len(rows), 'image set')}"
    handle = plan.seal(rt.plan_key)
    return PlanAnswer(
        plan=handle,
        plan_id=handle_id(handle),
        state="planned",
        counts={"planned": len(rows)},
        image_sets=_listed(plan.datastore_id, rows),
        message=(
            f"Plan {handle_id(handle)} (nothing changed yet): {what}. Show it to the user; to apply, call "
            "change_image_sets with plan (the user is asked to confirm)."
        ),
    )


def _listed(datastore_id: str, rows: list[PlanRow]) -> list[PlanRow]:
    """The rows an answer lists (the first ROWS_LISTED); the call's audit record names every image set."""
    touched(datastore_id, (row.image_set_id for row in rows))
    return rows[:ROWS_LISTED]


def _rows(plan: Plan, statuses: list[ItemStatus]) -> list[PlanRow]:
    rows = [
        PlanRow(
            image_set_id=s.image_set_id,
            version=s.planned_version,
            status=s.status,
            new_version=s.version,
            message=s.message,
        )
        for s in statuses
    ]
    return _listed(plan.datastore_id, rows)


def _finished(
    rt: Runtime, plan: Plan, handle: str, statuses: list[ItemStatus], started: float, save_report_as: str | None
) -> PlanAnswer:
    runner = PlanRunner(rt, plan)
    remaining = runner.remaining() if plan.kind == "erase" else None
    tally = counts(statuses)
    complete = tally.get("done", 0) == len(statuses)
    parts = [f"Plan {handle_id(handle)}: {', '.join(f'{n} {status}' for status, n in sorted(tally.items()))}."]
    if remaining is not None:
        parts.append(
            "Verified by a new search: no image set of this scope remains."
            if not remaining
            else f"A new search still finds {counted(len(remaining), 'image set')}: {', '.join(remaining[:5])}."
        )
    if not complete:
        parts.append("Call again with the same plan to continue (finished image sets are not repeated).")
    elif plan.kind != "erase":
        parts.append("To undo it, make a plan with undo set to this plan.")
    if save_report_as:
        path = output_path(rt.settings.output_dir, save_report_as, ".json")
        write_file(path, json.dumps(record(plan, handle_id(handle), statuses, started, remaining), indent=1).encode())
        parts.append(f"Record saved to {path}.")
    state = "complete" if complete and not remaining else "incomplete"
    return PlanAnswer(
        plan=handle,
        plan_id=handle_id(handle),
        state=state,
        counts=tally,
        image_sets=_rows(plan, statuses),
        message=" ".join(parts),
    )


@toolset.tool(DESTRUCTIVE, gated=True)
async def change_image_sets(
    rt: Runtime,
    ctx: Context,
    answer: Annotated[
        ElicitationResult[ConfirmAction],
        Resolve(confirm_destruction("plan", _describe, uses=("datastore_id",), confirm_value=handle_id)),
    ],
    patient_id: Annotated[str | None, Field(max_length=256)] = None,
    study_instance_uid: UidValue = None,
    set_attributes: AttributeValuesArg = None,
    remove_series: list[str] | None = None,
    remove_instances: list[str] | None = None,
    deidentify: bool | None = None,
    erase: bool | None = None,
    undo: str | None = None,
    max_image_sets: Annotated[int | None, AfterValidator(_positive)] = None,
    plan: str | None = None,
    confirm: str | None = None,  # the refusal says when (the server instructions: never without the user's agreement)
    save_report_as: FileNameArg = None,
    datastore_id: DatastoreIdArg = None,
) -> PlanAnswer:
    """Bulk change of a patient's or study's image sets: set attributes, remove series/instances, de-identify,
    erase, undo a plan. Without plan: returns a plan. With plan: asks the user, applies; call again to resume."""
    if plan is None:
        scope = Scope(rt.redaction.reveal(patient_id), study_instance_uid)
        change = Change(
            {k: rt.redaction.reveal(v) if isinstance(v, str) else v for k, v in (set_attributes or {}).items()},
            tuple(remove_series or ()),
            tuple(remove_instances or ()),
            bool(deidentify),
        )
        _require_delete(rt, bool(erase), change)
        resolved = rt.resolve_datastore(datastore_id) if undo is None else datastore_id
        return await anyio.to_thread.run_sync(
            _plan, rt, resolved, scope, change, bool(erase), undo, max_image_sets or DEFAULT_MAX_IMAGE_SETS
        )
    planning = {
        "patient_id": patient_id,
        "study_instance_uid": study_instance_uid,
        "set_attributes": set_attributes,
        "remove_series": remove_series,
        "remove_instances": remove_instances,
        "deidentify": deidentify,
        "erase": erase,
        "undo": undo,
        "max_image_sets": max_image_sets,
    }
    given = [name for name, value in planning.items() if value is not None]
    if given:
        raise invalid(f"Give plan alone (with confirm or save_report_as); {', '.join(given)} belong to planning.")
    opened = Plan.open(rt.plan_key, plan, datastore_id or rt.settings.datastore_id)
    decision = outcome(answer)
    runner = PlanRunner(rt, opened)
    started = time.time()
    if not decision.confirmed:
        statuses = await anyio.to_thread.run_sync(runner.statuses)
        return PlanAnswer(
            plan=plan,
            plan_id=handle_id(plan),
            state="not_applied",
            counts=counts(statuses),
            image_sets=_rows(opened, statuses),
            message=decision.refusal(handle_id(plan)),
        )

    def report(done: int, total: int, message: str) -> None:
        anyio.from_thread.run(ctx.report_progress, done, total, message)

    statuses = await anyio.to_thread.run_sync(runner.apply, report)
    return await anyio.to_thread.run_sync(_finished, rt, opened, plan, statuses, started, save_report_as)
