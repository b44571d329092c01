"""S3 addressing (`s3://bucket/key`), the S3 reads the tools need (import job output) and writes (DICOM export)."""

from __future__ import annotations

from .clients import ClientFactory
from .errors import from_aws


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/key` -> ("bucket", "some/key"); the key is "" for a bare bucket."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def read_s3_text(clients: ClientFactory, uri: str) -> str:
    """The object at `uri` as UTF-8 text. A client that cannot be made raises a typed error; a failed read
    raises botocore's own exception, whose text names the S3 error code (callers report it as it is)."""
    bucket, key = split_s3_uri(uri)
    try:
        client = clients.s3()
    except Exception as exc:
        raise from_aws(exc) from exc
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode()


def write_s3_object(clients: ClientFactory, bucket: str, key: str, data: bytes) -> None:
    """Put one object; failures raise typed errors."""
    try:
        clients.s3().put_object(Bucket=bucket, Key=key, Body=data)
    except Exception as exc:
        raise from_aws(exc) from exc
