"""How a tool is declared and registered: one decorator adds annotations, error mapping and rendering.

A tool is a function `fn(rt: Runtime, ...) -> ToolOutput`. The registry binds the runtime, publishes the
remaining parameters as the input schema and the output model as the output schema, turns the returned
model into structured content plus a short text rendering, and answers every failure as an error result
carrying the typed error (what the SDK itself refuses before a tool runs is typed by `middleware`).
Arguments are validated by `StrictArguments`: nothing a caller sends is silently ignored. Under
--redact-phi, answers and error texts pass through the runtime's redaction.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, create_model, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..aws.errors import from_aws
from ..errors import ErrorType, HealthImagingError

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)
ToolFn = TypeVar("ToolFn", bound=Callable[..., Any])

# The spec ignores the other hints of a read-only tool and openWorldHint defaults to true: 73 characters a tool saved.
READ_ONLY = ToolAnnotations(read_only_hint=True)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
IDEMPOTENT_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)


class ToolOutput(BaseModel):
    """Base of every tool answer: structured content, plus `render()` for the text block."""

    model_config = ConfigDict(extra="forbid")
    publishes_shape: ClassVar[bool] = True  # tools/list shows its output schema when the tool is read-only

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
    meta: dict[str, Any] | None = None  # the tool's `_meta` (e.g. the MCP Apps view it opens)
    gated: bool = False  # destructive only in some forms, which it refuses itself without the delete capability


class Toolset:
    """Tools declared in one module; `register` binds them to a runtime and a server."""

    def __init__(self) -> None:
        self.specs: list[ToolSpec] = []

    def tool(
        self, annotations: ToolAnnotations, *, meta: dict[str, Any] | None = None, gated: bool = False
    ) -> Callable[[ToolFn], ToolFn]:
        def decorate(fn: ToolFn) -> ToolFn:
            writes = not annotations.read_only_hint
            self.specs.append(ToolSpec(fn, annotations, writes, meta, gated))
            return fn

        return decorate


def gated_tools(toolsets: list[Toolset]) -> set[str]:
    """The destructive tools that refuse their destructive forms themselves (see `ToolSpec.gated`)."""
    return {spec.fn.__name__ for toolset in toolsets for spec in toolset.specs if spec.gated}


class StrictArguments(ArgModelBase):
    """Tool arguments that refuse what would otherwise pass unnoticed: unknown names (the SDK's model drops
    them, so the caller would believe they were applied), blank strings and numbers that are not finite."""

    model_config = ConfigDict(extra="forbid")  # also publishes `additionalProperties: false`

    @model_validator(mode="before")
    @classmethod
    def _known_names_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            accepted = [field.alias or name for name, field in cls.model_fields.items()]
            unknown = [str(key) for key in data if key not in accepted]
            if unknown:
                raise PydanticCustomError(
                    "unknown_argument",
                    "Unknown argument {unknown}; accepted: {accepted}",
                    {"unknown": ", ".join(unknown), "accepted": ", ".join(accepted)},
                )
        return data

    @field_validator("*")
    @classmethod
    def _meaningful(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str) and not item.strip():
                raise PydanticCustomError("blank_argument", "Empty; give a value or leave the argument out")
            if isinstance(item, float) and not math.isfinite(item):
                raise PydanticCustomError("non_finite_number", "Not a finite number (NaN and Infinity are refused)")
        return value


def publishes_output_schema(tool: Tool) -> bool:
    """Whether tools/list shows the tool's output schema: read tools answering data do (a model plans further calls
    on their fields); write tools and picture answers do not (read once, or a caption says it all), which saves every
    conversation about 3,000 characters. The answers carry the same structured content either way."""
    output_model = tool.fn_metadata.output_model
    shaped = getattr(output_model, "publishes_shape", True)
    return bool(tool.annotations and tool.annotations.read_only_hint and shaped)


def build_tools(runtime: Runtime, toolsets: list[Toolset], *, allow_write: bool) -> list[Tool]:
    """The tools to serve (write tools only when allowed), each validating its arguments strictly."""
    tools = []
    for toolset in toolsets:
        for spec in toolset.specs:
            if spec.writes and not allow_write:
                continue
            tool = Tool.from_function(
                bind(spec.fn, runtime),
                name=spec.fn.__name__,
                description=inspect.getdoc(spec.fn),
                annotations=spec.annotations,
                meta=spec.meta,
            )
            strict = create_model(
                tool.fn_metadata.arg_model.__name__, __base__=(StrictArguments, tool.fn_metadata.arg_model)
            )
            tool.fn_metadata.arg_model = strict  # the SDK reads it on every call
            tool.parameters = strict.model_json_schema(by_alias=True)
            tools.append(tool)
    return tools


def bind(fn: Callable[..., Any], runtime: Runtime) -> Callable[..., Any]:
    """The function MCP sees: runtime bound, output converted and redacted, failures answered as typed errors."""
    signature = inspect.signature(fn, eval_str=True)
    output_model = signature.return_annotation
    parameters = list(signature.parameters.values())[1:]
    published = signature.replace(parameters=parameters, return_annotation=Annotated[CallToolResult, output_model])
    name = fn.__name__
    redaction = runtime.redaction

    def finish(result: ToolOutput) -> CallToolResult:
        images = result.extra_content()  # pixels, not text: taken before redaction rebuilds the model
        result = redaction.value(result)
        content: list[ContentBlock] = [TextContent(type="text", text=result.render()), *images]
        return CallToolResult(content=content, structured_content=result.model_dump(mode="json", exclude_none=True))

    def failed(exc: Exception) -> CallToolResult:
        error = exc if isinstance(exc, HealthImagingError) else from_aws(exc)
        if error.error_type is ErrorType.INTERNAL:
            log.error("tool %s crashed", name, exc_info=exc)
        else:
            log.info("tool %s failed: %s %s", name, error.error_type.value, error.code or "")
        text = redaction.error(error).to_text(name)
        # No structured content: clients check it against the output schema even on error results.
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_tool(**kwargs: Any) -> CallToolResult:
            try:
                return finish(await fn(runtime, **kwargs))
            except Exception as exc:
                return failed(exc)

        _present(async_tool, published)
        return async_tool

    @functools.wraps(fn)
    def sync_tool(**kwargs: Any) -> CallToolResult:
        try:
            return finish(fn(runtime, **kwargs))
        except Exception as exc:
            return failed(exc)

    _present(sync_tool, published)
    return sync_tool


def _present(tool: Callable[..., Any], signature: inspect.Signature) -> None:
    """Make MCP read `signature` from `tool` (the tool's own parameters without the runtime), not the
    signature of the function `functools.wraps` copied the name and docstring from."""
    attributes = vars(tool)  # a function's attributes
    del attributes["__wrapped__"]
    attributes["__signature__"] = signature
    tool.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()} | {
        "return": signature.return_annotation
    }
