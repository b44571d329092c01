"""How a tool is declared and registered: one decorator adds annotations, error mapping and rendering.

A tool is a function `fn(rt: Runtime, ...) -> ToolOutput`. The registry binds the runtime, publishes the
remaining parameters as the input schema and the output model as the output schema, turns the returned
model into structured content plus a short text rendering, and turns every failure into a typed error.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict

from ..errors import HealthImagingError, from_aws

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
IDEMPOTENT_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)


class ToolOutput(BaseModel):
    """Base of every tool answer: structured content, plus `render()` for the text block."""

    model_config = ConfigDict(extra="forbid")

    def render(self) -> str:
        return self.model_dump_json(exclude_none=True)

    def extra_content(self) -> list[ContentBlock]:
        """Content blocks beyond the text rendering (images)."""
        return []


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Any]
    annotations: ToolAnnotations
    writes: bool


class Toolset:
    """Tools declared in one module; `register` binds them to a runtime and a server."""

    def __init__(self) -> None:
        self.specs: list[ToolSpec] = []

    def tool(self, annotations: ToolAnnotations) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            writes = not annotations.read_only_hint
            self.specs.append(ToolSpec(fn, annotations, writes))
            return fn

        return decorate


def register(mcp: MCPServer, runtime: Runtime, toolsets: list[Toolset], *, allow_write: bool) -> list[str]:
    names = []
    for toolset in toolsets:
        for spec in toolset.specs:
            if spec.writes and not allow_write:
                continue
            mcp.add_tool(
                bind(spec.fn, runtime, runtime.postprocess),
                name=spec.fn.__name__,
                description=inspect.getdoc(spec.fn),
                annotations=spec.annotations,
            )
            names.append(spec.fn.__name__)
    return names


def bind(
    fn: Callable[..., Any], runtime: Runtime, postprocess: Callable[[ToolOutput], ToolOutput]
) -> Callable[..., Any]:
    """The function MCP sees: runtime bound, output converted, failures typed."""
    signature = inspect.signature(fn, eval_str=True)
    output_model = signature.return_annotation
    parameters = list(signature.parameters.values())[1:]
    published = signature.replace(parameters=parameters, return_annotation=Annotated[CallToolResult, output_model])
    name = fn.__name__

    def finish(result: ToolOutput) -> CallToolResult:
        images = result.extra_content()  # pixels, not text: taken before postprocessing rebuilds the model
        result = postprocess(result)
        content: list[ContentBlock] = [TextContent(type="text", text=result.render()), *images]
        return CallToolResult(content=content, structured_content=result.model_dump(mode="json", exclude_none=True))

    def fail(exc: Exception) -> ToolError:
        if isinstance(exc, ToolError):
            return exc
        error = exc if isinstance(exc, HealthImagingError) else from_aws(exc)
        if error.error_type.value == "internal_error":
            log.error("tool %s crashed", name, exc_info=exc)
        else:
            log.info("tool %s failed: %s %s", name, error.error_type.value, error.code or "")
        return ToolError(error.to_text(name))

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_tool(**kwargs: Any) -> CallToolResult:
            try:
                return finish(await fn(runtime, **kwargs))
            except Exception as exc:
                raise fail(exc) from exc

        tool: Callable[..., Any] = async_tool
    else:

        @functools.wraps(fn)
        def sync_tool(**kwargs: Any) -> CallToolResult:
            try:
                return finish(fn(runtime, **kwargs))
            except Exception as exc:
                raise fail(exc) from exc

        tool = sync_tool
    del tool.__wrapped__  # type: ignore[attr-defined]
    tool.__signature__ = published  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": published.return_annotation}
    return tool
