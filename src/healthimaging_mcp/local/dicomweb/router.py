"""The DICOMweb front of the local service: route, admit (SigV4, faults, rates), dispatch, answer.

Errors are answered like the native API's (JSON ``{"message": …}`` with ``x-amzn-ErrorType``), with the
DICOMweb status codes: 400 bad request, 403 authentication, 404 not found, 405 method, 406 not acceptable,
409 conflict (STOW: some instances failed), 413 too large, 415 unsupported media type.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from ..errors import AuthenticationError, InternalError, ServiceError, ValidationError
from ..http.auth import Caller
from ..http.protocol import HttpRequest, HttpResponse, error_response
from ..imports.assembler import ImageSetAssembler
from ..store.blobs import BlobStore
from ..store.db import Database
from ..store.image_sets import ImageSetStore
from ..store.lookups import datastore_row
from .documents import DocumentCache
from .errors import NotAcceptableError
from .index import DicomWebIndex
from .media import DICOM_JSON, accepts
from .qido import QidoSearch, Scope
from .query import Level, parse_query
from .routes import Resource, is_dicomweb_path, resolve
from .stow import StowStore
from .urls import ResourceUrls
from .wado import SeriesRef, WadoRetrieve

log = logging.getLogger(__name__)

Admit = Callable[[HttpRequest, str], Caller]
"""Authenticates a request and applies fault injection and throttling for an operation (raises ServiceError)."""

_SEARCH_LEVELS = {
    "SearchDICOMStudies": Level.STUDY,
    "SearchDICOMSeries": Level.SERIES,
    "SearchDICOMAllSeries": Level.SERIES,
    "SearchDICOMInstances": Level.INSTANCE,
    "SearchDICOMStudyInstances": Level.INSTANCE,
    "SearchDICOMAllInstances": Level.INSTANCE,
}


class DicomWebRouter:
    """Answers the DICOMweb paths of the listener; `handle` returns None for any other path."""

    def __init__(self, db: Database, blobs: BlobStore, image_sets: ImageSetStore, assembler: ImageSetAssembler) -> None:
        self.db = db
        self.index = DicomWebIndex(db, image_sets)
        self.documents = DocumentCache(blobs)
        self.qido = QidoSearch(self.index, self.documents)
        self.wado = WadoRetrieve(db, image_sets, self.index, self.documents)
        self.stow = StowStore(assembler, blobs)

    def handle(self, request: HttpRequest, admit: Admit, request_id: str) -> HttpResponse | None:
        if not is_dicomweb_path(request.raw_path):
            return None
        operation = "DICOMweb"
        try:
            resource = resolve(request.method, request.raw_path)
            operation = resource.operation
            admit(request, operation)
            response = self._dispatch(resource, request)
        except AuthenticationError as error:
            return error_response(error, request_id)
        except ServiceError as error:
            if error.status is None and error.code == "InternalServerException":
                log.warning("%s failed: %s", operation, error.message)
            return error_response(error, request_id)
        except Exception:
            log.exception("%s crashed", operation)
            return error_response(InternalError("The service encountered an unexpected error"), request_id)
        response.headers["x-amzn-RequestId"] = request_id
        return response

    def _dispatch(self, resource: Resource, request: HttpRequest) -> HttpResponse:
        datastore = datastore_row(self.db, resource.datastore_id)
        level = _SEARCH_LEVELS.get(resource.operation)
        if level is not None:
            return self._search(datastore["id"], level, resource, request)
        if resource.operation in ("StoreDICOM", "StoreDICOMStudy"):
            return self._store(datastore, resource, request)
        return self._retrieve(datastore["id"], resource, request)

    def _store(self, datastore: sqlite3.Row, resource: Resource, request: HttpRequest) -> HttpResponse:
        if not accepts(request.headers.get("accept"), DICOM_JSON, "application/json"):
            raise NotAcceptableError("The STOW-RS answer is application/dicom+json; ask for that media type")
        if request.query:
            raise ValidationError(f"Unknown query parameter '{sorted(request.query)[0]}': STOW-RS takes none")
        urls = ResourceUrls.for_request(request.headers.get("host"), request.server, datastore["id"])
        content_type = request.headers.get("content-type", "")
        outcome = self.stow.store(datastore, resource.study_uid, content_type, request.body, urls)
        return json_response(outcome.response, outcome.status)

    def _retrieve(self, datastore_id: str, resource: Resource, request: HttpRequest) -> HttpResponse:
        image_set_id = _single_parameter(request, "imageSetId")
        ref = SeriesRef(datastore_id, str(resource.study_uid), str(resource.series_uid), image_set_id)
        urls = ResourceUrls.for_request(request.headers.get("host"), request.server, datastore_id, image_set_id)
        accept = request.headers.get("accept")
        sop_uid = str(resource.sop_uid)
        operation = resource.operation
        if operation in ("GetDICOMSeriesMetadata", "GetDICOMInstanceMetadata"):
            if not accepts(accept, DICOM_JSON, "application/json"):
                raise NotAcceptableError("Metadata is application/dicom+json; ask for that media type")
            if operation == "GetDICOMSeriesMetadata":
                return json_response(self.wado.series_metadata(ref, urls))
            return json_response(self.wado.instance_metadata(ref, sop_uid, urls))
        if operation == "GetDICOMInstance":
            return self.wado.instance(ref, sop_uid, accept)
        if operation == "GetDICOMInstanceFrames":
            return self.wado.frames(ref, sop_uid, str(resource.frame_list), accept)
        return self.wado.bulk_data(ref, sop_uid, str(resource.bulk_data_path), accept)

    def _search(self, datastore_id: str, level: Level, resource: Resource, request: HttpRequest) -> HttpResponse:
        if not accepts(request.headers.get("accept"), DICOM_JSON, "application/json"):
            raise NotAcceptableError("Search results are application/dicom+json; ask for that media type")
        query = parse_query(request.query, level)
        urls = ResourceUrls.for_request(request.headers.get("host"), request.server, datastore_id)
        result = self.qido.search(datastore_id, query, Scope(resource.study_uid, resource.series_uid), urls)
        response = json_response(result.datasets)
        if result.warnings:
            response.headers["Warning"] = ", ".join(warning_value(text) for text in result.warnings)
        return response


def _single_parameter(request: HttpRequest, name: str) -> str | None:
    """A query parameter a retrieve accepts (at most once); any other parameter is refused."""
    unknown = sorted(set(request.query) - {name})
    if unknown:
        raise ValidationError(f"Unknown query parameter '{unknown[0]}': retrieve requests take only {name}")
    values = request.query.get(name)
    if not values:
        return None
    if len(values) > 1 or not values[0]:
        raise ValidationError(f"Give {name} once, with a value")
    return values[0]


def json_response(body: Any, status: int = 200) -> HttpResponse:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return HttpResponse(status, {"Content-Type": DICOM_JSON}, data)


def warning_value(text: str) -> str:
    """An HTTP Warning header value (code 299, as PS3.18 uses), in plain ASCII without quotes."""
    clean = text.replace('"', "'").encode("ascii", "replace").decode()
    return f'299 healthimaging-local "{clean}"'
