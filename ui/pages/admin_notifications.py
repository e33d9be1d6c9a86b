"""Admin -> Notifications: channels (email, webhook, Slack, Teams), the Test button and the delivery log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.notify import service
from hub.core.notify.models import ChannelKind
from hub.core.notify.schemas import ChannelIn, ChannelOut, DeliveryOut
from hub.core.roles import Role
from ui.page import Page, PageDep, render

router = APIRouter(include_in_schema=False)
FIELDS = ("name", "kind", "url", "host", "port", "security", "username", "password", "sender", "recipients",
          "per_minute")  # fmt: skip
DEFAULTS: dict[str, Any] = {"kind": "email", "port": "587", "security": "starttls", "per_minute": "10"}


async def _page(page: Page, session: DbSession, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    channels = [ChannelOut.of(c) for c in await service.list_channels(session, org_id=page.org.id)]
    log = [DeliveryOut.of(d) for d in await service.deliveries(session, org_id=page.org.id)]
    names = {c.id: c.name for c in channels}
    extra.setdefault("values", DEFAULTS)
    extra.setdefault("errors", [])
    return render(page, "admin/notifications.html", channels=channels, deliveries=log, names=names,
                  kinds=[k.value for k in ChannelKind], status_code=status_code, **extra)  # fmt: skip


def _channel_in(values: dict[str, str]) -> ChannelIn:
    data: dict[str, Any] = {"name": values["name"], "kind": values["kind"], "per_minute": values["per_minute"] or 10}
    if values["kind"] == ChannelKind.EMAIL.value:
        data["password"] = values["password"]
        data["email"] = {
            "host": values["host"], "port": values["port"] or 587, "security": values["security"] or "starttls",
            "username": values["username"], "sender": values["sender"],
            "recipients": [r.strip() for r in values["recipients"].replace(";", ",").split(",") if r.strip()],
        }  # fmt: skip
    elif values["url"]:
        data["url"] = values["url"]
    return ChannelIn.model_validate(data)


@router.get("/admin/notifications")
async def notifications_page(page: PageDep, session: SessionDep) -> HTMLResponse:
    """Channels and the newest deliveries."""
    page.require(Role.ADMIN)
    return await _page(page, session)


@router.post("/admin/notifications")
async def create_channel(request: Request, page: PageDep, session: SessionDep) -> HTMLResponse:
    """Create a channel; a webhook's signing secret is shown on the answer page only."""
    page.require(Role.ADMIN)
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in FIELDS}
    try:
        created = await service.create_channel(session, actor=page.caller, data=_channel_in(values))
    except ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc']) or 'channel'}: {e['msg']}".replace("Value error, ", "")
                  for e in exc.errors()]  # fmt: skip
        return await _page(page, session, values=values | {"password": ""}, errors=errors, status_code=422)
    return await _page(page, session, notice=f"Channel {created.channel.name!r} created.",
                       signing_secret=created.signing_secret)  # fmt: skip


@router.post("/admin/notifications/{channel_id}/test")
async def test_channel(channel_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """Send a test message now and say how it went."""
    page.require(Role.ADMIN)
    row = await service.send_test(session, actor=page.caller, channel_id=channel_id)
    notice = "Test message delivered." if row.last_error is None else f"Test message not delivered: {row.last_error}"
    return await _page(page, session, notice=notice)


@router.post("/admin/notifications/{channel_id}/delete")
async def delete_channel(channel_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """Delete a channel (and its delivery log)."""
    page.require(Role.ADMIN)
    await service.delete_channel(session, actor=page.caller, channel_id=channel_id)
    return await _page(page, session, notice="Channel deleted.")
