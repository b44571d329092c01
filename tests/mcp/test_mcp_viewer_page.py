"""The viewer page shipped in the package: built from viewer/src (the committed file is what the source builds, the
source type-checks), self-contained, and under a CSP that allows exactly its own inline script and style."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess

from healthimaging_mcp.apps.viewer import viewer_html
from tests.support.tooling import require
from tests.support.viewer_build import VIEWER, missing_node_tools


def inline(tag: str, html: str) -> str:
    bodies: list[str] = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    (body,) = bodies
    return body


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_csp_allows_the_pages_own_script_and_style_and_nothing_else() -> None:
    html = viewer_html()
    (policy,) = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives == {
        "default-src": "'none'",
        "script-src": sha256(inline("script", html)),
        "style-src": sha256(inline("style", html)),
        "img-src": "data: blob:",
        "connect-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }


def test_the_page_loads_nothing_from_anywhere() -> None:
    html = viewer_html()
    assert len(re.findall(r"<script\b", html)) == 1 and "<script>" in html  # inline, no src
    assert not re.search(r"<(link|img|iframe|object|embed|base)\b", html)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", inline("style", html))


def test_the_committed_page_is_what_the_source_builds() -> None:
    require(missing_node_tools())
    check = subprocess.run(["node", "build.mjs", "--check"], cwd=VIEWER, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


def test_the_source_type_checks() -> None:
    require(missing_node_tools())
    tsc = subprocess.run(
        [str(VIEWER / "node_modules" / ".bin" / "tsc"), "--noEmit", "-p", "."],
        cwd=VIEWER,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tsc.returncode == 0, tsc.stdout[-3000:]
