"""Human confirmation before destroying data.

When the client supports elicitation the user is always asked (the model cannot confirm on its own
behalf); otherwise the call must carry `confirm` equal to the ID being destroyed. Declined, cancelled or
missing confirmation changes nothing, and the answer says so.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from pydantic import BaseModel, Field


class ConfirmAction(BaseModel):
    confirm: bool = Field(description="Yes, permanently do this")


class _NoElicitation:
    """The client cannot ask the user, and the call carried no matching `confirm`."""


ConfirmArg = Annotated[
    str | None,
    Field(description="Only for clients that cannot ask the user: the ID being destroyed, after the user agreed."),
]


@dataclass(frozen=True)
class Outcome:
    confirmed: bool
    reason: str  # "accepted", "not_needed", "declined", "cancelled", "unchecked", "missing"

    def refusal(self, what: str, resource_id: str) -> str:
        if self.reason == "missing":
            return (
                f"Nothing was changed: this {what} deletion needs the user's confirmation, and this client cannot "
                f"ask for it. Ask the user; if they agree, call again with confirm='{resource_id}'."
            )
        return f"Nothing was changed: the user did not confirm ({self.reason})."


def outcome(answer: ElicitationResult[Any]) -> Outcome:
    """What the resolver's answer means for the tool body."""
    if isinstance(answer, AcceptedElicitation):
        data = answer.data
        if isinstance(data, _NoElicitation):
            return Outcome(False, "missing")
        if isinstance(data, ConfirmAction) and data.confirm:
            return Outcome(True, "accepted")
        if data == "not_needed":
            return Outcome(True, "not_needed")
        return Outcome(False, "unchecked")
    return Outcome(False, "declined" if getattr(answer, "action", "") == "decline" else "cancelled")


def confirm_destruction(id_param: str, question: str, *, destructive_if: Sequence[str] = ()) -> Callable[..., Any]:
    """A resolver asking the user to confirm destroying the resource named by the tool argument `id_param`.

    `destructive_if` names tool arguments that make the call destructive when non-empty; when it is given
    and all of them are empty, the call proceeds without asking.
    """

    def resolver(**kwargs: Any) -> Any:
        ctx: Context = kwargs["ctx"]
        if destructive_if and not any(kwargs.get(name) for name in destructive_if):
            return "not_needed"
        resource_id = kwargs[id_param]
        capabilities = ctx.client_capabilities
        if capabilities is not None and capabilities.elicitation is not None:
            return Elicit(question.format(resource_id), ConfirmAction)
        if kwargs.get("confirm") == resource_id:
            return ConfirmAction(confirm=True)
        return _NoElicitation()

    parameters = [
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context),
        inspect.Parameter("confirm", inspect.Parameter.KEYWORD_ONLY, annotation=str | None),
        inspect.Parameter(id_param, inspect.Parameter.KEYWORD_ONLY, annotation=str),
    ] + [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Any) for name in destructive_if]
    returns = Elicit[ConfirmAction] | ConfirmAction
    resolver.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    resolver.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": returns}
    resolver.__name__ = resolver.__qualname__ = f"confirm_{id_param}"
    return resolver
