"""Datastore tools: list, get, create, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import ElicitationResult
from mcp.server.mcpserver.resolve import Resolve
from pydantic import Field

from ..runtime import Runtime
from ..text_table import text_table
from .common import DatastoreIdArg, DatastoreIdRequired, MaxResultsArg, NextTokenArg, iso, more
from .confirm import ConfirmAction, ConfirmArg, confirm_destruction, outcome
from .registry import DESTRUCTIVE, IDEMPOTENT_WRITE, READ_ONLY, ToolOutput, Toolset
from .stakes import datastore_facts

toolset = Toolset()

DatastoreStatus = Literal["CREATING", "CREATE_FAILED", "ACTIVE", "DELETING", "DELETED"]


class Datastore(ToolOutput):
    datastore_id: str
    name: str | None = None
    status: str | None = None
    arn: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    lossless_storage_format: str | None = None
    kms_key_arn: str | None = None
    lambda_authorizer_arn: str | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Datastore:
        return cls(
            datastore_id=d["datastoreId"],
            name=d.get("datastoreName"),
            status=d.get("datastoreStatus"),
            arn=d.get("datastoreArn"),
            created_at=iso(d.get("createdAt")),
            updated_at=iso(d.get("updatedAt")),
            lossless_storage_format=d.get("losslessStorageFormat"),
            kms_key_arn=d.get("kmsKeyArn"),
            lambda_authorizer_arn=d.get("lambdaAuthorizerArn"),
        )

    def render(self) -> str:
        details = ", ".join(
            f"{label} {value}"
            for label, value in (
                ("format", self.lossless_storage_format),
                ("created", self.created_at),
                ("KMS key", self.kms_key_arn),
            )
            if value
        )
        return f"Datastore {self.datastore_id} '{self.name}' is {self.status}" + (f" ({details})" if details else "")


class DatastoreList(ToolOutput):
    datastores: list[Datastore]
    next_token: str | None = None

    def render(self) -> str:
        rows = [[d.datastore_id, d.name or "", d.status or "", d.created_at or ""] for d in self.datastores]
        return f"{len(rows)} datastore(s):\n{text_table(rows, ['datastore_id', 'name', 'status', 'created'])}\n" + more(
            self.next_token
        )


class DatastoreChange(ToolOutput):
    datastore_id: str
    status: str | None = None
    done: bool = True
    message: str

    def render(self) -> str:
        return self.message


@toolset.tool(READ_ONLY)
def list_datastores(
    rt: Runtime,
    status: DatastoreStatus | None = None,
    max_results: MaxResultsArg = None,
    next_token: NextTokenArg = None,
) -> DatastoreList:
    """List HealthImaging datastores (ID, name, status). Start here to find where images live."""
    page = rt.aws.list_datastores(status, max_results, next_token)
    return DatastoreList(
        datastores=[Datastore.from_api(d) for d in page.get("datastoreSummaries", [])],
        next_token=page.get("nextToken"),
    )


@toolset.tool(READ_ONLY)
def get_datastore(rt: Runtime, datastore_id: DatastoreIdArg = None) -> Datastore:
    """Details of one datastore: status, storage format, encryption key, ARN."""
    datastore_id = rt.resolve_datastore(datastore_id)
    return Datastore.from_api(rt.aws.get_datastore(datastore_id))


@toolset.tool(IDEMPOTENT_WRITE)
def create_datastore(
    rt: Runtime,
    datastore_name: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9._/#-]{1,256}$")] = None,
    lossless_storage_format: Literal["HTJ2K", "JPEG_2000_LOSSLESS"] | None = None,
    kms_key_arn: Annotated[str | None, Field(max_length=512, description="Customer-managed KMS key ARN.")] = None,
    lambda_authorizer_arn: Annotated[str | None, Field(description="Lambda for DICOMweb OIDC auth.")] = None,
    tags: dict[str, str] | None = None,
    client_token: Annotated[
        str | None, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="Reuse to make retries idempotent.")
    ] = None,
) -> DatastoreChange:
    """Create a datastore (status CREATING, then ACTIVE). The storage format cannot be changed later."""
    out = rt.aws.create_datastore(
        datastore_name, lossless_storage_format, kms_key_arn, lambda_authorizer_arn, tags, client_token
    )
    rt.forget_datastores()
    return DatastoreChange(
        datastore_id=out["datastoreId"],
        status=out["datastoreStatus"],
        message=f"Datastore {out['datastoreId']} created ({out['datastoreStatus']}); it is usable once ACTIVE.",
    )


def _describe_deletion(rt: Runtime, args: dict[str, Any]) -> str:
    datastore_id = args["datastore_id"]
    return f"Permanently delete datastore {datastore_id} {datastore_facts(rt, datastore_id)}"


@toolset.tool(DESTRUCTIVE)
def delete_datastore(
    rt: Runtime,
    datastore_id: DatastoreIdRequired,
    answer: Annotated[
        ElicitationResult[ConfirmAction],
        Resolve(confirm_destruction("datastore_id", _describe_deletion)),
    ],
    confirm: ConfirmArg = None,
) -> DatastoreChange:
    """Permanently delete an empty datastore (delete its image sets first). Asks the user to confirm."""
    decision = outcome(answer)
    if not decision.confirmed:
        return DatastoreChange(datastore_id=datastore_id, done=False, message=decision.refusal(datastore_id))
    out = rt.aws.delete_datastore(datastore_id)
    rt.forget_datastores()
    return DatastoreChange(
        datastore_id=datastore_id,
        status=out["datastoreStatus"],
        message=f"Datastore {datastore_id} is being deleted ({out['datastoreStatus']}).",
    )
