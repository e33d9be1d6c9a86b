"""The assistant page: the chat (conversation list, steps, approval waits, plan mode) and the active model."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.assistant.service import Assistant, assistant_caller
from hub.assistant.store import list_conversations
from hub.core.deps import PrincipalDep, SessionDep
from ui.page import PageDep, render

router = APIRouter(include_in_schema=False)


@router.get("/assistant")
async def assistant(
    page: PageDep, session: SessionDep, principal: PrincipalDep, c: int | None = None, everyone: bool = False
) -> HTMLResponse:
    """The chat; ``c`` opens a conversation (an admin may open anyone's, read only; ``everyone`` lists them)."""
    helper = page.hub.components.get(Assistant)
    caller = assistant_caller(principal.user)
    conversations = await list_conversations(session, caller, everyone=everyone)
    return render(
        page, "assistant/index.html", conversations=conversations, current=c, model=helper.active.label,
        builtin=helper.active.builtin, everyone=everyone,
    )  # fmt: skip
