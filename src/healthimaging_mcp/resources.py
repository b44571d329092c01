"""MCP resources: the datastores, one datastore, and image set summaries through a URI template."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from .dicom.views.build import summarize
from .errors import HealthImagingError
from .runtime import Runtime
from .tools.datastores import Datastore


def register_resources(mcp: MCPServer, runtime: Runtime) -> None:
    @mcp.resource(
        "healthimaging://datastores",
        name="datastores",
        mime_type="application/json",
        description="The HealthImaging datastores of this account and region.",
    )
    def datastores() -> str:
        try:
            summaries = runtime.active_datastores(refresh=True)
        except HealthImagingError as exc:
            raise ResourceError(exc.message) from None
        items = [Datastore.from_api(d).model_dump(mode="json", exclude_none=True) for d in summaries]
        return runtime.dump(items)

    @mcp.resource(
        "healthimaging://datastores/{datastore_id}",
        name="datastore",
        mime_type="application/json",
        description="One datastore's properties.",
    )
    def datastore(datastore_id: str) -> str:
        try:
            props = runtime.call("get_datastore", datastoreId=datastore_id)["datastoreProperties"]
        except HealthImagingError as exc:
            raise ResourceError(exc.message) from None
        return runtime.dump(Datastore.from_api(props).model_dump(mode="json", exclude_none=True))

    @mcp.resource(
        "healthimaging://datastores/{datastore_id}/image-sets/{image_set_id}",
        name="image-set-summary",
        mime_type="application/json",
        description="Summary of an image set's DICOM metadata: patient, study and series.",
    )
    def image_set_summary(datastore_id: str, image_set_id: str) -> str:
        try:
            document = runtime.document(datastore_id, image_set_id)
        except HealthImagingError as exc:
            raise ResourceError(exc.message) from None
        summary = summarize(document, budget_chars=runtime.settings.max_output_chars)
        return runtime.dump(summary.model_dump(mode="json", exclude_none=True))
