# healthimaging-mcp as a remote MCP server: streamable HTTP on port 8000, bearer tokens required.
#
#   docker build -t healthimaging-mcp .
#   docker run -p 8000:8000 \
#     -e AWS_REGION=us-east-1 \
#     -e HEALTHIMAGING_MCP_AUTH_ISSUER_URL=https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE \
#     -e HEALTHIMAGING_MCP_AUTH_CLIENT_ID=<app client id> \
#     -e HEALTHIMAGING_MCP_AUTH_RESOURCE_URL=https://imaging-mcp.example.org/mcp \
#     healthimaging-mcp
#
# No credentials in the image: AWS access comes from the task/instance role (ECS, EC2, EKS) or the
# environment at run time; HEALTHIMAGING_MCP_STATE_KEY (shared by replicas) from a secret store.
# Without HEALTHIMAGING_MCP_AUTH_ISSUER_URL the server refuses to start (it would serve everyone).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/healthimaging-mcp
# Dependencies first, exactly as locked (hash-checked), so this layer is rebuilt only when the lock changes.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/healthimaging-mcp/bin/pip install --require-hashes --no-deps --only-binary=:all: -r /tmp/requirements.lock
COPY pyproject.toml README.md LICENSE /tmp/src/
COPY src /tmp/src/src
RUN /opt/healthimaging-mcp/bin/pip install --no-deps /tmp/src \
    && /opt/healthimaging-mcp/bin/pip check

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 mcp \
    && useradd --system --uid 10001 --gid mcp --create-home --home-dir /home/mcp --shell /usr/sbin/nologin mcp
COPY --from=build /opt/healthimaging-mcp /opt/healthimaging-mcp
ENV PATH=/opt/healthimaging-mcp/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEALTHIMAGING_MCP_TRANSPORT=http \
    HEALTHIMAGING_MCP_HOST=0.0.0.0 \
    HEALTHIMAGING_MCP_PORT=8000 \
    HEALTHIMAGING_MCP_STATELESS_HTTP=true \
    HEALTHIMAGING_MCP_AUDIT_LOG=stderr \
    HEALTHIMAGING_MCP_LOG_LEVEL=INFO \
    HEALTHIMAGING_MCP_OUTPUT_DIR=/home/mcp/exports
USER 10001:10001
WORKDIR /home/mcp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["healthimaging-mcp", "healthcheck"]
ENTRYPOINT ["healthimaging-mcp"]
