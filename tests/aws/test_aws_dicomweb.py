"""aws/dicomweb.py over real HTTP: a scripted server on 127.0.0.1 answers with the statuses HealthImaging uses."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from healthimaging_mcp.aws.clients import ClientFactory
from healthimaging_mcp.aws.dicomweb import RETRIES, DicomWeb
from healthimaging_mcp.errors import ErrorType, HealthImagingError
from tests.support.mcp_testkit import settings_for


@dataclass
class Answer:
    status: int
    body: bytes = b"[]"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/dicom+json"})


def failure(status: int, code: str | None, message: str) -> Answer:
    """An error answer as HealthImaging sends it: `{"message": …}` and, when given, `x-amzn-ErrorType`."""
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": "req-1"}
    if code:
        headers["x-amzn-ErrorType"] = f"{code}:http://internal.amazon.com/coral/"
    return Answer(status, json.dumps({"message": message}).encode(), headers)


class ScriptedServer(ThreadingHTTPServer):
    """Answers each request with the next scripted Answer, recording the request lines and headers."""

    def __init__(self, answers: list[Answer]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = answers
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def _answer(self) -> None:
        self.server.requests.append((self.command, self.path, dict(self.headers.items())))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.server.answers.pop(0) if self.server.answers else Answer(502, b"")
        self.send_response(answer.status)
        for name, value in {**answer.headers, "Content-Length": str(len(answer.body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_CONNECT = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer([])
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def dicomweb(endpoint: str | None, sleeps: list[float], region: str = "us-east-1") -> DicomWeb:
    settings = settings_for(endpoint or "", None, endpoint_url=endpoint, region=region)
    return DicomWeb(ClientFactory(settings), sleep=sleeps.append)


@pytest.mark.parametrize("status", [429, 503])
def test_throttled_answers_are_retried_with_growing_delays_then_succeed(scripted: ScriptedServer, status: int) -> None:
    scripted.answers += [failure(status, None, "Slow down"), failure(status, None, "Slow down"), Answer(200)]
    sleeps: list[float] = []
    found = dicomweb(scripted.endpoint, sleeps).search("ds1", "studies", [("PatientName", "DOE^*")])
    assert found == [] and sleeps == [0.5, 1.0]
    assert [path for _, path, _ in scripted.requests] == ["/datastore/ds1/studies?PatientName=DOE%5E%2A"] * 3
    authorization = scripted.requests[0][2]["Authorization"]
    assert "/us-east-1/medical-imaging/aws4_request" in authorization


def test_throttling_past_the_retries_is_a_throttled_error(scripted: ScriptedServer) -> None:
    scripted.answers += [failure(429, "ThrottlingException", "Rate exceeded")] * (RETRIES + 1)
    sleeps: list[float] = []
    with pytest.raises(HealthImagingError) as raised:
        dicomweb(scripted.endpoint, sleeps).search("ds1", "studies", [])
    assert (raised.value.error_type, raised.value.message) == (ErrorType.THROTTLED, "Rate exceeded")
    assert sleeps == [0.5, 1.0, 2.0, 4.0] and len(scripted.requests) == RETRIES + 1


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (failure(400, "ValidationException", "Bad StudyDate"), ErrorType.VALIDATION),
        (failure(400, None, "Bad StudyDate"), ErrorType.VALIDATION),
        (failure(403, "AccessDeniedException", "Not authorized"), ErrorType.ACCESS_DENIED),
        (failure(403, "InvalidSignatureException", "Signature mismatch"), ErrorType.AUTH),
        (failure(403, "UnrecognizedClientException", "Unknown key"), ErrorType.AUTH),
        (failure(404, "ResourceNotFoundException", "No such datastore"), ErrorType.NOT_FOUND),
        (failure(409, "ConflictException", "Datastore is being deleted"), ErrorType.CONFLICT),
    ],
    ids=["400", "400-no-code", "403-denied", "403-signature", "403-unknown-key", "404", "409"],
)
def test_failures_are_typed_errors_with_the_service_message(
    scripted: ScriptedServer, answer: Answer, expected: ErrorType
) -> None:
    message = json.loads(answer.body)["message"]
    scripted.answers.append(answer)
    with pytest.raises(HealthImagingError) as raised:
        dicomweb(scripted.endpoint, []).search("ds1", "studies", [])
    error = raised.value
    assert (error.error_type, error.message, error.request_id) == (expected, message, "req-1")
    assert len(scripted.requests) == 1, "only throttling is retried"


def test_a_stow_409_is_an_answer_not_an_error(scripted: ScriptedServer) -> None:
    failed = {"00081198": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": ["1.2.3"]}}]}}
    scripted.answers.append(Answer(409, json.dumps(failed).encode()))
    answer = dicomweb(scripted.endpoint, []).store("ds1", [b"DICM"])
    assert (answer.status, answer.dataset) == (409, failed)
    method, path, headers = scripted.requests[0]
    assert (method, path) == ("POST", "/datastore/ds1/studies")
    assert headers["Content-Type"].startswith('multipart/related; type="application/dicom"; boundary=')


def test_without_an_endpoint_url_the_regional_dicomweb_host_is_used(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scripted server stands in as the HTTPS proxy: the CONNECT it receives names the host (no network)."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", scripted.endpoint)
    with pytest.raises(HealthImagingError) as raised:
        dicomweb(None, [], region="eu-west-2").search("ds1", "studies", [])
    assert raised.value.error_type == ErrorType.SERVICE  # the proxy refuses the tunnel: unreachable
    assert raised.value.message == "Cannot reach the HealthImaging DICOMweb endpoint."
    assert scripted.requests[0][:2] == ("CONNECT", "dicom-medical-imaging.eu-west-2.amazonaws.com:443")
