"""DICOMweb answers that the native operations' models do not have (status codes of PS3.18)."""

from __future__ import annotations

from ..errors import ServiceError


class NotAcceptableError(ServiceError):
    """No representation the Accept header allows can be produced (e.g. a transfer syntax we cannot make)."""

    code = "NotAcceptableException"
    status = 406


class MethodNotAllowedError(ServiceError):
    code = "MethodNotAllowedException"
    status = 405


class UnsupportedMediaTypeError(ServiceError):
    code = "UnsupportedMediaTypeException"
    status = 415
