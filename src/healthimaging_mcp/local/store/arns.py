"""Amazon Resource Names for datastores and image sets, in the real format."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

LOCAL_ACCOUNT_ID = "000000000000"

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):medical-imaging:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"datastore/(?P<datastore>[0-9a-z]{32})(?:/imageset/(?P<image_set>[0-9a-z]{32}))?"
)


def new_id() -> str:
    """32 lowercase hex characters, the form HealthImaging IDs take."""
    return uuid.uuid4().hex


def datastore_arn(region: str, datastore_id: str, account: str = LOCAL_ACCOUNT_ID) -> str:
    return f"arn:aws:medical-imaging:{region}:{account}:datastore/{datastore_id}"


def image_set_arn(datastore_arn_value: str, image_set_id: str) -> str:
    return f"{datastore_arn_value}/imageset/{image_set_id}"


@dataclass(frozen=True)
class ParsedArn:
    datastore_id: str
    image_set_id: str | None


def parse_arn(arn: str) -> ParsedArn | None:
    match = _ARN.fullmatch(arn)
    if not match:
        return None
    return ParsedArn(match["datastore"], match["image_set"])
