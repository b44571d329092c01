"""Argument types shared by the tools (with the API's patterns and limits) and small output helpers."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from ..files import file_name_problem

ID_PATTERN = r"^[0-9a-z]{32}$"
UID_PATTERN = r"^[0-9]+(\.[0-9]+)*$"
VERSION_PATTERN = r"^[0-9]+$"

# Descriptions cost context in every conversation: self-explanatory arguments have none (the server
# instructions say once that datastore_id may be omitted, and how paging works).
DatastoreIdArg = Annotated[str | None, Field(pattern=ID_PATTERN)]
DatastoreIdRequired = Annotated[str, Field(pattern=ID_PATTERN)]
ImageSetIdArg = Annotated[str, Field(pattern=ID_PATTERN)]
VersionArg = Annotated[str | None, Field(pattern=VERSION_PATTERN)]  # omitted: the latest version
LatestVersionArg = Annotated[
    str, Field(pattern=VERSION_PATTERN, description="The image set's current version (from get_image_set).")
]
MaxResultsArg = Annotated[int | None, Field(ge=1, le=50)]
NextTokenArg = Annotated[str | None, Field(min_length=1, max_length=8192)]
UidArg = Annotated[str, Field(pattern=UID_PATTERN, max_length=64)]
SeriesUidArg = Annotated[str | None, Field(pattern=UID_PATTERN)]
ResourceArnArg = Annotated[
    str,
    Field(
        pattern=r"^arn:aws[a-z-]*:medical-imaging:[a-z0-9-]+:[0-9]{12}:datastore/[0-9a-z]{32}(/imageset/[0-9a-z]{32})?$",
        description="Datastore or image set ARN.",
    ),
]


def _file_name(value: str | None) -> str | None:
    problem = value and file_name_problem(value)
    if problem:
        raise PydanticCustomError("file_name", "The file name {problem}", {"problem": problem})
    return value


# Checked with the other arguments, before any work: a bad name is refused without touching the file system.
FileNameArg = Annotated[str | None, AfterValidator(_file_name)]
SaveAsArg = Annotated[FileNameArg, Field(description="File name in the output folder.")]


def _uid(value: str | None) -> str | None:
    if value is not None and (len(value) > 64 or not re.fullmatch(UID_PATTERN, value)):
        raise PydanticCustomError("uid", "Not a DICOM UID (digits separated by dots, at most 64 characters)")
    return value


# Checked like UidArg, without publishing the pattern (the tools of whole-patient work keep their schemas short).
UidValue = Annotated[str | None, AfterValidator(_uid)]


def iso(value: Any) -> str | None:
    """ISO 8601 (UTC, 'Z') for a boto3 datetime or epoch number."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    if not isinstance(value, datetime):
        return str(value)
    moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def more(next_token: str | None) -> str:
    return "More results: call again with next_token." if next_token else "No more results."
