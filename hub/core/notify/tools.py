"""``notify-post-message``: put a message on a notification channel (what alert rules and people call)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hub.core.bounds import Id
from hub.core.notify import service
from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool

SOURCE = "notify"


class PostMessageArgs(BaseModel):
    """Arguments of ``notify-post-message``."""

    model_config = ConfigDict(extra="forbid")

    channel_id: Id = Field(description="the channel (Admin -> Notifications)")
    topic: str = Field(default="message", min_length=1, max_length=80)
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=20000)
    link: str | None = Field(default=None, max_length=500)


class Queued(BaseModel):
    """Result of ``notify-post-message``: the outbox row that will be delivered."""

    outbox_id: int
    channel_id: int


async def post_message(ctx: ToolContext, args: PostMessageArgs) -> Queued:
    """Queue a message on a notification channel; the outbox delivers it (retried, digested in a burst)."""
    row = await service.enqueue(ctx.session, org_id=ctx.org_id, channel_id=args.channel_id, topic=args.topic,
                                subject=args.subject, body=args.body, link=args.link)  # fmt: skip
    return Queued(outbox_id=row.id, channel_id=row.channel_id)


def tools() -> list[Tool]:
    """The notification tools."""
    return [
        model_tool(source=SOURCE, name="notify-post-message", args_model=PostMessageArgs, handler=post_message,
                   annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True),
                   title="Post a notification", category="notifications"),
    ]  # fmt: skip
