"""What every admin-managed settings change shares: the role and owner checks, the ``integration.changed`` entry.

Connecting an integration, editing a rule, a schedule or a patch policy are settings changes, not tool
calls: they are refused to non-admins (or, for what acts on someone's behalf, to callers with no person
behind them) with the domain's own message, and each is audited as ``integration.changed`` (no tool id)
with the domain's detail. The services keep their wording; this module keeps the mechanics in one place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import Actor, AuditEvent
from hub.core.caller import Caller
from hub.core.errors import PermissionDenied
from hub.core.roles import Role


def require_admin(caller: Caller, refusal: str) -> None:
    """Refuse the change unless ``caller`` holds the admin role.

    Raises:
        PermissionDenied: with ``refusal`` as its message (the domain's own wording).
    """
    if not caller.can(Role.ADMIN):
        raise PermissionDenied(refusal)


def owner_of(caller: Caller, refusal: str) -> int:
    """The person a new rule, schedule or policy acts for: whom the caller acts on behalf of, else the caller.

    Raises:
        PermissionDenied: with ``refusal`` as its message, when no person stands behind the caller.
    """
    owner = caller.on_behalf_of_user_id or caller.user_id
    if owner is None:
        raise PermissionDenied(refusal)
    return owner


def record_change(session: AsyncSession, *, actor: Actor, org_id: int, outcome: str, detail: dict[str, Any]) -> None:
    """Append the ``integration.changed`` entry of one settings change to ``session``'s transaction."""
    audit.record(
        session,
        event=AuditEvent.INTEGRATION_CHANGED,
        actor=actor,
        org_id=org_id,
        outcome=outcome,
        tool_id=None,
        detail=detail,
    )
