"""Changing image sets: update_image_set_metadata, copy_image_set, delete_image_set.

Every change makes a new version (old versions stay readable) except delete. The service completes these
asynchronously; the tools wait for the final state (`aws.waiting`) and report it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import ElicitationResult
from mcp.server.mcpserver.resolve import Resolve
from pydantic import Field

from ..aws.waiting import settled_state
from ..deploy.auth import Capability
from ..deploy.calls import require
from ..dicom.document import ImageSetDocument
from ..errors import HealthImagingError, invalid
from ..runtime import Runtime
from .change_documents import (
    AttributeNames,
    AttributeValues,
    copiable_document,
    parse_raw,
    removable_document,
    updatable_document,
)
from .common import DatastoreIdArg, ImageSetIdArg, LatestVersionArg, UidArg
from .confirm import ConfirmAction, ConfirmArg, confirm_destruction, outcome
from .registry import DESTRUCTIVE, WRITE, ToolOutput, Toolset
from .stakes import Removal, counted, image_set_facts, partners_words, study_partners

if TYPE_CHECKING:
    from mypy_boto3_medical_imaging.type_defs import (
        CopyImageSetInformationTypeDef,
        CopySourceImageSetInformationTypeDef,
        DICOMUpdatesTypeDef,
        MetadataUpdatesTypeDef,
    )

UPDATE = DESTRUCTIVE.model_copy(update={"idempotent_hint": False})

toolset = Toolset()


class ChangeResult(ToolOutput):
    datastore_id: str
    image_set_id: str
    done: bool
    version_id: str | None = None
    state: str | None = None
    workflow_status: str | None = None
    destination_image_set_id: str | None = None
    message: str

    def render(self) -> str:
        return self.message

    @classmethod
    def refused(cls, datastore_id: str, image_set_id: str, message: str) -> ChangeResult:
        """Nothing was changed: the confirmation was declined, cancelled or missing."""
        return cls(datastore_id=datastore_id, image_set_id=image_set_id, done=False, message=message)


def _finished(state: Mapping[str, Any], what: str) -> str:
    status = state.get("imageSetWorkflowStatus")
    if state["imageSetState"] == "LOCKED":
        return f"{what} is still in progress ({status}); check again with get_image_set."
    if status and status.endswith("FAILED"):
        return f"{what} FAILED ({status}): {state.get('message', 'no message')}."
    return f"{what} done: image set {state['imageSetId']} is now version {state['versionId']} ({status})."


def _removable(
    document: ImageSetDocument,
    remove_attributes: AttributeNames | None,
    remove_series: list[str] | None,
    remove_instances: list[str] | None,
    raw_removable_json: str | None,
) -> dict[str, Any] | None:
    """The removableAttributes document of an update (None: it removes nothing)."""
    return parse_raw(raw_removable_json, "raw_removable_json") or removable_document(
        document, remove_attributes, remove_series or [], remove_instances or []
    )


_UPDATE_ARGUMENTS = (
    "datastore_id",
    "latest_version_id",
    "remove_attributes",
    "remove_series",
    "remove_instances",
    "raw_removable_json",
    "revert_to_version_id",
    "include_study_image_sets",
)


def _describe_update(rt: Runtime, args: dict[str, Any]) -> str | None:
    """Updates that remove series or instances, or remove anything study-wide, need confirmation."""
    if args["revert_to_version_id"]:
        return None
    datastore_id = rt.resolve_datastore(args["datastore_id"])
    image_set_id, version = args["image_set_id"], args["latest_version_id"]
    document = rt.documents.get(datastore_id, image_set_id, version)
    removable = _removable(
        document, args["remove_attributes"], args["remove_series"], args["remove_instances"], args["raw_removable_json"]
    )
    if removable is None:
        return None
    removal = Removal(document, removable)
    study_wide = bool(args["include_study_image_sets"]) and removal.removes_anything
    if not (removal.removes_data or study_wide):
        return None
    require(  # before the user is asked
        Capability.DELETE,
        rt.settings,
        "an update that removes series or instances, or removes attributes study-wide",
        "Set or remove attributes of this image set only, or ask an administrator for a token with that scope.",
    )
    also = ""
    if study_wide and removal.shared_attributes:
        partners = study_partners(rt, datastore_id, document, image_set_id)
        if partners:
            also = (
                f", and the patient/study attributes from the study's "
                f"{counted(len(partners), 'other image set')} ({partners_words(partners)})"
            )
    return (
        f"Remove {removal.words()} from image set {image_set_id} at version {version}{also} "
        f"(earlier versions keep them): {image_set_facts(rt, document)}"
    )


@toolset.tool(UPDATE, gated=True)
def update_image_set_metadata(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    latest_version_id: LatestVersionArg,
    answer: Annotated[
        ElicitationResult[ConfirmAction],
        Resolve(confirm_destruction("image_set_id", _describe_update, uses=_UPDATE_ARGUMENTS)),
    ],
    datastore_id: DatastoreIdArg = None,
    set_attributes: AttributeValues | None = None,
    remove_attributes: AttributeNames | None = None,
    remove_series: list[UidArg] | None = None,
    remove_instances: Annotated[list[UidArg] | None, Field(description="SOPInstanceUIDs")] = None,
    revert_to_version_id: Annotated[str | None, Field(pattern=r"^[0-9]+$")] = None,
    raw_updatable_json: Annotated[str | None, Field(description="Escape hatch: updatableAttributes JSON")] = None,
    raw_removable_json: Annotated[str | None, Field(description="Escape hatch: removableAttributes JSON")] = None,
    force: Annotated[bool, Field(description="Needed to change UIDs, StudyID or private tags.")] = False,
    include_study_image_sets: Annotated[bool, Field(description="Apply to every image set of the study.")] = False,
    confirm: ConfirmArg = None,
) -> ChangeResult:
    """Correct or de-identify DICOM metadata (set/remove attributes by level), remove series or instances, or
    revert to an earlier version. Makes a new version; removing series/instances, or removing anything study-wide,
    asks the user to confirm."""
    datastore_id = rt.resolve_datastore(datastore_id)
    decision = outcome(answer)
    if not decision.confirmed:
        return ChangeResult.refused(datastore_id, image_set_id, decision.refusal(image_set_id))
    updates: MetadataUpdatesTypeDef
    if revert_to_version_id:
        if any(
            (set_attributes, remove_attributes, remove_series, remove_instances, raw_updatable_json, raw_removable_json)
        ):
            raise _mixed_changes()
        updates = {"revertToVersionId": revert_to_version_id}
    else:
        document = rt.documents.get(datastore_id, image_set_id, latest_version_id)
        updatable = parse_raw(raw_updatable_json, "raw_updatable_json") or (
            updatable_document(document, set_attributes) if set_attributes else None
        )
        removable = _removable(document, remove_attributes, remove_series, remove_instances, raw_removable_json)
        if updatable is None and removable is None:
            raise _mixed_changes()
        dicom: DICOMUpdatesTypeDef = {}
        if updatable:
            dicom["updatableAttributes"] = json.dumps(updatable).encode()
        if removable:
            dicom["removableAttributes"] = json.dumps(removable).encode()
        updates = {"DICOMUpdates": dicom}
    rt.aws.update_image_set_metadata(
        datastore_id,
        image_set_id,
        latest_version_id,
        updates,
        force=force,
        include_study_image_sets=include_study_image_sets,
    )
    return _settled(rt, datastore_id, image_set_id, "Update", image_set_id=image_set_id)


def _settled(rt: Runtime, datastore_id: str, changed: str, what: str, **identity: str) -> ChangeResult:
    """The answer once image set `changed` has settled; `identity` names the image sets the answer is about."""
    state = settled_state(rt.aws, datastore_id, changed)
    return ChangeResult(
        datastore_id=datastore_id,
        done=state["imageSetState"] == "ACTIVE",
        version_id=state.get("versionId"),
        state=state["imageSetState"],
        workflow_status=state.get("imageSetWorkflowStatus"),
        message=_finished(state, what),
        **identity,
    )


def _mixed_changes() -> HealthImagingError:
    return invalid(
        "Give either revert_to_version_id alone, or at least one change (set_attributes, remove_attributes, "
        "remove_series, remove_instances, or a raw_*_json document).",
        "Call again with one kind of change.",
    )


@toolset.tool(WRITE)
def copy_image_set(
    rt: Runtime,
    source_image_set_id: ImageSetIdArg,
    source_version_id: LatestVersionArg,
    datastore_id: DatastoreIdArg = None,
    destination_image_set_id: Annotated[str | None, Field(pattern=r"^[0-9a-z]{32}$")] = None,
    destination_version_id: Annotated[str | None, Field(pattern=r"^[0-9]+$")] = None,
    series_instance_uids: list[UidArg] | None = None,
    sop_instance_uids: list[UidArg] | None = None,
    raw_copiable_json: Annotated[str | None, Field(description="Escape hatch: copiableAttributes JSON")] = None,
    force: Annotated[bool, Field(description="Copy even if Patient/Study/Series attributes differ.")] = False,
    promote_to_primary: bool = False,
) -> ChangeResult:
    """Copy an image set (or chosen series/instances) into a new image set or merge it into an existing one
    (split, merge, or promote a non-primary image set to primary)."""
    datastore_id = rt.resolve_datastore(datastore_id)
    if destination_image_set_id and not destination_version_id:
        raise invalid("destination_version_id is required with destination_image_set_id (see get_image_set).")
    copiable = raw_copiable_json
    if copiable is None and (series_instance_uids or sop_instance_uids):
        document = rt.documents.get(datastore_id, source_image_set_id, source_version_id)
        copiable = copiable_document(document, series_instance_uids or [], sop_instance_uids or [])
    source: CopySourceImageSetInformationTypeDef = {"latestVersionId": source_version_id}
    if copiable:
        source["DICOMCopies"] = {"copiableAttributes": copiable}
    information: CopyImageSetInformationTypeDef = {"sourceImageSet": source}
    if destination_image_set_id and destination_version_id:
        information["destinationImageSet"] = {
            "imageSetId": destination_image_set_id,
            "latestVersionId": destination_version_id,
        }
    response = rt.aws.copy_image_set(
        datastore_id, source_image_set_id, information, force=force, promote_to_primary=promote_to_primary
    )
    destination = response["destinationImageSetProperties"]["imageSetId"]
    return _settled(
        rt, datastore_id, destination, "Copy", image_set_id=source_image_set_id, destination_image_set_id=destination
    )


def _describe_deletion(rt: Runtime, args: dict[str, Any]) -> str:
    datastore_id = rt.resolve_datastore(args["datastore_id"])
    image_set_id = args["image_set_id"]
    version = rt.documents.latest_version(datastore_id, image_set_id)
    document = rt.documents.get(datastore_id, image_set_id, version)
    return (
        f"Permanently delete image set {image_set_id} (version {version}, all versions): "
        f"{image_set_facts(rt, document)}"
    )


@toolset.tool(DESTRUCTIVE)
def delete_image_set(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    answer: Annotated[
        ElicitationResult[ConfirmAction],
        Resolve(confirm_destruction("image_set_id", _describe_deletion, uses=("datastore_id",))),
    ],
    datastore_id: DatastoreIdArg = None,
    confirm: ConfirmArg = None,
) -> ChangeResult:
    """Permanently delete an image set with all its versions and pixel data. Asks the user to confirm."""
    datastore_id = rt.resolve_datastore(datastore_id)
    decision = outcome(answer)
    if not decision.confirmed:
        return ChangeResult.refused(datastore_id, image_set_id, decision.refusal(image_set_id))
    rt.aws.delete_image_set(datastore_id, image_set_id)
    state = settled_state(rt.aws, datastore_id, image_set_id)
    deleted = state["imageSetState"] == "DELETED"
    return ChangeResult(
        datastore_id=datastore_id,
        image_set_id=image_set_id,
        done=deleted,
        state=state["imageSetState"],
        workflow_status=state.get("imageSetWorkflowStatus"),
        message=f"Image set {image_set_id} " + ("deleted." if deleted else f"is {state['imageSetState']} (deleting)."),
    )
