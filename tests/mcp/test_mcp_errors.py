"""Every failure reaches the client as isError with a typed JSON error, and the server keeps serving."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult

import healthimaging_mcp.tools.image_sets as image_sets_module
from healthimaging_mcp.aws.errors import from_aws
from healthimaging_mcp.errors import ErrorType
from healthimaging_mcp.local.http.limits import FaultInjector
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.middleware import SDK_TOOL_FAILURE, SDK_UNKNOWN_TOOL, typed_sdk_failure
from healthimaging_mcp.runtime import Runtime
from healthimaging_mcp.tools.registry import bind
from tests.support.local_kit import UNKNOWN_ID
from tests.support.mcp_stores import WritableStore
from tests.support.mcp_testkit import MODES, call, error_of, ok, settings_for, single_attempt_server, text_of
from tests.support.samples import SampleFacts

pytestmark = pytest.mark.anyio


@pytest.fixture
def faults(sample_service: LocalService) -> Iterator[Any]:
    """Fault injection on the shared sample service, always cleared afterwards."""
    yield sample_service.faults
    sample_service.faults.clear()


@pytest.fixture
def quick_server(sample_service: LocalService, tmp_path: Path) -> MCPServer:
    """A read-only server on the sample service whose AWS client does not retry."""
    return single_attempt_server(settings_for(sample_service.endpoint, tmp_path))


INVALID_CALLS = [
    ("get_image_set", {"image_set_id": "NOT-AN-ID"}, "image_set_id"),
    ("search_image_sets", {"max_results": 0}, "max_results"),
    ("search_image_sets", {"max_results": 51}, "max_results"),
    (
        "search_image_sets",
        {"patient_id": "PAT-BOB-002", "accession_number": "X", "study_id": "Y"},
        "at most two search criteria",
    ),
    ("search_image_sets", {"study_date_from": "2024-02-01", "study_date_to": "2024-01-01"}, "study_date_from"),
    ("search_image_sets", {"updated_from": "yesterday"}, "ISO 8601"),
    ("no_such_tool", {}, "no_such_tool"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("tool", "arguments", "mentions"), INVALID_CALLS, ids=lambda v: str(v)[:30])
async def test_invalid_arguments_are_validation_errors(
    mode: str, read_server: MCPServer, tool: str, arguments: dict[str, Any], mentions: str
) -> None:
    async with Client(read_server, mode=mode) as client:
        result = await call(client, tool, arguments)
    error = error_of(result)
    assert error["type"] == "validation_error", error
    assert mentions in error["message"], error
    assert error.get("next_step")


async def test_an_unknown_window_is_refused_before_any_call(read_server: MCPServer) -> None:
    async with Client(read_server) as client:
        frame = await call(client, "get_image_frame", {"image_set_id": UNKNOWN_ID, "window": "x-ray-vision"})
        montage = await call(client, "get_series_montage", {"image_set_id": UNKNOWN_ID, "window_width": 10})
    error = error_of(frame)
    assert error["type"] == "validation_error" and "lung" in error["message"]
    assert error_of(montage)["type"] == "validation_error"


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_resources_are_not_found(mode: str, read_server: MCPServer, sample_facts: SampleFacts) -> None:
    ct = sample_facts.ct_image_set_id
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_image_set", {"image_set_id": UNKNOWN_ID}),
        ("get_image_set_metadata", {"image_set_id": UNKNOWN_ID}),
        ("get_datastore", {"datastore_id": UNKNOWN_ID}),
        ("search_image_sets", {"datastore_id": UNKNOWN_ID}),
        ("get_image_frame", {"image_set_id": ct, "image_frame_id": UNKNOWN_ID}),
        ("get_image_frame", {"image_set_id": ct, "series_instance_uid": "1.2.3.4"}),
        ("get_image_frame", {"image_set_id": ct, "instance_number": 999}),
        ("get_series_montage", {"image_set_id": ct, "series_instance_uid": "1.2.3.4"}),
        ("get_image_set_metadata", {"image_set_id": ct, "depth": "series", "series_instance_uid": "1.2.3.4"}),
        ("get_image_set_metadata", {"image_set_id": ct, "depth": "instance", "sop_instance_uid": "1.2.3.4"}),
        ("get_image_set", {"image_set_id": ct, "version_id": "7"}),
        ("get_dicom_import_job", {"job_id": UNKNOWN_ID}),
    ]
    async with Client(read_server, mode=mode) as client:
        for tool, arguments in calls:
            error = error_of(await call(client, tool, arguments))
            assert error["type"] == "not_found", (tool, arguments, error)
            assert error["tool"] == tool
            assert error["next_step"]
            if error.get("aws_error_code"):
                assert error["aws_error_code"] == "ResourceNotFoundException"
                assert error["request_id"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_stale_version_and_a_non_empty_datastore_are_conflicts(
    mode: str, store: WritableStore, server_for: Callable[..., MCPServer]
) -> None:
    image_set_id = store.image_set_ids[0]
    async with Client(server_for(store.service, allow_write=True), mode=mode) as client:
        first = ok(
            await call(
                client,
                "update_image_set_metadata",
                {
                    "image_set_id": image_set_id,
                    "latest_version_id": "1",
                    "set_attributes": {"study": {"StudyDescription": "A"}},
                },
            )
        )
        assert first["version_id"] == "2"
        stale = await call(
            client,
            "update_image_set_metadata",
            {
                "image_set_id": image_set_id,
                "latest_version_id": "1",
                "set_attributes": {"study": {"StudyDescription": "B"}},
            },
        )
        busy = await call(
            client, "delete_datastore", {"datastore_id": store.datastore_id, "confirm": store.datastore_id}
        )
    for result in (stale, busy):
        error = error_of(result)
        assert error["type"] == "conflict", error
        assert error["aws_error_code"] == "ConflictException"
        assert "get_image_set" in error["next_step"] or "retry" in error["next_step"]
    assert store.state(image_set_id)["versionId"] == "2"
    assert (
        store.boto.get_datastore(datastoreId=store.datastore_id)["datastoreProperties"]["datastoreStatus"] == "ACTIVE"
    )


@pytest.mark.parametrize("mode", MODES)
async def test_throttling_that_outlasts_the_retries_is_throttled(
    mode: str, quick_server: MCPServer, faults: FaultInjector
) -> None:
    faults.add("SearchImageSets", "ThrottlingException", times=20)
    async with Client(quick_server, mode=mode) as client:
        error = error_of(await call(client, "search_image_sets", {}))
    assert error["type"] == "throttled"
    assert error["aws_error_code"] == "ThrottlingException"
    assert "wait" in error["next_step"]
    assert faults.fired("SearchImageSets") == 1, "the service must have throttled the one attempt"


async def test_a_single_throttle_is_retried_transparently(
    read_server: MCPServer, faults: FaultInjector, sample_facts: SampleFacts
) -> None:
    faults.add("GetImageSet", "ThrottlingException", times=1)
    async with Client(read_server) as client:
        result = await call(client, "get_image_set", {"image_set_id": sample_facts.ct_image_set_id})
    assert faults.fired("GetImageSet") == 1, "the injected throttle must have been answered (and retried)"
    assert ok(result)["state"] == "ACTIVE"


@pytest.mark.parametrize("mode", MODES)
async def test_access_denied_and_internal_errors_are_typed(
    mode: str, quick_server: MCPServer, faults: FaultInjector, sample_facts: SampleFacts
) -> None:
    async with Client(quick_server, mode=mode) as client:
        faults.add("GetImageSet", "AccessDeniedException", message="User is not authorized to GetImageSet")
        denied = error_of(await call(client, "get_image_set", {"image_set_id": sample_facts.ct_image_set_id}))
        faults.add("GetDatastore", "InternalServerException")
        broken = error_of(await call(client, "get_datastore", {"datastore_id": sample_facts.datastore_id}))
    assert (denied["type"], denied["aws_error_code"]) == ("access_denied", "AccessDeniedException")
    assert "not authorized" in denied["message"] and "IAM" in denied["next_step"]
    assert (broken["type"], broken["aws_error_code"]) == ("service_error", "InternalServerException")
    assert broken["request_id"]


async def test_an_unreachable_endpoint_is_a_service_error(tmp_path: Path) -> None:
    server = single_attempt_server(settings_for("http://127.0.0.1:9", tmp_path))
    async with Client(server) as client:
        error = error_of(await call(client, "list_datastores"))
    assert error["type"] == "service_error"
    assert "endpoint" in error["message"].lower() and "--endpoint-url" in error["next_step"]


async def test_missing_credentials_are_an_auth_error(
    monkeypatch: pytest.MonkeyPatch, sample_service: LocalService, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    server = single_attempt_server(settings_for(sample_service.endpoint, tmp_path))
    async with Client(server) as client:
        error = error_of(await call(client, "list_datastores"))
    assert error["type"] == "auth_error"
    assert "credentials" in error["message"].lower()
    assert "aws configure" in error["next_step"]


@pytest.mark.parametrize("code", ["UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"])
def test_credential_rejections_map_to_auth_error(code: str) -> None:
    """AWS answers these outside the service model (the local service cannot send them), so map them directly."""
    response = {
        "Error": {"Code": code, "Message": "The security token included in the request is invalid."},
        "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": 403},
    }
    error = from_aws(ClientError(response, "ListDatastores"))  # type: ignore[arg-type]
    assert (error.error_type.value, error.code, error.request_id) == ("auth_error", code, "req-1")
    assert "credentials" in (error.next_step or "")


async def test_wrong_credentials_are_an_auth_error_without_echoing_the_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = "wrongSECRETvalue0123456789"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    with LocalService(tmp_path / "guarded", credentials={"AKIAGOODKEY": "good-secret"}) as guarded:
        server = single_attempt_server(settings_for(guarded.endpoint, tmp_path))
        async with Client(server) as client:
            result = await call(client, "list_datastores")
    error = error_of(result)
    assert secret not in text_of(result) and "good-secret" not in text_of(result)
    assert error["type"] == "auth_error", error
    assert error["aws_error_code"] == "UnrecognizedClientException"
    assert "credentials" in error["next_step"]


async def test_a_missing_region_is_a_validation_error_saying_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, sample_service: LocalService, tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    server = single_attempt_server(settings_for(sample_service.endpoint, tmp_path, region=None))
    async with Client(server) as client:
        error = error_of(await call(client, "list_datastores"))
    assert error["type"] == "validation_error"
    assert "AWS_REGION" in error["next_step"]


@pytest.mark.parametrize("mode", MODES)
async def test_an_unexpected_exception_is_an_internal_error_and_the_server_keeps_serving(
    mode: str, read_server: MCPServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(criteria: dict[str, Any]) -> list[dict[str, Any]]:
        raise RuntimeError("boom: secret internals")

    async with Client(read_server, mode=mode) as client:
        with monkeypatch.context() as patch:
            patch.setattr(image_sets_module, "build_filters", explode)
            result = await call(client, "search_image_sets", {"patient_id": "PAT-BOB-002"})
        after = await call(client, "search_image_sets", {"patient_id": "PAT-BOB-002"})
    error = error_of(result)
    assert error["type"] == "internal_error"
    assert "secret internals" not in text_of(result)
    assert "RuntimeError" in error["message"]
    assert ok(after)["image_sets"]
    assert any("search_image_sets" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_the_sdk_wording_the_middleware_types_is_still_the_sdks() -> None:
    """The middleware rewrites only what the SDK itself answers before a tool runs; it recognises the SDK's
    wording, so an SDK that words these failures differently must fail here (and not reach clients untyped)."""
    bare = MCPServer("bare")  # no middleware: the SDK's own texts

    @bare.tool()
    def echo(count: int) -> int:
        return count

    async with Client(bare) as client:
        invalid = text_of(await call(client, "echo", {"count": "many"}))
        unknown = text_of(await call(client, "no_such_tool", {}))
    assert SDK_TOOL_FAILURE.match(invalid) and "validation error" in invalid, invalid
    assert SDK_UNKNOWN_TOOL.match(unknown), unknown
    for text, mentions in ((invalid, "count"), (unknown, "no_such_tool")):
        error = typed_sdk_failure(text)
        assert error is not None and error.error_type is ErrorType.VALIDATION
        assert mentions in error.message
    assert typed_sdk_failure('{"error": {"type": "not_found"}}') is None  # our own answers pass untouched


def test_a_tool_answers_its_own_failure_as_a_typed_error_result(sample_service: LocalService, tmp_path: Path) -> None:
    """Our failures never go through the SDK's exception text: the tool returns the error result itself."""
    runtime = Runtime(settings_for(sample_service.endpoint, tmp_path))
    tool = bind(image_sets_module.get_image_set, runtime)
    result = tool(image_set_id=UNKNOWN_ID)
    assert isinstance(result, CallToolResult) and result.is_error
    assert result.structured_content is None  # clients would check it against the output schema
    assert error_of(result)["type"] == "not_found" and error_of(result)["tool"] == "get_image_set"
