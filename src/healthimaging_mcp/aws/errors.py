"""AWS failures (botocore exceptions, service error codes) as the typed errors tools answer with."""

from __future__ import annotations

from botocore import exceptions as boto_errors

from ..errors import ErrorType, HealthImagingError

_BY_CODE: dict[str, tuple[ErrorType, str]] = {
    "ValidationException": (ErrorType.VALIDATION, "Fix the argument named in the message and call again."),
    "BadRequestException": (ErrorType.VALIDATION, "Fix the request and call again."),
    "ResourceNotFoundException": (
        ErrorType.NOT_FOUND,
        "Check the ID (IDs are 32 lowercase letters/digits); list or search to find valid ones.",
    ),
    "ConflictException": (
        ErrorType.CONFLICT,
        "Read the current state (e.g. get_image_set for its latest version) and retry with it.",
    ),
    "ThrottlingException": (ErrorType.THROTTLED, "HealthImaging is rate limiting this account; wait and retry."),
    "ServiceQuotaExceededException": (
        ErrorType.SERVICE,
        "A HealthImaging quota was reached; reduce the request or ask AWS for a quota increase.",
    ),
    "AccessDeniedException": (
        ErrorType.ACCESS_DENIED,
        "The AWS identity lacks the IAM permission for this action on this resource; ask an administrator.",
    ),
    "InternalServerException": (ErrorType.SERVICE, "HealthImaging had an internal error; retry in a moment."),
    "NotAcceptableException": (ErrorType.SERVICE, "HealthImaging cannot serve this frame in a readable format."),
}
_AUTH_CODES = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidClientTokenId",
    "MissingAuthenticationTokenException",
    "IncompleteSignature",
    "IncompleteSignatureException",
}
_AUTH_FIX = (
    "Refresh or configure AWS credentials (environment variables, `aws configure`, `aws sso login`, or AWS_PROFILE) "
    "for the MCP server process, then retry."
)


def from_aws(exc: Exception) -> HealthImagingError:
    """Translate a botocore failure into a typed error with an actionable next step."""
    if isinstance(exc, HealthImagingError):
        return exc
    if isinstance(exc, boto_errors.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message") or code)
        request_id = exc.response.get("ResponseMetadata", {}).get("RequestId")
        if code in _AUTH_CODES:
            return HealthImagingError(ErrorType.AUTH, message, next_step=_AUTH_FIX, code=code, request_id=request_id)
        error_type, hint = _BY_CODE.get(
            code, (ErrorType.SERVICE, "Unexpected HealthImaging error; retry, and check the message.")
        )
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code not in _BY_CODE and status == 429:
            error_type, hint = _BY_CODE["ThrottlingException"]
        return HealthImagingError(error_type, message, next_step=hint, code=code, request_id=request_id)
    if isinstance(exc, boto_errors.NoRegionError):
        return HealthImagingError(
            ErrorType.VALIDATION,
            "No AWS region is configured for HealthImaging.",
            next_step="Set AWS_REGION (e.g. us-east-1) or start the server with --region.",
        )
    if isinstance(exc, boto_errors.ProfileNotFound):
        return HealthImagingError(ErrorType.AUTH, str(exc), next_step="Fix AWS_PROFILE / --profile to name a profile.")
    if isinstance(
        exc,
        (
            boto_errors.NoCredentialsError,
            boto_errors.PartialCredentialsError,
            boto_errors.TokenRetrievalError,
            boto_errors.SSOTokenLoadError,
            boto_errors.UnauthorizedSSOTokenError,
            boto_errors.CredentialRetrievalError,
        ),
    ):
        return HealthImagingError(ErrorType.AUTH, f"AWS credentials problem: {exc}", next_step=_AUTH_FIX)
    if isinstance(exc, boto_errors.ParamValidationError):
        return HealthImagingError(ErrorType.VALIDATION, str(exc), next_step="Fix the argument and call again.")
    if isinstance(exc, (boto_errors.EndpointConnectionError, boto_errors.ConnectTimeoutError)):
        return HealthImagingError(
            ErrorType.SERVICE,
            f"Cannot reach the HealthImaging endpoint: {exc}",
            next_step="Check network access, the region, and --endpoint-url.",
        )
    if isinstance(exc, boto_errors.ReadTimeoutError):
        return HealthImagingError(ErrorType.SERVICE, "HealthImaging did not answer in time.", next_step="Retry.")
    return HealthImagingError(
        ErrorType.INTERNAL,
        f"Unexpected {type(exc).__name__} in the MCP server (logged on its stderr).",
        next_step="Retry; if it persists, report it with the server log.",
    )


_BY_STATUS: dict[int, str] = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    409: "ConflictException",
    413: "ValidationException",
    415: "ValidationException",
    429: "ThrottlingException",
    503: "ThrottlingException",
}


def from_http(status: int, code: str | None, message: str, request_id: str | None = None) -> HealthImagingError:
    """A failed HTTP answer of an API no SDK models (DICOMweb) as a typed error: by its error code when it names
    one we know (auth codes included), else by its status."""
    if code in _AUTH_CODES:
        return HealthImagingError(ErrorType.AUTH, message, next_step=_AUTH_FIX, code=code, request_id=request_id)
    known = code if code in _BY_CODE else _BY_STATUS.get(status)
    if known is None:
        error_type, hint = ErrorType.SERVICE, f"HealthImaging answered HTTP {status}; retry, and check the message."
    else:
        error_type, hint = _BY_CODE[known]
    return HealthImagingError(error_type, message, next_step=hint, code=code, request_id=request_id)
