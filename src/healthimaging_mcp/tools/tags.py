"""Tags on datastores and image sets."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from ..runtime import Runtime
from ..text_table import text_table
from .common import ResourceArnArg
from .registry import IDEMPOTENT_WRITE, READ_ONLY, ToolOutput, Toolset

toolset = Toolset()


def _not_reserved(key: str) -> str:
    if key.lower().startswith("aws:"):
        raise ValueError("tag keys starting with 'aws:' are reserved by AWS")
    return key


# pydantic's regex engine has no look-ahead, so the reserved `aws:` prefix is checked by a validator.
TagKey = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z+\-=._:/ 0-9@]+$"),
    AfterValidator(_not_reserved),
]


class Tags(ToolOutput):
    resource_arn: str
    tags: dict[str, str]
    message: str | None = None

    def render(self) -> str:
        head = self.message or f"Tags of {self.resource_arn}:"
        return f"{head}\n{text_table([[k, v] for k, v in sorted(self.tags.items())], ['key', 'value'])}"


@toolset.tool(READ_ONLY)
def list_tags_for_resource(rt: Runtime, resource_arn: ResourceArnArg) -> Tags:
    """Tags on a datastore or image set (ARNs come from get_datastore / get_image_set)."""
    return Tags(resource_arn=resource_arn, tags=rt.aws.list_tags_for_resource(resource_arn))


@toolset.tool(IDEMPOTENT_WRITE)
def tag_resource(
    rt: Runtime, resource_arn: ResourceArnArg, tags: Annotated[dict[TagKey, str], Field(min_length=1)]
) -> Tags:
    """Add or overwrite tags on a datastore or image set."""
    rt.aws.tag_resource(resource_arn, tags)
    tagged = rt.aws.list_tags_for_resource(resource_arn)
    return Tags(resource_arn=resource_arn, tags=tagged, message=f"Tagged; tags of {resource_arn}:")


@toolset.tool(IDEMPOTENT_WRITE)
def untag_resource(
    rt: Runtime, resource_arn: ResourceArnArg, tag_keys: Annotated[list[TagKey], Field(min_length=1, max_length=200)]
) -> Tags:
    """Remove tags (by key) from a datastore or image set."""
    rt.aws.untag_resource(resource_arn, tag_keys)
    tagged = rt.aws.list_tags_for_resource(resource_arn)
    return Tags(resource_arn=resource_arn, tags=tagged, message=f"Untagged; tags of {resource_arn}:")
