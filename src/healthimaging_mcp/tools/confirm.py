"""Human confirmation before destroying data.

When the client supports elicitation the user is always asked (the model cannot confirm on its own
behalf); otherwise the call must carry `confirm` equal to the ID being destroyed. The question says what
would be destroyed (patient, study, counts, version) so a person can judge it; it is built from the live
service before asking, with pseudonyms when PHI redaction is on. Declined, cancelled or missing
confirmation changes nothing, and the answer says so.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from pydantic import BaseModel, Field

from ..runtime import Runtime

Describe = Callable[[Runtime, dict[str, Any]], str | None]
"""What a call would destroy, as a sentence without the question mark; None when it destroys nothing."""


class ConfirmAction(BaseModel):
    confirm: bool = Field(description="Yes, permanently do this")


@dataclass(frozen=True)
class _NoElicitation:
    """The client cannot ask the user, and the call carried no matching `confirm`."""

    action: str


@dataclass(frozen=True)
class _NotNeeded:
    """The call destroys nothing: it proceeds without asking."""


@dataclass(frozen=True)
class _DescribeFailed:
    """Reading what the call would destroy failed (e.g. unknown ID): the tool answers with that error."""

    error: Exception


ConfirmArg = Annotated[
    str | None,
    Field(description="Only for clients that cannot ask the user: the ID being destroyed, after the user agreed."),
]


@dataclass(frozen=True)
class Outcome:
    confirmed: bool
    reason: str  # "accepted", "not_needed", "declined", "cancelled", "unchecked", "missing"
    action: str | None = None

    def refusal(self, resource_id: str) -> str:
        if self.reason == "missing":
            return (
                "Nothing was changed: this needs the user's confirmation, and this client cannot ask for it. "
                f"Ask the user: \"{self.action}?\" If they agree, call again with confirm='{resource_id}'."
            )
        return f"Nothing was changed: the user did not confirm ({self.reason})."


def outcome(answer: ElicitationResult[Any]) -> Outcome:
    """What the resolver's answer means for the tool body; raises the error met while describing the call."""
    if isinstance(answer, AcceptedElicitation):
        data = answer.data
        if isinstance(data, _DescribeFailed):
            raise data.error
        if isinstance(data, _NoElicitation):
            return Outcome(False, "missing", data.action)
        if isinstance(data, ConfirmAction) and data.confirm:
            return Outcome(True, "accepted")
        if isinstance(data, _NotNeeded):
            return Outcome(True, "not_needed")
        return Outcome(False, "unchecked")
    return Outcome(False, "declined" if getattr(answer, "action", "") == "decline" else "cancelled")


def runtime_of(ctx: Context) -> Runtime:
    """The Runtime of the server running the call."""
    from ..server import HealthImagingServer  # the server module imports every toolset, this one included

    server = ctx.mcp_server
    if not isinstance(server, HealthImagingServer):
        raise RuntimeError("confirmations need the HealthImagingServer (server.build_server)")
    return server.runtime


def confirm_destruction(
    id_param: str,
    describe: Describe,
    *,
    uses: Sequence[str] = (),
    confirm_value: Callable[[str], str] | None = None,
) -> Callable[..., Any]:
    """A resolver asking the user to confirm what `describe` says the call would destroy.

    `id_param` names the tool argument holding the ID being destroyed (what `confirm` must equal, or the short
    name `confirm_value` gives it, e.g. a plan's ID for its handle); `describe(runtime, arguments)` receives
    that argument and those named in `uses`.
    """

    def resolver(**kwargs: Any) -> Any:
        ctx: Context = kwargs.pop("ctx")
        confirm = kwargs.pop("confirm")
        try:
            rt = runtime_of(ctx)
            action = describe(rt, kwargs)
        except Exception as exc:  # answered as the tool's typed error, not as a protocol failure
            return _DescribeFailed(exc)
        if action is None:
            return _NotNeeded()
        action = rt.redaction.text(action)  # free text (descriptions) may repeat an identifier seen earlier
        resource_id = kwargs[id_param]
        if confirm_value is not None:
            resource_id = confirm_value(resource_id)
        capabilities = ctx.client_capabilities
        if capabilities is not None and capabilities.elicitation is not None:
            return Elicit(f"{action}?", ConfirmAction)
        if confirm == resource_id:
            return ConfirmAction(confirm=True)
        return _NoElicitation(action)

    parameters = [
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context),
        inspect.Parameter("confirm", inspect.Parameter.KEYWORD_ONLY, annotation=str | None),
        inspect.Parameter(id_param, inspect.Parameter.KEYWORD_ONLY, annotation=str),
    ] + [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Any) for name in uses]
    returns = Elicit[ConfirmAction] | ConfirmAction
    resolver.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    resolver.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": returns}
    resolver.__name__ = resolver.__qualname__ = f"confirm_{id_param}"
    return resolver
