"""Settings: every environment variable read, command-line flags over the environment, problems named before start."""

from __future__ import annotations

from pathlib import Path

import pytest

from healthimaging_mcp.cli import build_parser, settings_from
from healthimaging_mcp.settings import ENV_PREFIX, Settings

DATASTORE = "0123456789abcdef0123456789abcdef"
ISSUER = "https://issuer.example.org"


def test_from_env_reads_every_variable() -> None:
    env = {
        f"{ENV_PREFIX}REGION": "eu-west-1",
        f"{ENV_PREFIX}PROFILE": "imaging",
        f"{ENV_PREFIX}ENDPOINT_URL": "http://127.0.0.1:4566",
        f"{ENV_PREFIX}DATASTORE_ID": DATASTORE,
        f"{ENV_PREFIX}ALLOW_WRITE": "yes",
        f"{ENV_PREFIX}TRANSPORT": "http",
        f"{ENV_PREFIX}HOST": "0.0.0.0",
        f"{ENV_PREFIX}PORT": "9100",
        f"{ENV_PREFIX}ALLOWED_HOST": "imaging.example.org, proxy.internal:8443 ,",
        f"{ENV_PREFIX}INSECURE_BIND_WITHOUT_AUTH": "TRUE",
        f"{ENV_PREFIX}LOG_LEVEL": "debug",
        f"{ENV_PREFIX}LOCAL_DATA_DIR": "~/local-data",
        f"{ENV_PREFIX}LOCAL_SEED_WAIT": "2.5",
        f"{ENV_PREFIX}REDACT_PHI": "on",
        f"{ENV_PREFIX}OUTPUT_DIR": "~/exports",
        f"{ENV_PREFIX}MAX_OUTPUT_CHARS": "12000",
        f"{ENV_PREFIX}WRITE_RATE": "0",
        f"{ENV_PREFIX}VOLUME_CACHE_MB": "2048",
        f"{ENV_PREFIX}LOCAL_WRITE_SECONDS": "0.5",
        f"{ENV_PREFIX}AUTH_ISSUER_URL": "https://issuer.example.org",
        f"{ENV_PREFIX}AUTH_AUDIENCE": "imaging-api, other-api",
        f"{ENV_PREFIX}AUTH_CLIENT_ID": "desk-app",
        f"{ENV_PREFIX}AUTH_JWKS_URL": "https://issuer.example.org/keys",
        f"{ENV_PREFIX}AUTH_RESOURCE_URL": "https://imaging.example.org/mcp",
        f"{ENV_PREFIX}AUTH_READ_SCOPE": "img:r",
        f"{ENV_PREFIX}AUTH_WRITE_SCOPE": "img:w",
        f"{ENV_PREFIX}AUTH_DELETE_SCOPE": "img:d",
        f"{ENV_PREFIX}STATELESS_HTTP": "1",
        f"{ENV_PREFIX}STATE_KEY": "k" * 32,
        f"{ENV_PREFIX}AUDIT_LOG": "stderr",
    }
    settings = Settings.from_env(env)
    assert settings == Settings(
        region="eu-west-1",
        profile="imaging",
        endpoint_url="http://127.0.0.1:4566",
        datastore_id=DATASTORE,
        allow_write=True,
        transport="http",
        host="0.0.0.0",
        port=9100,
        allowed_hosts=("imaging.example.org", "proxy.internal:8443"),
        insecure_bind_without_auth=True,
        log_level="DEBUG",
        local_data_dir=Path("~/local-data").expanduser(),
        local_seed_wait_seconds=2.5,
        redact_phi=True,
        output_dir=Path("~/exports").expanduser(),
        max_output_chars=12000,
        write_rate_per_second=0.0,
        volume_cache_mb=2048,
        local_write_seconds=0.5,
        auth_issuer_url="https://issuer.example.org",
        auth_audiences=("imaging-api", "other-api"),
        auth_client_ids=("desk-app",),
        auth_jwks_url="https://issuer.example.org/keys",
        auth_resource_url="https://imaging.example.org/mcp",
        auth_read_scope="img:r",
        auth_write_scope="img:w",
        auth_delete_scope="img:d",
        stateless_http=True,
        state_key="k" * 32,
        audit_log="stderr",
    )
    assert settings.local and settings.auth_enabled


def test_from_env_without_variables_is_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert not Settings().local


@pytest.mark.parametrize(
    ("env", "region", "profile"),
    [
        ({"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-central-1", "AWS_PROFILE": "p"}, "us-west-2", "p"),
        ({"AWS_DEFAULT_REGION": "eu-central-1"}, "eu-central-1", None),
        ({f"{ENV_PREFIX}REGION": "ap-south-1", "AWS_REGION": "us-west-2"}, "ap-south-1", None),
        ({f"{ENV_PREFIX}PROFILE": "ours", "AWS_PROFILE": "theirs"}, None, "ours"),
        ({f"{ENV_PREFIX}REGION": "", "AWS_REGION": "us-west-2"}, "us-west-2", None),  # empty means unset
    ],
)
def test_region_and_profile_fall_back_to_the_aws_variables(
    env: dict[str, str], region: str | None, profile: str | None
) -> None:
    settings = Settings.from_env(env)
    assert (settings.region, settings.profile) == (region, profile)


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "", "maybe"])
def test_flags_in_the_environment_are_off_unless_clearly_on(value: str) -> None:
    settings = Settings.from_env({f"{ENV_PREFIX}ALLOW_WRITE": value, f"{ENV_PREFIX}REDACT_PHI": value})
    assert (settings.allow_write, settings.redact_phi) == (False, False)


def test_command_line_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {
        "REGION": "eu-west-1",
        "DATASTORE_ID": DATASTORE,
        "PORT": "9100",
        "OUTPUT_DIR": str(tmp_path / "from-env"),
        "MAX_OUTPUT_CHARS": "12000",
        "LOG_LEVEL": "ERROR",
        "ALLOWED_HOST": "env.example.org",
        "AUTH_ISSUER_URL": "https://env-issuer.example.org",
        "AUTH_AUDIENCE": "env-api",
        "AUTH_READ_SCOPE": "env:read",
        "AUDIT_LOG": "/var/log/env-audit.jsonl",
        "TRANSPORT": "stdio",
    }.items():
        monkeypatch.setenv(ENV_PREFIX + name, value)
    args = build_parser().parse_args(
        [
            "--region",
            "us-east-2",
            "--port",
            "9200",
            "--output-dir",
            str(tmp_path / "from-flag"),
            "--log-level",
            "info",
            "--allowed-host",
            "a.example.org",
            "--allowed-host",
            "b.example.org",
            "--allow-write",
            "--volume-cache-mb",
            "64",
            "--transport",
            "http",
            "--auth-issuer-url",
            "https://flag-issuer.example.org",
            "--auth-audience",
            "flag-api",
            "--audit-log",
            "stderr",
        ]
    )
    settings = settings_from(args)
    assert settings.region == "us-east-2"
    assert settings.port == 9200
    assert settings.output_dir == tmp_path / "from-flag"
    assert settings.log_level == "INFO"
    assert settings.allowed_hosts == ("a.example.org", "b.example.org")
    assert settings.allow_write is True
    assert settings.volume_cache_mb == 64
    assert settings.transport == "http"
    assert settings.auth_issuer_url == "https://flag-issuer.example.org"
    assert settings.auth_audiences == ("flag-api",)
    assert settings.audit_log == "stderr"
    # what no flag names keeps the environment's value
    assert settings.datastore_id == DATASTORE
    assert settings.max_output_chars == 12000
    assert settings.auth_read_scope == "env:read"


def test_a_flag_left_out_does_not_reset_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}ALLOW_WRITE", "1")
    monkeypatch.setenv(f"{ENV_PREFIX}REDACT_PHI", "1")
    settings = settings_from(build_parser().parse_args([]))
    assert (settings.allow_write, settings.redact_phi) == (True, True)


def test_default_settings_have_no_problems() -> None:
    assert Settings().validate() == []
    assert Settings(transport="http", host="::1", port=1).validate() == []
    assert Settings(transport="http", host="0.0.0.0", insecure_bind_without_auth=True).validate() == []


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (Settings(datastore_id="NOT-A-DATASTORE"), "--datastore-id"),
        (Settings(port=0), "--port 0"),
        (Settings(port=65536), "--port 65536"),
        (Settings(transport="http", host="0.0.0.0"), "--insecure-bind-without-auth"),
        (Settings(transport="http", host="192.168.1.20"), "refusing --host 192.168.1.20"),
        (Settings(local_seed_wait_seconds=-1), "LOCAL_SEED_WAIT"),
        (Settings(max_output_chars=999), "--max-output-chars"),
        (Settings(volume_cache_mb=0), "--volume-cache-mb"),
        (Settings(log_level="VERBOSE"), "--log-level 'VERBOSE'"),
        (Settings(state_key="short"), "HEALTHIMAGING_MCP_STATE_KEY must be at least 32 characters"),
        (Settings(auth_audiences=("api",)), "--auth-* flags need --auth-issuer-url"),
        (Settings(auth_issuer_url=ISSUER), "--auth-issuer-url applies to --transport http"),
        (Settings(transport="http", auth_issuer_url="http://issuer.example.org"), "--auth-issuer-url 'http://"),
        (
            Settings(transport="http", auth_issuer_url=ISSUER, auth_jwks_url="ftp://keys.example.org"),
            "--auth-jwks-url 'ftp://keys.example.org' must be an https:// URL",
        ),
        (
            Settings(transport="http", auth_issuer_url=ISSUER, auth_resource_url="http://imaging.example.org/mcp"),
            "--auth-resource-url 'http://imaging.example.org/mcp' must be an https:// URL",
        ),
        (
            Settings(transport="http", auth_issuer_url=ISSUER, auth_write_scope="healthimaging:read"),
            "--auth-*-scope names must be three different scope names",
        ),
        (
            Settings(transport="http", auth_issuer_url=ISSUER, auth_delete_scope="delete all"),
            "--auth-*-scope names must be three different scope names",
        ),
    ],
)
def test_validate_names_each_problem(settings: Settings, named: str) -> None:
    (problem,) = settings.validate()
    assert named in problem


def test_a_wildcard_host_with_tokens_needs_the_resource_url() -> None:
    problems = Settings(transport="http", host="0.0.0.0", auth_issuer_url=ISSUER).validate()
    assert problems == [
        "--auth-resource-url 'http://0.0.0.0:8000/mcp' must be an https:// URL (http:// only on loopback)",
        "--host 0.0.0.0 needs --auth-resource-url: the URL clients use for /mcp",
    ]
    fixed = Settings(transport="http", host="0.0.0.0", auth_issuer_url=ISSUER, auth_resource_url=f"{ISSUER}/mcp")
    assert fixed.validate() == []


def test_validate_lists_every_problem_at_once() -> None:
    problems = Settings(datastore_id="x", port=0, max_output_chars=10, log_level="LOUD").validate()
    assert len(problems) == 4


def test_stdio_ignores_the_http_host() -> None:
    assert Settings(transport="stdio", host="0.0.0.0").validate() == []
