"""Taking access away from a user, with everything that hangs on it.

Disabling a user ends their sessions and revokes their API tokens (``hub.core.auth``) *and* fails
their pending approvals, so nobody approves a request whose requester can no longer act; demoting
one fails the requests they made with the higher role. The CLI and the admin pages both come
through here, and the gate re-checks the requester when an approval runs in any case.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.core.audit import SYSTEM_ACTOR, Actor
from hub.core.auth import service as auth
from hub.core.events import session_bus
from hub.core.models import User
from hub.core.roles import Role
from policies.voiding import fail_pending_for_user

REQUESTER_DISABLED = "requester disabled"


async def set_user_disabled(session: AsyncSession, user: User, disabled: bool, *, actor: Actor = SYSTEM_ACTOR) -> int:
    """Disable (or re-enable) a user; disabling also fails their pending approvals. Returns how many failed."""
    await auth.set_disabled(session, user, disabled, actor=actor)
    if not disabled:
        return 0
    why = f"{REQUESTER_DISABLED}: {user.label} was disabled by {actor.label}"
    return await fail_pending_for_user(session, session_bus(session), user_id=user.id, why=why)


async def set_user_role(session: AsyncSession, user: User, role: Role, *, actor: Actor = SYSTEM_ACTOR) -> int:
    """Change a user's role; a demotion fails the pending approvals they asked for with a higher role."""
    old = await auth.set_role(session, user, role, actor=actor)
    if role.rank >= old.rank:
        return 0
    why = f"requester demoted: {user.label} is now {role.value} (was {old.value}), changed by {actor.label}"
    return await fail_pending_for_user(session, session_bus(session), user_id=user.id, below=role, why=why)
