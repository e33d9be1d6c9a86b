"""Every RMM button is a tool invocation through the policy gate; this module runs it and shapes the answer.

:func:`invoke` calls ``gate.invoke`` with the signed-in user as a UI caller, and
``rmm/_outcome.html`` renders the :class:`~policies.outcome.Outcome` the same way everywhere:
done (with a short result), ``pending approval #id`` (with a link to the approval), refused by
policy or role (saying why and who can change it), or failed (the tool's message).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from hub.core.db import DbSession
from policies.outcome import InvocationStatus, Outcome
from policies.pipeline import Gate
from ui.page import Page, render


async def invoke(
    page: Page, session: DbSession, gate: Gate, tool: str, args: dict[str, Any], *, reason: str = ""
) -> Outcome:
    """Invoke ``tool`` for the signed-in user through the policy gate (never a handler directly)."""
    return await gate.invoke(session, page.caller, tool, args, reason=reason, context={"via": page.path})


def outcome_html(page: Page, outcome: Outcome, *, action: str, **extra: Any) -> HTMLResponse:
    """The outcome fragment (``action`` says what the button did, e.g. "Acknowledge alert #4")."""
    return render(page, "rmm/_outcome.html", outcome=outcome, action=action, S=InvocationStatus, **extra)
