"""What the container and the one-click installs rely on: the lock file matches pyproject.toml, the Dockerfile
keeps its promises (hash-checked installs, non-root, health check, auth required, no secrets), and the README's
install links carry the configuration they show."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def locked() -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes) from requirements.lock."""
    text = (ROOT / "requirements.lock").read_text()
    pins: dict[str, tuple[Version, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if match:
            pins[match[1].lower().replace("_", "-")] = (Version(match[2]), block.count("--hash=sha256:"))
    return pins


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["otel"]]
    pins = locked()
    for requirement in wanted:
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in requirements.lock: run scripts/lock.sh"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (name, str(version))
    assert all(hashes >= 1 for _, hashes in pins.values())
    assert len(pins) > len(wanted)  # transitive dependencies are pinned too


def test_the_dockerfile_keeps_its_promises() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]
    assert sum(line.startswith("FROM ") for line in instructions) == 2  # build stage, runtime stage
    assert "--require-hashes" in dockerfile and "requirements.lock" in dockerfile
    (user,) = [line for line in instructions if line.startswith("USER ")]
    assert not re.search(r"\b(0|root)\b", user)
    assert "HEALTHCHECK" in dockerfile and '["healthimaging-mcp", "healthcheck"]' in dockerfile
    assert "HEALTHIMAGING_MCP_TRANSPORT=http" in dockerfile and "HEALTHIMAGING_MCP_HOST=0.0.0.0" in dockerfile
    assert "INSECURE_BIND_WITHOUT_AUTH" not in dockerfile and "AUTH_ISSUER_URL=" not in "".join(instructions)
    assert not re.search(r"(?i)(secret|password|access_key|STATE_KEY)\S*=", "\n".join(instructions))
    base = re.search(r"ARG PYTHON_IMAGE=python:(\d+\.\d+)", dockerfile)
    lock_python = re.search(r"--python-version (\d+\.\d+)", (ROOT / "scripts" / "lock.sh").read_text())
    assert base and lock_python and base[1] == lock_python[1]  # the lock is resolved for the image's Python


def test_the_readme_install_links_carry_the_shown_configuration() -> None:
    readme = (ROOT / "README.md").read_text()
    configs: dict[str, list[dict[str, object]]] = {}
    for url in re.findall(r"\]\((https://(?:kiro\.dev|cursor\.com|insiders\.vscode\.dev)/[^)]+config=[^)]+)\)", readme):
        query = parse_qs(urlsplit(url).query)
        raw = query["config"][0]
        config = json.loads(base64.b64decode(raw) if "cursor.com" in url else raw)
        configs.setdefault(query["name"][0], []).append(config)
    assert set(configs) == {"healthimaging", "healthimaging-local"}
    for name, found in configs.items():
        assert len(found) == 3 and all(config == found[0] for config in found), name  # Kiro, Cursor, VS Code
        assert found[0]["command"] == "healthimaging-mcp"
    assert configs["healthimaging-local"][0]["args"] == ["--local"]
