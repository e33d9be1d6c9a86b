"""Admin -> Notifications: channels (email, webhook, Slack, Teams): create, edit (a blank password keeps the
stored one), rotate a webhook's signing secret (shown once), the Test button and the delivery log."""

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
from hub.core.notify.schemas import ChannelEdit, ChannelIn, ChannelOut, ChannelSettings, DeliveryOut
from hub.core.roles import Role
from ui.page import Page, PageDep, render

router = APIRouter(include_in_schema=False)
FIELDS = (
    "name",
    "kind",
    "url",
    "host",
    "port",
    "security",
    "username",
    "password",
    "sender",
    "recipients",
    "per_minute",
    "approvals",
    "ca_pem",
    "clear_password",
    "enabled",
)
DEFAULTS: dict[str, Any] = {"kind": "email", "port": "587", "security": "starttls", "per_minute": "10"}


async def _page(page: Page, session: DbSession, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    channels = [ChannelOut.of(c) for c in await service.list_channels(session, org_id=page.org.id)]
    log = [DeliveryOut.of(d) for d in await service.deliveries(session, org_id=page.org.id)]
    names = {c.id: c.name for c in channels}
    extra.setdefault("values", DEFAULTS)
    extra.setdefault("errors", [])
    return render(
        page,
        "admin/notifications.html",
        channels=channels,
        deliveries=log,
        names=names,
        kinds=[k.value for k in ChannelKind],
        status_code=status_code,
        **extra,
    )


def _channel_data(values: dict[str, str], kind: str) -> dict[str, Any]:
    """The form's fields as channel data (shared by create and edit; the models validate it)."""
    data: dict[str, Any] = {
        "name": values["name"],
        "per_minute": values["per_minute"] or 10,
        "approvals": values["approvals"] == "on",
    }
    if kind == ChannelKind.EMAIL.value:
        data["password"] = values["password"]
        data["email"] = {
            "host": values["host"],
            "port": values["port"] or 587,
            "security": values["security"] or "starttls",
            "username": values["username"],
            "sender": values["sender"],
            "recipients": [r.strip() for r in values["recipients"].replace(";", ",").split(",") if r.strip()],
            "ca_pem": values["ca_pem"],
        }
    elif values["url"]:
        data["url"] = values["url"]
    return data


def _channel_in(values: dict[str, str]) -> ChannelIn:
    return ChannelIn.model_validate(_channel_data(values, values["kind"]) | {"kind": values["kind"]})


def _errors(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in e['loc']) or 'channel'}: {e['msg']}".replace("Value error, ", "")
        for e in exc.errors()
    ]


def _form_values(settings: ChannelSettings) -> dict[str, str]:
    """A stored channel as edit-form values (never its password or secret)."""
    values = {name: "" for name in FIELDS} | {
        "name": settings.name,
        "kind": settings.kind.value,
        "per_minute": str(settings.per_minute),
        "approvals": "on" if settings.approvals else "",
        "enabled": "on" if settings.enabled else "",
        "url": settings.url or "",
    }
    if settings.email is not None:
        e = settings.email
        values |= {
            "host": e.host,
            "port": str(e.port),
            "security": e.security,
            "username": e.username,
            "sender": e.sender,
            "recipients": ", ".join(e.recipients),
            "ca_pem": e.ca_pem,
        }
    return values


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
        return await _page(page, session, values=values | {"password": ""}, errors=_errors(exc), status_code=422)
    return await _page(
        page, session, notice=f"Channel {created.channel.name!r} created.", signing_secret=created.signing_secret
    )


async def _edit_page(
    page: Page, session: DbSession, channel_id: int, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    settings = ChannelSettings.of(await service.get_channel(session, org_id=page.org.id, channel_id=channel_id))
    extra.setdefault("edit_values", _form_values(settings))
    return await _page(page, session, editing=settings, status_code=status_code, **extra)


@router.get("/admin/notifications/{channel_id}/edit")
async def edit_form(channel_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """The page with the channel's edit form open (secrets are never put in the form)."""
    page.require(Role.ADMIN)
    return await _edit_page(page, session, channel_id)


@router.post("/admin/notifications/{channel_id}")
async def update_channel(channel_id: Id, request: Request, page: PageDep, session: SessionDep) -> HTMLResponse:
    """Save the edit form: host, port, TLS mode, credentials, trusted CA or URL; a blank password keeps the
    stored one."""
    page.require(Role.ADMIN)
    row = await service.get_channel(session, org_id=page.org.id, channel_id=channel_id)
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in FIELDS} | {"kind": row.kind.value}
    data = _channel_data(values, row.kind.value) | {
        "clear_password": values["clear_password"] == "on",
        "enabled": values["enabled"] == "on",
    }
    if row.kind is not ChannelKind.EMAIL:
        data.pop("password", None)
    try:
        edit = ChannelEdit.model_validate(data)
    except ValidationError as exc:
        return await _edit_page(
            page, session, channel_id, edit_values=values | {"password": ""}, errors=_errors(exc), status_code=422
        )
    saved = await service.update_channel(session, actor=page.caller, channel_id=channel_id, data=edit)
    return await _page(page, session, notice=f"Channel {saved.channel.name!r} saved.")


@router.post("/admin/notifications/{channel_id}/rotate")
async def rotate_secret(channel_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """Give a webhook channel a new signing secret, shown on the answer page only."""
    page.require(Role.ADMIN)
    row = ChannelSettings.of(await service.get_channel(session, org_id=page.org.id, channel_id=channel_id))
    edit = ChannelEdit.model_validate(
        row.model_dump(include={"name", "url", "per_minute", "approvals", "enabled"}) | {"rotate_secret": True}
    )
    saved = await service.update_channel(session, actor=page.caller, channel_id=channel_id, data=edit)
    return await _page(
        page,
        session,
        notice=f"Channel {saved.channel.name!r} has a new signing secret; the old one no longer verifies.",
        signing_secret=saved.signing_secret,
    )


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
