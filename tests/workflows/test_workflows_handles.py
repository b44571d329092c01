"""Plan handles: sealed by a key every replica shares, refused when altered or sealed with another key."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from healthimaging_mcp.errors import HealthImagingError
from healthimaging_mcp.settings import Settings
from healthimaging_mcp.workflows.handles import KEY_FILE, handle_id, open_handle, plan_key, seal

PAYLOAD = {"d": "a" * 32, "i": [["b" * 32, 3]], "s": {"PatientName": "DOE^JANE"}}


def test_a_configured_key_is_the_same_on_every_replica() -> None:
    first, second = plan_key(Settings(state_key="5e" * 32)), plan_key(Settings(state_key="5e" * 32))
    assert first == second != plan_key(Settings(state_key="07" * 32))
    assert open_handle(second, seal(first, PAYLOAD)) == PAYLOAD


def test_local_mode_keeps_its_key_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(local_data_dir=tmp_path)
    key = plan_key(settings)
    assert plan_key(settings) == key  # a restart reads the same key
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_without_a_key_the_process_makes_one_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        first, second = plan_key(Settings(allow_write=True)), plan_key(Settings(allow_write=True))
    assert first != second
    assert "HEALTHIMAGING_MCP_STATE_KEY is not set" in caplog.text


def test_handles_hide_their_content_and_refuse_any_change() -> None:
    key = plan_key(Settings(state_key="6b" * 32))
    handle = seal(key, PAYLOAD)
    assert "DOE" not in handle and "a" * 32 not in handle
    assert handle_id(handle) == handle_id(handle) and handle_id(handle).startswith("plan-")
    for bad in (handle[:-1] + ("A" if handle[-1] != "A" else "B"), handle[:30], "hip1.", "nonsense", handle + "AA"):
        with pytest.raises(HealthImagingError) as refused:
            open_handle(key, bad)
        assert refused.value.error_type.value == "validation_error"
    with pytest.raises(HealthImagingError):
        open_handle(plan_key(Settings(state_key="07" * 32)), handle)
