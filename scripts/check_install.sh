#!/usr/bin/env bash
# What can be checked of the container without Docker: the Dockerfile's install steps in a fresh venv (locked
# dependencies with hashes, then the wheel built from this tree), and the image's entrypoint with its
# environment: refusing to serve without auth, serving with it, and the HEALTHCHECK command both ways.
# Optional: UV=/path/to/uv also checks `uvx --from <wheel> healthimaging-mcp --version`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
python=${PYTHON:-python3}
step() { printf '\n== %s\n' "$*"; }

step "build the wheel"
"$python" -m pip wheel -q --no-deps --wheel-dir "$work/dist" "$root"
wheel=$(ls "$work"/dist/healthimaging_mcp-*.whl)
echo "$wheel"

step "install as the Dockerfile does: locked dependencies (hash-checked), then the wheel"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q --require-hashes --no-deps --only-binary=:all: -r "$root/requirements.lock"
"$work/venv/bin/pip" install -q --no-deps "$wheel"
"$work/venv/bin/pip" check
cd "$work"  # nothing of the source tree is importable from here
bin="$work/venv/bin/healthimaging-mcp"
"$bin" --version

# The image's environment (Dockerfile ENV), on a free port
port=$("$work/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export HEALTHIMAGING_MCP_TRANSPORT=http HEALTHIMAGING_MCP_HOST=0.0.0.0 HEALTHIMAGING_MCP_PORT=$port \
    HEALTHIMAGING_MCP_STATELESS_HTTP=true HEALTHIMAGING_MCP_AUDIT_LOG=stderr HEALTHIMAGING_MCP_LOG_LEVEL=INFO \
    HEALTHIMAGING_MCP_OUTPUT_DIR="$work/exports" AWS_REGION=us-east-1

step "without an issuer the image refuses to start"
if "$bin" 2>"$work/refused.txt"; then echo "started without auth" >&2; exit 1; fi
grep -q "no authentication" "$work/refused.txt" && cat "$work/refused.txt"

step "with an issuer it serves, and the HEALTHCHECK command says so"
export HEALTHIMAGING_MCP_AUTH_ISSUER_URL=https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE \
    HEALTHIMAGING_MCP_AUTH_CLIENT_ID=example-client HEALTHIMAGING_MCP_AUTH_RESOURCE_URL=https://mcp.example.org/mcp
"$bin" 2>"$work/server.txt" &
server_pid=$!
for _ in $(seq 100); do "$bin" healthcheck 2>/dev/null && break; sleep 0.2; done
"$bin" healthcheck && echo "healthcheck: healthy"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Host: mcp.example.org' "http://127.0.0.1:$port/mcp")
[ "$status" = 401 ] && echo "POST /mcp without a token: $status"
curl -sf -H 'Host: mcp.example.org' "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp"; echo
kill "$server_pid"; wait "$server_pid" || true; server_pid=""
if "$bin" healthcheck 2>/dev/null; then echo "healthy with no server" >&2; exit 1; fi
echo "healthcheck after stop: unhealthy (exit 1)"

if [ -n "${UV:-}" ]; then
    step "uvx --from the wheel"
    UV_PYTHON_DOWNLOADS=never "$UV" tool run --from "$wheel" healthimaging-mcp --version
fi
step "ok"
