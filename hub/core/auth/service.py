"""Users, passwords, sessions and API tokens. Services flush; the boundary commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.core import audit
from hub.core.audit import SYSTEM_ACTOR, Actor, AuditEvent
from hub.core.auth import throttle
from hub.core.db import utcnow
from hub.core.errors import Conflict, NotFound, PermissionDenied
from hub.core.models import ApiToken, User, WebSession
from hub.core.roles import Role
from hub.core.security import generate_token, hash_password, hash_token, verify_password
from hub.core.settings import Settings

API_TOKEN_PREFIX = "rmh_"
MIN_PASSWORD_LENGTH = 10


class WeakPasswordError(ValueError):
    """The password is too short."""


async def create_user(
    session: AsyncSession,
    *,
    org_id: int,
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
    email: str | None = None,
    actor: Actor = SYSTEM_ACTOR,
) -> User:
    """Create a user with an argon2 password hash."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    username = username.strip().lower()
    if (await session.execute(select(User).where(User.username == username))).scalar_one_or_none():
        raise Conflict(f"user {username!r} already exists")
    user = User(
        org_id=org_id,
        username=username,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name,
        email=email,
    )
    session.add(user)
    await session.flush()
    audit.record(
        session, event=AuditEvent.USER_CHANGED, actor=actor, org_id=org_id, outcome="created",
        detail={"username": username, "role": role.value},
    )  # fmt: skip
    return user


async def list_users(session: AsyncSession, org_id: int | None = None) -> Sequence[User]:
    """Users (of one organisation, or all), by username."""
    stmt = select(User).order_by(User.username)
    if org_id is not None:
        stmt = stmt.where(User.org_id == org_id)
    return (await session.execute(stmt)).scalars().all()


async def get_user_by_username(session: AsyncSession, username: str) -> User:
    """A user by username, or :class:`NotFound`."""
    user = (await session.execute(select(User).where(User.username == username.lower()))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


async def set_disabled(session: AsyncSession, user: User, disabled: bool, *, actor: Actor = SYSTEM_ACTOR) -> None:
    """Disable (or re-enable) a user; disabling ends their sessions and revokes their tokens."""
    user.disabled = disabled
    if disabled:
        await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        for token in (await session.execute(select(ApiToken).where(ApiToken.user_id == user.id))).scalars():
            token.revoked = True
    audit.record(
        session, event=AuditEvent.USER_CHANGED, actor=actor, org_id=user.org_id,
        outcome="disabled" if disabled else "enabled", detail={"username": user.username},
    )  # fmt: skip
    await session.flush()


async def set_role(session: AsyncSession, user: User, role: Role, *, actor: Actor = SYSTEM_ACTOR) -> Role:
    """Change a user's role (audited); returns the old one. Sessions and tokens read the role afresh."""
    old = user.role
    user.role = role
    audit.record(
        session, event=AuditEvent.USER_CHANGED, actor=actor, org_id=user.org_id, outcome="role",
        detail={"username": user.username, "from": old.value, "to": role.value},
    )  # fmt: skip
    await session.flush()
    return old


async def set_password(
    session: AsyncSession, user: User, password: str, *, actor: Actor = SYSTEM_ACTOR, keep_session_id: int | None = None
) -> None:
    """Give ``user`` a new password (audited) and end their other sign-ins (``keep_session_id`` survives).

    Raises:
        WeakPasswordError: the password is too short.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    ended = delete(WebSession).where(WebSession.user_id == user.id)
    if keep_session_id is not None:
        ended = ended.where(WebSession.id != keep_session_id)
    await session.execute(ended)
    own = actor.user_id == user.id
    audit.record(
        session, event=AuditEvent.USER_CHANGED, actor=actor, org_id=user.org_id,
        outcome="password changed" if own else "password reset", detail={"username": user.username},
    )  # fmt: skip
    await session.flush()


async def change_own_password(
    session: AsyncSession, user: User, *, current: str, new: str, actor: Actor, keep_session_id: int | None
) -> None:
    """A user changes their own password: the current one must match.

    Raises:
        PermissionDenied: the current password is wrong.
        WeakPasswordError: the new one is too short.
    """
    if not verify_password(user.password_hash, current):
        raise PermissionDenied("the current password is not right; nothing changed")
    await set_password(session, user, new, actor=actor, keep_session_id=keep_session_id)


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a sign-in attempt. ``error`` is shown to the user; ``retry_after`` (seconds) maps to 429."""

    user: User | None
    error: str = ""
    retry_after: int | None = None

    @property
    def throttled(self) -> bool:
        """Refused by throttling, before the password was checked."""
        return self.retry_after is not None


async def authenticate(
    session: AsyncSession, *, username: str, password: str, ip: str, settings: Settings
) -> LoginResult:
    """Check a username and password, throttled per (username, client address) and per address."""
    username = username.strip().lower()
    keys = throttle.ThrottleKeys.of(username, ip)
    now = utcnow()
    refused = await throttle.check(session, keys, settings=settings, now=now)
    if refused is not None:
        return LoginResult(None, refused.message, retry_after=refused.retry_after)
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None or user.disabled or not verify_password(user.password_hash, password):
        await throttle.record_failure(session, keys, settings=settings, now=now)
        audit.record(
            session, event=AuditEvent.LOGIN_FAILED, actor=Actor(None, username[:200], "ui"),
            org_id=user.org_id if user else None, outcome="failed", detail={"ip": ip},
        )  # fmt: skip
        await session.flush()
        return LoginResult(None, "wrong username or password")
    await throttle.clear_pair(session, keys)
    user.last_login_at = now
    audit.record(
        session, event=AuditEvent.LOGIN_SUCCEEDED, actor=Actor(user.id, user.label, "ui"), org_id=user.org_id,
        outcome="ok", detail={"ip": ip},
    )  # fmt: skip
    return LoginResult(user)


async def start_session(
    session: AsyncSession, user: User, *, settings: Settings, ip: str | None = None, user_agent: str | None = None
) -> tuple[str, WebSession]:
    """Create a server-side session; returns the cookie token (only its hash is stored)."""
    token = generate_token(nbytes=32)
    web = WebSession(
        token_hash=hash_token(token),
        user_id=user.id,
        csrf_token=generate_token(nbytes=24),
        expires_at=utcnow() + timedelta(hours=settings.session_ttl_hours),
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(web)
    await session.flush()
    return token, web


async def session_for_token(session: AsyncSession, token: str) -> WebSession | None:
    """The live session behind a cookie token (None when unknown, expired or the user is disabled)."""
    web = (
        await session.execute(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    ).scalar_one_or_none()
    if web is None or web.expires_at <= utcnow() or web.user.disabled:
        return None
    return web


async def end_session(session: AsyncSession, token: str) -> None:
    """Sign out: delete the session behind the cookie token."""
    await session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


async def create_api_token(
    session: AsyncSession, user: User, *, name: str, expires_in_days: int | None = None, actor: Actor = SYSTEM_ACTOR
) -> tuple[str, ApiToken]:
    """Create an API token for ``user``; the plain token is returned once and never stored."""
    token = generate_token(API_TOKEN_PREFIX, 32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=token[:10],
        token_hash=hash_token(token),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    await session.flush()
    audit.record(
        session, event=AuditEvent.TOKEN_CHANGED, actor=actor, org_id=user.org_id, outcome="created",
        detail={"user": user.username, "name": name, "prefix": row.prefix},
    )  # fmt: skip
    return token, row


async def user_for_api_token(session: AsyncSession, token: str) -> User | None:
    """The user behind a bearer token (None when unknown, revoked, expired or the user is disabled)."""
    row = (await session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))).scalar_one_or_none()
    now = utcnow()
    if row is None or row.revoked or (row.expires_at and row.expires_at <= now) or row.user.disabled:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return row.user


async def list_api_tokens(session: AsyncSession, user_id: int | None = None) -> Sequence[ApiToken]:
    """API tokens (of one user, or all), newest first."""
    stmt = select(ApiToken).order_by(ApiToken.id.desc())
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return (await session.execute(stmt)).scalars().all()


async def revoke_api_token(session: AsyncSession, token_id: int, *, actor: Actor = SYSTEM_ACTOR) -> ApiToken:
    """Revoke a token by id."""
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"API token #{token_id} does not exist")
    row.revoked = True
    audit.record(
        session, event=AuditEvent.TOKEN_CHANGED, actor=actor, org_id=row.user.org_id, outcome="revoked",
        detail={"prefix": row.prefix},
    )  # fmt: skip
    await session.flush()
    return row
