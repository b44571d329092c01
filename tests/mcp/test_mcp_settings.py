"""Settings: every environment variable read, command-line flags over the environment, problems named before start."""

from __future__ import annotations

from pathlib import Path

import pytest

from healthimaging_mcp.cli import build_parser, settings_from
from healthimaging_mcp.settings import ENV_PREFIX, Settings

DATASTORE = "0123456789abcdef0123456789abcdef"


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
    )
    assert settings.local


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
    # what no flag names keeps the environment's value
    assert settings.datastore_id == DATASTORE
    assert settings.max_output_chars == 12000


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
    ],
)
def test_validate_names_each_problem(settings: Settings, named: str) -> None:
    (problem,) = settings.validate()
    assert named in problem


def test_validate_lists_every_problem_at_once() -> None:
    problems = Settings(datastore_id="x", port=0, max_output_chars=10, log_level="LOUD").validate()
    assert len(problems) == 4


def test_stdio_ignores_the_http_host() -> None:
    assert Settings(transport="stdio", host="0.0.0.0").validate() == []
