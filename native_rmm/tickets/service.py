"""Ticket rules: create, list, get, update (status, priority, assignee, references) and comment.

Every change is recorded as a comment (``via`` = the caller's door; status and assignment changes
as a system line) so the ticket tells its own history. References are checked: devices and alerts
must belong to the ticket's organisation, the assignee must be an enabled user of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hub.core.caller import Caller
from hub.core.db import get_in_org, utcnow
from hub.core.errors import NotFound, ToolError
from hub.core.events import Event, EventBus
from hub.core.models import Customer, Site, User
from hub.core.uow import publish_after_commit
from native_rmm.models.alerts import Alert
from native_rmm.models.devices import Device
from native_rmm.models.tickets import (
    DONE_STATUSES,
    Ticket,
    TicketComment,
    TicketPriority,
    TicketStatus,
    ticket_alerts,
    ticket_devices,
)
from native_rmm.tickets.schemas import CommentOut, LinkedAlert, LinkedDevice, TicketDetail, TicketSummary

ACTIVE = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING)
CHANGEABLE = {"title", "status", "priority", "assignee_user_id", "external_ref", "customer_id", "site_id"}


def _announce(session: AsyncSession, bus: EventBus | None, topic: str, ticket: Ticket) -> None:
    if bus is not None:
        event = Event(topic=f"ticket.{topic}", org_id=ticket.org_id, data={"ticket_id": ticket.id})
        publish_after_commit(session, bus, event)


async def _check_ids(
    session: AsyncSession, model: type[Device] | type[Alert], org_id: int, ids: Iterable[int]
) -> list[int]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = set((await session.execute(select(model.id).where(model.org_id == org_id, model.id.in_(wanted)))).scalars())
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        kind = "device" if model is Device else "alert"
        raise ToolError(f"no {kind} with id {', '.join(missing)} in this organisation")
    return wanted


async def _assignee(session: AsyncSession, org_id: int, user_id: int) -> User:
    user = await get_in_org(session, User, user_id, org_id)
    if user is None:
        raise ToolError(f"no user with id {user_id} in this organisation")
    if user.disabled:
        raise ToolError(f"user {user.label} is disabled and cannot be assigned")
    return user


async def _link(session: AsyncSession, ticket_id: int, devices: list[int], alerts: list[int]) -> None:
    existing_d = set((await session.execute(
        select(ticket_devices.c.device_id).where(ticket_devices.c.ticket_id == ticket_id))).scalars())  # fmt: skip
    existing_a = set((await session.execute(
        select(ticket_alerts.c.alert_id).where(ticket_alerts.c.ticket_id == ticket_id))).scalars())  # fmt: skip
    new_d = [{"ticket_id": ticket_id, "device_id": d} for d in devices if d not in existing_d]
    new_a = [{"ticket_id": ticket_id, "alert_id": a} for a in alerts if a not in existing_a]
    if new_d:
        await session.execute(insert(ticket_devices), new_d)
    if new_a:
        await session.execute(insert(ticket_alerts), new_a)


async def _placement(
    session: AsyncSession, org_id: int, customer_id: int | None, site_id: int | None
) -> tuple[int | None, int | None]:
    """Check a customer (and site) of the organisation; a site alone implies its customer."""
    if site_id is not None:
        site = await session.get(Site, site_id)
        owner = await session.get(Customer, site.customer_id) if site is not None else None
        if site is None or owner is None or owner.org_id != org_id:
            raise ToolError(f"no site with id {site_id} in this organisation")
        if customer_id is not None and site.customer_id != customer_id:
            raise ToolError(f"site #{site_id} ({site.name}) does not belong to customer #{customer_id}")
        customer_id = site.customer_id
    if customer_id is not None and await get_in_org(session, Customer, customer_id, org_id) is None:
        raise ToolError(f"no customer with id {customer_id} in this organisation")
    return customer_id, site_id


async def _customer_of(session: AsyncSession, devices: list[int], alerts: list[int]) -> int | None:
    """The customer of the first device (or of the first alert's device)."""
    device_id = devices[0] if devices else None
    if device_id is None and alerts:
        device_id = (await session.execute(select(Alert.device_id).where(Alert.id == alerts[0]))).scalar_one_or_none()
    if device_id is None:
        return None
    stmt = select(Site.customer_id).join(Device, Device.site_id == Site.id).where(Device.id == device_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def _comment(ticket: Ticket, actor: Caller, body: str, *, system: bool = False) -> TicketComment:
    comment = TicketComment(
        ticket_id=ticket.id, author_user_id=None if system else actor.user_id,
        author_label=f"system ({actor.label})" if system else actor.label, via=actor.kind.value, body=body,
        created_at=utcnow(),
    )  # fmt: skip
    ticket.comments.append(comment)
    return comment


async def create_ticket(
    session: AsyncSession,
    *,
    actor: Caller,
    title: str,
    description: str = "",
    priority: TicketPriority = TicketPriority.NORMAL,
    assignee_user_id: int | None = None,
    device_ids: Sequence[int] = (),
    alert_ids: Sequence[int] = (),
    customer_id: int | None = None,
    site_id: int | None = None,
    external_ref: str = "",
    bus: EventBus | None = None,
) -> Ticket:
    """Open a ticket in the actor's organisation, optionally assigned and referencing devices/alerts.

    It belongs to ``customer_id`` (optionally ``site_id``); without one, to the customer of its first
    device (or alert).
    """
    devices = await _check_ids(session, Device, actor.org_id, device_ids)
    alerts = await _check_ids(session, Alert, actor.org_id, alert_ids)
    if assignee_user_id is not None:
        await _assignee(session, actor.org_id, assignee_user_id)
    customer_id, site_id = await _placement(session, actor.org_id, customer_id, site_id)
    if customer_id is None:
        customer_id = await _customer_of(session, devices, alerts)
    now = utcnow()
    ticket = Ticket(
        org_id=actor.org_id, title=title, description=description, status=TicketStatus.OPEN, priority=priority,
        assignee_user_id=assignee_user_id, created_by_user_id=actor.user_id, created_by_label=actor.label,
        created_at=now, updated_at=now, comments=[], customer_id=customer_id, site_id=site_id,
        external_ref=external_ref.strip(),
    )  # fmt: skip
    session.add(ticket)
    await session.flush()
    await _link(session, ticket.id, devices, alerts)
    _announce(session, bus, "created", ticket)
    return ticket


async def get_ticket(session: AsyncSession, *, org_id: int, ticket_id: int) -> Ticket:
    """One ticket with its comments loaded, or :class:`NotFound`."""
    stmt = select(Ticket).where(Ticket.id == ticket_id).options(selectinload(Ticket.comments))
    ticket = (await session.execute(stmt)).scalar_one_or_none()
    if ticket is None or ticket.org_id != org_id:
        raise NotFound(f"ticket #{ticket_id} does not exist")
    return ticket


async def list_tickets(
    session: AsyncSession,
    *,
    org_id: int,
    status: TicketStatus | None = None,
    active_only: bool = False,
    priority: TicketPriority | None = None,
    customer_id: int | None = None,
    device_id: int | None = None,
    assignee_user_id: int | None = None,
    search: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Sequence[Ticket]:
    """Tickets of an organisation, newest first; ``active_only`` = open, in progress or waiting."""
    stmt = select(Ticket).where(Ticket.org_id == org_id)
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    elif active_only:
        stmt = stmt.where(Ticket.status.in_(ACTIVE))
    if priority is not None:
        stmt = stmt.where(Ticket.priority == priority)
    if customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == customer_id)
    if device_id is not None:
        stmt = stmt.where(
            Ticket.id.in_(select(ticket_devices.c.ticket_id).where(ticket_devices.c.device_id == device_id))
        )
    if assignee_user_id is not None:
        stmt = stmt.where(Ticket.assignee_user_id == assignee_user_id)
    if search:
        like = f"%{search.lower()}%"
        stmt = stmt.where(
            or_(Ticket.title.ilike(like), Ticket.description.ilike(like), Ticket.external_ref.ilike(like))
        )
    if before_id is not None:
        stmt = stmt.where(Ticket.id < before_id)
    return (await session.execute(stmt.order_by(Ticket.id.desc()).limit(limit))).scalars().all()


async def update_ticket(
    session: AsyncSession,
    *,
    actor: Caller,
    ticket_id: int,
    changes: dict[str, object],
    add_device_ids: Sequence[int] = (),
    add_alert_ids: Sequence[int] = (),
    note: str = "",
    bus: EventBus | None = None,
) -> Ticket:
    """Change ``title``, ``status``, ``priority``, ``assignee_user_id`` (None unassigns), ``external_ref``,
    ``customer_id`` / ``site_id``, and add references."""
    ticket = await get_ticket(session, org_id=actor.org_id, ticket_id=ticket_id)
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ToolError(f"cannot change {', '.join(sorted(unknown))} of a ticket")
    lines = []
    if changes.get("customer_id") is not None or changes.get("site_id") is not None:
        customer = changes.get("customer_id")
        site = changes.get("site_id")
        assert customer is None or isinstance(customer, int)
        assert site is None or isinstance(site, int)
        customer_id, site_id = await _placement(session, actor.org_id, customer, site)
        if (customer_id, site_id) != (ticket.customer_id, ticket.site_id):
            lines.append(f"moved to customer #{customer_id}" + (f", site #{site_id}" if site_id else ""))
            ticket.customer_id, ticket.site_id = customer_id, site_id
    if "assignee_user_id" in changes and changes["assignee_user_id"] != ticket.assignee_user_id:
        user_id = changes["assignee_user_id"]
        if user_id is None:
            lines.append("unassigned")
        else:
            assert isinstance(user_id, int)
            lines.append(f"assigned to {(await _assignee(session, actor.org_id, user_id)).label}")
        ticket.assignee_user_id = user_id
    for field in ("title", "status", "priority", "external_ref"):
        value = changes.get(field)
        if value is None or value == getattr(ticket, field):
            continue
        old = getattr(ticket, field)
        lines.append(f"{field}: {getattr(old, 'value', old)} → {getattr(value, 'value', value)}")
        setattr(ticket, field, value)
    if "status" in changes and changes["status"] is not None:
        ticket.closed_at = (ticket.closed_at or utcnow()) if ticket.status in DONE_STATUSES else None
    devices = await _check_ids(session, Device, actor.org_id, add_device_ids)
    alerts = await _check_ids(session, Alert, actor.org_id, add_alert_ids)
    await _link(session, ticket.id, devices, alerts)
    lines += [f"linked device #{d}" for d in devices] + [f"linked alert #{a}" for a in alerts]
    if lines:
        _comment(ticket, actor, "; ".join(lines), system=True)
    if note.strip():
        _comment(ticket, actor, note.strip())
    ticket.updated_at = utcnow()
    await session.flush()
    _announce(session, bus, "updated", ticket)
    return ticket


async def add_comment(
    session: AsyncSession, *, actor: Caller, ticket_id: int, body: str, bus: EventBus | None = None
) -> TicketComment:
    """Add a comment to a ticket."""
    ticket = await get_ticket(session, org_id=actor.org_id, ticket_id=ticket_id)
    comment = _comment(ticket, actor, body.strip())
    ticket.updated_at = utcnow()
    await session.flush()
    _announce(session, bus, "commented", ticket)
    return comment


async def _labels(session: AsyncSession, user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {u.id: u.label for u in (await session.execute(select(User).where(User.id.in_(ids)))).scalars()}


async def _places(session: AsyncSession, tickets: Sequence[Ticket]) -> tuple[dict[int, str], dict[int, str]]:
    """Names of the tickets' customers and sites (two small queries at most)."""
    customer_ids = sorted({t.customer_id for t in tickets if t.customer_id is not None})
    site_ids = sorted({t.site_id for t in tickets if t.site_id is not None})
    customers: dict[int, str] = {}
    sites: dict[int, str] = {}
    if customer_ids:
        stmt = select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids))
        customers = {i: n for i, n in (await session.execute(stmt)).all()}
    if site_ids:
        site_stmt = select(Site.id, Site.name).where(Site.id.in_(site_ids))
        sites = {i: n for i, n in (await session.execute(site_stmt)).all()}
    return customers, sites


def _summary(
    ticket: Ticket, labels: dict[int, str], places: tuple[dict[int, str], dict[int, str]] = ({}, {})
) -> TicketSummary:
    customers, sites = places
    return TicketSummary(
        customer_id=ticket.customer_id, customer=customers.get(ticket.customer_id) if ticket.customer_id else None,
        site_id=ticket.site_id, site=sites.get(ticket.site_id) if ticket.site_id else None,
        external_ref=ticket.external_ref,
        id=ticket.id, title=ticket.title, status=ticket.status, priority=ticket.priority,
        assignee_user_id=ticket.assignee_user_id,
        assignee=labels.get(ticket.assignee_user_id) if ticket.assignee_user_id else None,
        created_by=ticket.created_by_label, created_at=ticket.created_at, updated_at=ticket.updated_at,
        closed_at=ticket.closed_at,
    )  # fmt: skip


async def summaries(session: AsyncSession, tickets: Sequence[Ticket]) -> list[TicketSummary]:
    """Shape tickets for lists (assignee names in one query)."""
    labels = await _labels(session, (t.assignee_user_id for t in tickets))
    places = await _places(session, tickets)
    return [_summary(t, labels, places) for t in tickets]


async def detail(session: AsyncSession, ticket: Ticket) -> TicketDetail:
    """Shape one ticket with its references and comments (``ticket`` from :func:`get_ticket`)."""
    labels = await _labels(session, [ticket.assignee_user_id])
    places = await _places(session, [ticket])
    device_stmt = (
        select(Device.id, Device.display_name, Device.hostname)
        .join(ticket_devices, ticket_devices.c.device_id == Device.id)
        .where(ticket_devices.c.ticket_id == ticket.id)
        .order_by(Device.id)
    )
    devices = [LinkedDevice(id=i, name=d or h) for i, d, h in (await session.execute(device_stmt)).all()]
    alert_stmt = (
        select(Alert.id, Alert.message, Alert.status, Alert.device_id)
        .join(ticket_alerts, ticket_alerts.c.alert_id == Alert.id)
        .where(ticket_alerts.c.ticket_id == ticket.id)
        .order_by(Alert.id)
    )
    alerts = [
        LinkedAlert(id=i, message=m, status=st.value, device_id=d)
        for i, m, st, d in (await session.execute(alert_stmt)).all()
    ]
    device_ids, alert_ids = [d.id for d in devices], [a.id for a in alerts]
    comments = [
        CommentOut(id=c.id, author=c.author_label, via=c.via, body=c.body, created_at=c.created_at)
        for c in ticket.comments
    ]
    return TicketDetail(
        **_summary(ticket, labels, places).model_dump(), description=ticket.description, device_ids=device_ids,
        alert_ids=alert_ids, devices=devices, alerts=alerts, comments=comments,
    )  # fmt: skip
