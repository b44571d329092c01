"""Service errors the local HealthImaging service answers with, named as in the service model."""

from __future__ import annotations

import re

_NOT_IN_MESSAGE = re.compile(r"[^\w -:`]+")
MAX_MESSAGE_LENGTH = 2048


class ServiceError(Exception):
    """An error the service reports to the client; `code` is the model's exception shape name."""

    code = "InternalServerException"
    status: int | None = None  # None: the status the service model gives `code`

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(ServiceError):
    code = "ValidationException"


class NotFoundError(ServiceError):
    code = "ResourceNotFoundException"


class ConflictError(ServiceError):
    code = "ConflictException"


class AccessDeniedError(ServiceError):
    code = "AccessDeniedException"


class ThrottlingError(ServiceError):
    code = "ThrottlingException"


class QuotaExceededError(ServiceError):
    code = "ServiceQuotaExceededException"


class InternalError(ServiceError):
    code = "InternalServerException"


class AuthenticationError(ServiceError):
    """A request AWS's front door refuses before any operation runs (not an error of the operation models).

    AWS answers these with generic codes every AWS client knows, e.g. `MissingAuthenticationTokenException`,
    `UnrecognizedClientException`, `InvalidSignatureException` or `IncompleteSignatureException`, all 403.
    """

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class PayloadTooLargeError(ServiceError):
    """A request body over the service's size limit (not a modelled error; DICOMweb's 413)."""

    code = "PayloadTooLargeException"
    status = 413


class UnknownOperationError(ServiceError):
    """No operation of the model matches the method and path (not a modelled error)."""

    code = "UnknownOperationException"
    status = 404


def error_for_code(code: str, message: str) -> ServiceError:
    """Build an error of an arbitrary model exception name (used by fault injection)."""
    for cls in (
        ValidationError,
        NotFoundError,
        ConflictError,
        AccessDeniedError,
        ThrottlingError,
        QuotaExceededError,
        InternalError,
    ):
        if cls.code == code:
            return cls(message)
    error = ServiceError(message)
    error.code = code
    return error


def model_message(text: str) -> str:
    """`text` fitted to the model's Message shape (pattern ``[\\w -:`]+``, at most 2048 characters)."""
    cleaned = " ".join(_NOT_IN_MESSAGE.sub(" ", text).split())
    return (cleaned or "Unknown error")[:MAX_MESSAGE_LENGTH]
