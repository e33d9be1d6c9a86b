"""REST API of users (admin): list, create with a role, change role, disable or enable, reset a password;
and ``POST /api/v1/me/password`` for everyone's own password.

Taking access away goes through :mod:`policies.access` (it also fails the user's pending approvals);
every change is audited by the auth services.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from hub.core.audit import Actor
from hub.core.auth.service import WeakPasswordError, change_own_password, create_user, list_users, set_password
from hub.core.bounds import Id
from hub.core.caller import CallerKind
from hub.core.db import get_in_org
from hub.core.deps import AdminDep, Principal, PrincipalDep, SessionDep
from hub.core.errors import Conflict, NotFound, ToolError
from hub.core.models import User
from hub.core.roles import Role
from hub.core.security import generate_password
from policies.access import set_user_disabled, set_user_role

router = APIRouter(prefix="/api/v1", tags=["users"])

Username = Field(min_length=1, max_length=150, pattern=r"^[A-Za-z0-9_.@-]+$")


class UserOut(BaseModel):
    """A user of the organisation."""

    id: int
    username: str
    display_name: str
    email: str | None
    role: Role
    disabled: bool
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        """Build from the ORM row."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            role=user.role,
            disabled=user.disabled,
            last_login_at=user.last_login_at,
        )


class UserCreate(BaseModel):
    """Body of ``POST /api/v1/users``: without a password one is generated and answered once."""

    model_config = ConfigDict(extra="forbid")

    username: str = Username
    role: Role
    display_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, min_length=10, max_length=1000)


class UserUpdate(BaseModel):
    """Body of ``PATCH /api/v1/users/{id}``: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = None


class UserChanged(BaseModel):
    """A user after a change, with the pending approvals that change failed."""

    user: UserOut
    failed_approvals: int = 0


class UserWithPassword(BaseModel):
    """A user and the password just set (shown once; only when the hub generated it)."""

    user: UserOut
    password: str | None = Field(description="the generated password; it is not stored in clear and not shown again")


class PasswordChange(BaseModel):
    """Body of ``POST /api/v1/me/password``."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=10, max_length=1000)


def _actor(principal: Principal) -> Actor:
    return principal.caller(CallerKind.API).actor


async def _user(session: SessionDep, org_id: int, user_id: int) -> User:
    user = await get_in_org(session, User, user_id, org_id)
    if user is None:
        raise NotFound(f"user #{user_id} does not exist")
    return user


@router.get("/users", response_model=list[UserOut])
async def users(session: SessionDep, admin: AdminDep) -> list[UserOut]:
    """Users of the organisation (admin)."""
    return [UserOut.of(u) for u in await list_users(session, admin.user.org_id)]


@router.post("/users", response_model=UserWithPassword, status_code=201)
async def add_user(body: UserCreate, session: SessionDep, admin: AdminDep) -> UserWithPassword:
    """Create a user with a role (admin; audited)."""
    password = body.password or generate_password()
    try:
        user = await create_user(
            session,
            org_id=admin.user.org_id,
            username=body.username,
            password=password,
            role=body.role,
            display_name=body.display_name.strip(),
            email=(body.email or "").strip() or None,
            actor=_actor(admin),
        )
    except WeakPasswordError as exc:
        raise ToolError(str(exc)) from exc
    return UserWithPassword(user=UserOut.of(user), password=None if body.password else password)


@router.patch("/users/{user_id}", response_model=UserChanged)
async def update_user(user_id: Id, body: UserUpdate, session: SessionDep, admin: AdminDep) -> UserChanged:
    """Change a user's role and/or disable or enable them (admin; not yourself). Disabling ends their
    sessions, revokes their tokens and fails their pending approvals; a demotion fails the ones they
    asked for with the higher role."""
    user = await _user(session, admin.user.org_id, user_id)
    if user.id == admin.user.id:
        raise Conflict("you cannot change your own role or disable yourself; ask another admin")
    failed = 0
    if body.role is not None and body.role is not user.role:
        failed += await set_user_role(session, user, body.role, actor=_actor(admin))
    if body.disabled is not None and body.disabled != user.disabled:
        failed += await set_user_disabled(session, user, body.disabled, actor=_actor(admin))
    return UserChanged(user=UserOut.of(user), failed_approvals=failed)


@router.post("/users/{user_id}/password", response_model=UserWithPassword)
async def reset_password(user_id: Id, session: SessionDep, admin: AdminDep) -> UserWithPassword:
    """Give a user a new generated password, answered once, and end their sign-ins (admin; audited)."""
    user = await _user(session, admin.user.org_id, user_id)
    password = generate_password()
    await set_password(session, user, password, actor=_actor(admin))
    return UserWithPassword(user=UserOut.of(user), password=password)


@router.post("/me/password", status_code=204, tags=["auth"])
async def change_password(body: PasswordChange, session: SessionDep, principal: PrincipalDep) -> None:
    """Change your own password (the current one must match); your other sign-ins end."""
    try:
        await change_own_password(
            session,
            principal.user,
            current=body.current_password,
            new=body.new_password,
            actor=_actor(principal),
            keep_session_id=principal.web.id if principal.web else None,
        )
    except WeakPasswordError as exc:
        raise ToolError(str(exc)) from exc
