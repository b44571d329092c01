"""What a server start does not import: libraries only some calls need stay out of every start-up's time."""

from __future__ import annotations

import subprocess
import sys

from tests.support.server_processes import child_env

LAZY = ("jwt", "opentelemetry.sdk")  # with auth only; with OTLP export only


def test_building_the_server_imports_neither_the_jose_library_nor_the_telemetry_sdk() -> None:
    probe = (
        "import sys\n"
        "from healthimaging_mcp.server import build_server\n"
        "from healthimaging_mcp.settings import Settings\n"
        "build_server(Settings(region='us-east-1', endpoint_url='http://127.0.0.1:9'))\n"
        f"print(' '.join(name for name in {LAZY!r} if name in sys.modules))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, env=child_env(), timeout=120
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == ""
