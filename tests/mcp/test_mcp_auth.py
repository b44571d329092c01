"""`--auth-issuer-url`: the HTTP server as an OAuth resource server, through real HTTP to a subprocess, with
tokens signed by a key made here and its JWKS served on 127.0.0.1. Every refusal is the spec's answer (401 with
`WWW-Authenticate`, 403 on a missing scope), and the scopes decide which tools a caller sees and runs."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from healthimaging_mcp.deploy.auth import JwtVerifier, SigningKeys
from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.settings import Settings
from tests.support.local_kit import UNKNOWN_ID, read_metadata
from tests.support.mcp_stores import PATIENT, PatientArchive
from tests.support.mcp_testkit import MODES, READ_TOOLS, WRITE_TOOLS, call, error_of, ok
from tests.support.oauth_issuer import DELETE, READ, WRITE, Issuer, b64url, new_key, serve_issuer
from tests.support.server_processes import child_env, free_port, launch, stop

pytestmark = pytest.mark.anyio

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}


@dataclass
class AuthServer:
    port: int
    issuer: Issuer
    audit: Path
    output: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def request(
        self, method: str, path: str, body: bytes | None = None, token: str | None = None
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            answer = json.loads(raw) if response.getheader("content-type", "").startswith("application/json") else raw
            return response.status, {k.lower(): v for k, v in response.getheaders()}, answer
        finally:
            connection.close()

    def initialize(self, token: str | None) -> tuple[int, dict[str, str], Any]:
        return self.request("POST", "/mcp", json.dumps(INITIALIZE).encode(), token)


@contextmanager
def auth_server_on(service: LocalService, folder: Path) -> Iterator[AuthServer]:
    """A write-mode server on `service` (writes unpaced) with its own token issuer, output folder and audit log
    in `folder`."""
    port, audit, output = free_port(), folder / "audit.jsonl", folder / "out"
    with serve_issuer(audience=f"http://127.0.0.1:{port}/mcp") as issuer:
        args = ["--endpoint-url", service.endpoint, "--region", "us-east-1", "--allow-write"]
        args += ["--output-dir", str(output), "--audit-log", str(audit)]
        process = launch(port, *args, "--auth-issuer-url", issuer.url, HEALTHIMAGING_MCP_WRITE_RATE="0")
        try:
            yield AuthServer(port, issuer, audit, output)
        finally:
            stop(process)


@pytest.fixture(scope="module")
def auth_server(
    sample_service: LocalService, moto_s3: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthServer]:
    """On the sample data, its S3 client on moto (`moto_s3` points AWS_ENDPOINT_URL_S3)."""
    with auth_server_on(sample_service, tmp_path_factory.mktemp("auth")) as server:
        yield server


def session(server: AuthServer, token: str, mode: str) -> Client:
    http_client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=120))
    transport: AbstractAsyncContextManager[Any] = streamable_http_client(server.url, http_client=http_client)
    return Client(transport, mode=mode)


def test_a_valid_token_is_served(auth_server: AuthServer) -> None:
    status, _, _ = auth_server.initialize(auth_server.issuer.token())
    assert status == 200


def expect_invalid_token(auth_server: AuthServer, token: str | None) -> None:
    status, headers, body = auth_server.initialize(token)
    assert status == 401
    challenge = headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
    metadata = f"http://127.0.0.1:{auth_server.port}/.well-known/oauth-protected-resource/mcp"
    assert f'resource_metadata="{metadata}"' in challenge
    assert body["error"] == "invalid_token"


@pytest.mark.parametrize(
    "case",
    [
        "no token",
        "not a JWT",
        "expired",
        "wrong issuer",
        "wrong audience",
        "for another resource",
        "bad signature",
        "alg none",
        "HS256 with the public key as secret",
        "no expiry",
        "Cognito ID token",
    ],
)
def test_invalid_tokens_get_401_with_the_resource_metadata(auth_server: AuthServer, case: str) -> None:
    issuer = auth_server.issuer
    other_resource = f"http://127.0.0.1:{free_port()}/mcp"
    public_pem = issuer.key.public_key().public_bytes(Encoding.PEM, PublicFormat.PKCS1)
    tokens: dict[str, str | None] = {
        "no token": None,
        "not a JWT": "opaque-token-value",
        "expired": issuer.token(exp=1_600_000_000, iat=1_599_999_000),
        "wrong issuer": issuer.token(iss="https://evil.example/issuer"),
        "wrong audience": issuer.token(aud="some-other-api"),
        "for another resource": issuer.token(aud=other_resource),
        "bad signature": issuer.token(key=new_key()),
        "alg none": issuer.unsigned_token(),
        "HS256 with the public key as secret": _hs256(issuer, public_pem),
        "no expiry": issuer.token(exp=None),
        "Cognito ID token": issuer.token(token_use="id"),
    }
    expect_invalid_token(auth_server, tokens[case])


def _hs256(issuer: Issuer, secret: bytes) -> str:
    """The classic algorithm confusion: HMAC keyed with the issuer's public key."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode())
    payload = b64url(json.dumps(issuer.claims()).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def test_a_token_without_the_read_scope_gets_403(auth_server: AuthServer) -> None:
    status, headers, body = auth_server.initialize(auth_server.issuer.token(scope=f"{WRITE} {DELETE}"))
    assert status == 403
    assert 'error="insufficient_scope"' in headers["www-authenticate"]
    assert "resource_metadata=" in headers["www-authenticate"]
    assert body["error"] == "insufficient_scope" and READ in body["error_description"]


def test_the_protected_resource_metadata_is_published(auth_server: AuthServer) -> None:
    status, _, body = auth_server.request("GET", "/.well-known/oauth-protected-resource/mcp")
    assert status == 200
    assert body["resource"] == auth_server.url
    assert body["authorization_servers"] == [auth_server.issuer.url]
    assert body["scopes_supported"] == [READ, WRITE, DELETE]
    assert body["bearer_methods_supported"] == ["header"]


def test_malformed_messages_are_answered_only_behind_the_token_check(auth_server: AuthServer) -> None:
    status, _, _ = auth_server.request("POST", "/mcp", b"{not json")
    assert status == 401
    status, _, body = auth_server.request("POST", "/mcp", b"{not json", auth_server.issuer.token())
    assert status == 400 and body["error"]["code"] == -32700


def test_the_health_check_needs_no_token(auth_server: AuthServer) -> None:
    status, _, body = auth_server.request("GET", "/healthz")
    assert status == 200 and body["status"] == "ok"


def test_the_healthcheck_command_reports_the_server_on_its_port(auth_server: AuthServer) -> None:
    def healthcheck(port: int) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "healthimaging_mcp", "--port", str(port), "healthcheck"]
        return subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=60)

    assert healthcheck(auth_server.port).returncode == 0
    down = healthcheck(free_port())
    assert down.returncode == 1 and "/healthz" in down.stderr


@pytest.mark.parametrize("mode", MODES)
async def test_scopes_decide_which_tools_a_caller_sees(auth_server: AuthServer, mode: str) -> None:
    issuer = auth_server.issuer
    listed: dict[str, set[str]] = {}
    destructive: set[str] = set()
    for who, scopes in {"reader": READ, "writer": f"{READ} {WRITE}", "admin": f"{READ} {WRITE} {DELETE}"}.items():
        async with session(auth_server, issuer.token(scope=scopes, sub=who), mode) as client:
            tools = (await client.list_tools()).tools
        listed[who] = {t.name for t in tools}
        destructive |= {t.name for t in tools if t.annotations and t.annotations.destructive_hint}
    assert listed["reader"] == READ_TOOLS
    assert listed["admin"] == READ_TOOLS | WRITE_TOOLS
    assert {"delete_image_set", "delete_datastore"} <= destructive
    gated = {"change_image_sets", "update_image_set_metadata"}  # they refuse their removals themselves
    assert listed["writer"] == listed["admin"] - destructive | gated
    assert {"copy_image_set", "change_image_sets"} <= listed["writer"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_read_only_token_never_runs_write_tools(auth_server: AuthServer, mode: str) -> None:
    issuer = auth_server.issuer
    refused: dict[str, dict[str, Any]] = {
        "delete_image_set": {"image_set_id": UNKNOWN_ID, "confirm": UNKNOWN_ID},
        "tag_resource": {
            "resource_arn": "arn:aws:medical-imaging:us-east-1:123456789012:datastore/" + UNKNOWN_ID,
            "tags": {"team": "x"},
        },
    }
    reader = f"reader-{mode}"
    async with session(auth_server, issuer.token(scope=READ, sub=reader), mode) as client:
        answers = {name: await client.call_tool(name, arguments) for name, arguments in refused.items()}
    for name, answer in answers.items():
        error = error_of(answer)
        assert error["type"] == "access_denied", (name, error)
        assert WRITE in error["message"] or DELETE in error["message"]
    # With the scope, the same call reaches the service (and fails there: the ID does not exist).
    async with session(auth_server, issuer.token(scope=f"{READ} {WRITE} {DELETE}"), mode) as client:
        deleted = await client.call_tool("delete_image_set", refused["delete_image_set"])
    assert error_of(deleted)["type"] == "not_found"
    audited = [json.loads(line) for line in auth_server.audit.read_text().splitlines()]
    mine = [line for line in audited if line["caller"] == {"subject": reader, "client_id": "assistant-app"}]
    assert [(line["tool"], line["outcome"], line["error_type"]) for line in mine] == [
        ("delete_image_set", "denied", "access_denied"),
        ("tag_resource", "denied", "access_denied"),
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_exporting_to_s3_needs_the_write_scope_and_folders_do_not(
    auth_server: AuthServer, moto_s3: Any, sample_facts: Any, mode: str
) -> None:
    issuer, bucket = auth_server.issuer, f"auth-exports-{mode}"
    moto_s3.create_bucket(Bucket=bucket)
    image_set = {"image_set_id": sample_facts.ct_image_set_id}
    reader = f"exporting-reader-{mode}"
    async with session(auth_server, issuer.token(scope=READ, sub=reader), mode) as client:
        refused = await client.call_tool("export_dicom", {**image_set, "destination": f"s3://{bucket}/reader"})
        to_folder = await client.call_tool("export_dicom", {**image_set, "destination": f"reader-{mode}"})
    async with session(auth_server, issuer.token(scope=f"{READ} {WRITE}"), mode) as client:
        uploaded = await client.call_tool("export_dicom", {**image_set, "destination": f"s3://{bucket}/writer"})
    error = error_of(refused)
    assert error["type"] == "access_denied" and WRITE in error["message"] and "S3" in error["message"]
    assert "Traceback" not in error["message"] and "Export to a folder" in error["next_step"]
    assert not to_folder.is_error and to_folder.structured_content is not None
    assert len(list((auth_server.output / f"reader-{mode}").rglob("*.dcm"))) == to_folder.structured_content["files"]
    assert not uploaded.is_error and uploaded.structured_content is not None
    objects = moto_s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert {o["Key"].split("/")[0] for o in objects} == {"writer"}  # nothing under reader/
    assert len(objects) == uploaded.structured_content["files"] >= 1
    audited = [json.loads(line) for line in auth_server.audit.read_text().splitlines()]
    mine = [line for line in audited if line["caller"] == {"subject": reader, "client_id": "assistant-app"}]
    assert [(line["tool"], line["outcome"], line["error_type"]) for line in mine] == [
        ("export_dicom", "denied", "access_denied"),
        ("export_dicom", "ok", None),
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_the_write_scope_corrects_image_sets_and_only_the_delete_scope_removes_data(
    fresh_service: LocalService, tmp_path: Path, mode: str
) -> None:
    archive = PatientArchive(fresh_service)
    before = archive.versions()
    rename = {"patient_id": PATIENT, "set_attributes": {"PatientName": "ARCHIVE^CORRECTED"}}
    removals: dict[str, dict[str, Any]] = {
        "erase": {"patient_id": PATIENT, "erase": True},
        "remove series": {"patient_id": PATIENT, "remove_series": [archive.series_uids[0]]},
        "remove instances": {"patient_id": PATIENT, "remove_instances": ["1.2.3.4"]},
        "de-identify": {"patient_id": PATIENT, "deidentify": True},
    }
    with auth_server_on(fresh_service, tmp_path) as server:
        issuer = server.issuer
        async with session(server, issuer.token(scope=f"{READ} {WRITE} {DELETE}", sub="admin"), mode) as client:
            erasure = ok(await call(client, "change_image_sets", removals["erase"]))  # planned, not applied
        async with session(server, issuer.token(scope=f"{READ} {WRITE}", sub="writer"), mode) as client:
            refused = {name: await call(client, "change_image_sets", args) for name, args in removals.items()}
            applying = {"plan": erasure["plan"], "confirm": erasure["plan_id"]}
            refused["apply an erasure"] = await call(client, "change_image_sets", applying)
            assert archive.versions() == before
            planned = ok(await call(client, "change_image_sets", rename))
            confirmed = {"plan": planned["plan"], "confirm": planned["plan_id"]}
            corrected = ok(await call(client, "change_image_sets", confirmed))
    for name, answer in refused.items():
        error = error_of(answer)
        assert error["type"] == "access_denied" and DELETE in error["message"], name
    assert corrected["state"] == "complete" and corrected["counts"] == {"done": len(before)}
    assert set(archive.versions()) == set(before) and set(archive.versions().values()) == {"2"}
    assert {archive.patient_name(image_set_id) for image_set_id in before} == {"ARCHIVE^CORRECTED"}
    audited = [json.loads(line) for line in server.audit.read_text().splitlines()]
    writer = [line["outcome"] for line in audited if line["caller"]["subject"] == "writer"]
    assert writer == ["denied"] * 5 + ["ok"] * 2


def test_auth_settings_are_checked_at_start() -> None:
    base = {"HEALTHIMAGING_MCP_TRANSPORT": "http"}
    exposed = Settings.from_env({**base, "HEALTHIMAGING_MCP_HOST": "0.0.0.0"})
    assert any("no authentication" in p for p in exposed.validate())
    with_auth = {**base, "HEALTHIMAGING_MCP_AUTH_ISSUER_URL": "https://idp.example/realm"}
    assert any(
        "--auth-resource-url" in p
        for p in Settings.from_env({**with_auth, "HEALTHIMAGING_MCP_HOST": "0.0.0.0"}).validate()
    )
    public = {
        **with_auth,
        "HEALTHIMAGING_MCP_HOST": "0.0.0.0",
        "HEALTHIMAGING_MCP_AUTH_RESOURCE_URL": "https://mcp.example/mcp",
    }
    assert Settings.from_env(public).validate() == []
    plain = {**public, "HEALTHIMAGING_MCP_AUTH_ISSUER_URL": "http://idp.example/realm"}
    assert any("https://" in p for p in Settings.from_env(plain).validate())
    stdio = {"HEALTHIMAGING_MCP_AUTH_ISSUER_URL": "https://idp.example/realm"}
    assert any("--transport http" in p for p in Settings.from_env(stdio).validate())
    orphan = {**base, "HEALTHIMAGING_MCP_AUTH_AUDIENCE": "api"}
    assert any("need --auth-issuer-url" in p for p in Settings.from_env(orphan).validate())
    same = {**public, "HEALTHIMAGING_MCP_AUTH_WRITE_SCOPE": "healthimaging:read"}
    assert any("three different" in p for p in Settings.from_env(same).validate())


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with serve_issuer(audience="https://mcp.example/mcp") as issuer:
        yield issuer


def verifier(issuer: Issuer, *, client_ids: tuple[str, ...] = ()) -> JwtVerifier:
    keys = SigningKeys(issuer.url, cooldown=0)
    return JwtVerifier(keys, audiences=[issuer.audience], client_ids=client_ids, resource=issuer.audience)


async def test_cognito_access_tokens_without_aud_are_matched_by_client_id(issuer: Issuer) -> None:
    cognito: dict[str, Any] = {"aud": None, "client_id": "7abc", "token_use": "access", "username": "u"}
    accepted = await verifier(issuer, client_ids=("7abc",)).verify_token(issuer.token(**cognito))
    assert accepted is not None and accepted.client_id == "7abc" and accepted.subject == "user-7"
    assert await verifier(issuer, client_ids=("other",)).verify_token(issuer.token(**cognito)) is None
    assert await verifier(issuer).verify_token(issuer.token(**cognito)) is None  # no aud, no client list


async def test_scopes_are_read_from_scope_or_scp(issuer: Issuer) -> None:
    check = verifier(issuer)
    variants: list[dict[str, Any]] = [
        {"scope": f"{READ} {WRITE}"},
        {"scope": None, "scp": f"{READ} {WRITE}"},
        {"scope": None, "scp": [READ, WRITE]},
    ]
    for claims in variants:
        token = await check.verify_token(issuer.token(**claims))
        assert token is not None and token.scopes == [READ, WRITE], claims


async def test_a_rotated_signing_key_is_fetched_when_a_token_names_it(issuer: Issuer) -> None:
    check = verifier(issuer)
    assert await check.verify_token(issuer.token()) is not None
    issuer.rotate()
    assert await check.verify_token(issuer.token()) is not None


async def test_a_remembered_token_is_refused_once_it_expires(issuer: Issuer) -> None:
    check = verifier(issuer)
    token = issuer.token(exp=int(time.time()) + 2)
    assert await check.verify_token(token) is not None
    assert await check.verify_token(token) is not None  # remembered
    await anyio.sleep(max(0.0, int(time.time()) + 2 - time.time()) + 0.05)
    assert await check.verify_token(token) is None


@pytest.mark.parametrize("mode", MODES)
async def test_the_write_scope_updates_an_image_set_and_only_the_delete_scope_removes_from_it(
    fresh_service: LocalService, tmp_path: Path, mode: str
) -> None:
    archive = PatientArchive(fresh_service)
    image_set_id, version = next(iter(archive.versions().items()))
    base = {"datastore_id": archive.datastore_id, "image_set_id": image_set_id, "latest_version_id": version}
    (series_uid,) = read_metadata(archive.boto, archive.datastore_id, image_set_id)["Study"]["Series"]
    removals: dict[str, dict[str, Any]] = {
        "remove series": {**base, "remove_series": [series_uid]},
        "remove study-wide": {
            **base,
            "remove_attributes": {"study": ["StudyDescription"]},
            "include_study_image_sets": True,
        },
    }
    with auth_server_on(fresh_service, tmp_path) as server:
        token = server.issuer.token(scope=f"{READ} {WRITE}", sub="writer")
        async with session(server, token, mode) as client:
            listed = {t.name for t in (await client.list_tools()).tools}
            refused = {name: await call(client, "update_image_set_metadata", args) for name, args in removals.items()}
            unchanged = archive.versions()[image_set_id]
            corrected = await call(
                client,
                "update_image_set_metadata",
                {**base, "set_attributes": {"patient": {"PatientName": "ARCHIVE^FIXED"}}},
            )
    assert "update_image_set_metadata" in listed
    for name, answer in refused.items():
        error = error_of(answer)
        assert error["type"] == "access_denied" and DELETE in error["message"], (name, error)
    assert unchanged == version
    assert not corrected.is_error and archive.versions()[image_set_id] != version
    assert archive.patient_name(image_set_id) == "ARCHIVE^FIXED"
