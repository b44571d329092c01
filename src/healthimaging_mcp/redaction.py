"""--redact-phi: what leaves the server (answers, resources, error texts) carries pseudonyms, not patient values.

With redaction off every method hands its input back unchanged. With it on, values are replaced by stable
pseudonyms (`NAME-…`, `PATIENT-…`); free text loses the patient values seen so far and S3 object keys (people
name files and folders after patients), and a pseudonym given back as an argument is revealed for the call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import HealthImagingError

if TYPE_CHECKING:
    from .dicom.phi import Pseudonymizer

T = TypeVar("T")

_S3_URI = re.compile(r"s3://([^/\s]+)/(\S*)")


class Redaction:
    def __init__(self, enabled: bool) -> None:
        self.pseudonyms: Pseudonymizer | None = None
        if enabled:
            from .dicom.phi import Pseudonymizer  # only servers that redact pay for loading the PHI rules

            self.pseudonyms = Pseudonymizer()

    @property
    def enabled(self) -> bool:
        return self.pseudonyms is not None

    def reveal(self, value: str | None) -> str | None:
        """An argument that is a pseudonym handed out earlier, mapped back to the real value."""
        if value is None or self.pseudonyms is None:
            return value
        original = self.pseudonyms.reveal(value)
        return original if original is not None else value

    def value(self, value: T) -> T:
        """A copy of a JSON-like structure or pydantic model with every PHI value replaced."""
        return value if self.pseudonyms is None else self.pseudonyms.redact(value)

    def dump(self, value: Any) -> str:
        """JSON text (for resources), redacted like tool answers."""
        return json.dumps(self.value(value), ensure_ascii=False)

    def pseudonym(self, kind: str, value: str) -> str:
        return value if self.pseudonyms is None else self.pseudonyms.pseudonym(kind, value)

    def s3_key(self, key: str) -> str:
        """An S3 object key as a FILE pseudonym."""
        from .dicom.phi_rules import FILE

        return self.pseudonym(FILE, key) if key else key

    def s3_uris(self, text: str) -> str:
        """`text` with the key of every `s3://bucket/key` replaced by its FILE pseudonym."""
        if self.pseudonyms is None:
            return text
        return _S3_URI.sub(lambda match: f"s3://{match.group(1)}/{self.s3_key(match.group(2))}", text)

    def text(self, text: str, known_keys: Sequence[str] = ()) -> str:
        """Free text without S3 keys (in URIs, or bare when listed in `known_keys`) and patient values seen so far."""
        if self.pseudonyms is None:
            return text
        text = self.s3_uris(text)
        for key in sorted({k for k in known_keys if len(k) >= 3}, key=len, reverse=True):
            text = text.replace(key, self.s3_key(key))
        return self.pseudonyms.redact_text(text)

    def error(self, error: HealthImagingError) -> HealthImagingError:
        """The error with its message and next step redacted (AWS messages may quote keys and values)."""
        if self.pseudonyms is None:
            return error
        return HealthImagingError(
            error.error_type,
            self.text(error.message),
            next_step=self.text(error.next_step),
            code=error.code,
            request_id=error.request_id,
        )
