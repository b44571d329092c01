"""MCP resources: the datastores, one datastore, and image set summaries through a URI template."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from .dicom.views.build import summarize
from .errors import HealthImagingError
from .runtime import Runtime
from .tools.datastores import Datastore

T = TypeVar("T")


def register_resources(mcp: MCPServer[Any], runtime: Runtime) -> None:
    def read(fetch: Callable[[], T]) -> T:
        """`fetch()`, its typed error as a resource error (redacted like tool errors)."""
        try:
            return fetch()
        except HealthImagingError as exc:
            raise ResourceError(runtime.redaction.error(exc).message) from None

    @mcp.resource(
        "healthimaging://datastores",
        name="datastores",
        mime_type="application/json",
        description="The HealthImaging datastores of this account and region.",
    )
    def datastores() -> str:
        summaries = read(lambda: runtime.active_datastores(refresh=True))
        items = [Datastore.from_api(d).model_dump(mode="json", exclude_none=True) for d in summaries]
        return runtime.redaction.dump(items)

    @mcp.resource(
        "healthimaging://datastores/{datastore_id}",
        name="datastore",
        mime_type="application/json",
        description="One datastore's properties.",
    )
    def datastore(datastore_id: str) -> str:
        properties = read(lambda: runtime.aws.get_datastore(datastore_id))
        return runtime.redaction.dump(Datastore.from_api(properties).model_dump(mode="json", exclude_none=True))

    @mcp.resource(
        "healthimaging://datastores/{datastore_id}/image-sets/{image_set_id}",
        name="image-set-summary",
        mime_type="application/json",
        description="Summary of an image set's DICOM metadata: patient, study and series.",
    )
    def image_set_summary(datastore_id: str, image_set_id: str) -> str:
        document = read(lambda: runtime.documents.get(datastore_id, image_set_id))
        summary = summarize(document, budget_chars=runtime.settings.max_output_chars)
        return runtime.redaction.dump(summary.model_dump(mode="json", exclude_none=True))
