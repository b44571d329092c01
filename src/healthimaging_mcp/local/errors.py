"""Service errors the local HealthImaging service answers with, named as in the service model."""

from __future__ import annotations


class ServiceError(Exception):
    """An error the service reports to the client; `code` is the model's exception shape name."""

    code = "InternalServerException"

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
