"""Admin pages: users and API tokens (the auth services audit every change).

``/admin`` has a sub-navigation (:data:`ui.nav.ADMIN_SECTIONS`) that later areas extend, e.g.
"RMM → Agent installers"; their templates extend ``admin/base.html``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse

from hub.core.auth.service import (
    WeakPasswordError,
    change_own_password,
    create_api_token,
    create_user,
    list_api_tokens,
    list_users,
    revoke_api_token,
    session_for_token,
    set_password,
)
from hub.core.bounds import Id
from hub.core.db import DbSession, get_in_org
from hub.core.deps import SESSION_COOKIE, SessionDep
from hub.core.errors import Conflict, NotFound, PermissionDenied, ToolError
from hub.core.models import User
from hub.core.roles import Role
from hub.core.security import generate_password
from policies.access import set_user_disabled, set_user_role
from ui.page import Page, PageDep, render

router = APIRouter(include_in_schema=False)

ROLE_CHOICES = [r.value for r in Role]
TOKEN_EXPIRY_CHOICES = [(0, "never"), (30, "30 days"), (90, "90 days"), (365, "1 year")]


async def _org_user(session: DbSession, page: Page, user_id: int) -> User:
    user = await get_in_org(session, User, user_id, page.org.id)
    if user is None:
        raise NotFound(f"user #{user_id} does not exist")
    return user


@router.get("/admin")
async def admin_home(page: PageDep) -> RedirectResponse:
    """The first admin section."""
    page.require(Role.ADMIN)
    return RedirectResponse("/admin/users", status_code=303)


async def _users_page(page: Page, session: DbSession, **extra: Any) -> HTMLResponse:
    users = await list_users(session, page.org.id)
    extra.setdefault("new_role", "operator")
    return render(page, "admin/users.html", users=users, roles=ROLE_CHOICES, **extra)


@router.get("/admin/users")
async def users(page: PageDep, session: SessionDep, new: Role | None = None) -> HTMLResponse:
    """Users of the organisation (``?new=approver`` pre-selects the role of the add-user form)."""
    page.require(Role.ADMIN)
    return await _users_page(page, session, new_role=(new or Role.OPERATOR).value)


@router.post("/admin/users/{user_id}/password")
async def reset_password(user_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """Give a user a new generated password (shown once) and end their sign-ins."""
    page.require(Role.ADMIN)
    user = await _org_user(session, page, user_id)
    password = generate_password()
    await set_password(session, user, password, actor=page.caller.actor)
    return await _users_page(page, session, reset=user, password=password)


@router.get("/account/password")
async def password_form(page: PageDep) -> HTMLResponse:
    """Change your own password."""
    return render(page, "auth/password.html")


@router.post("/account/password")
async def change_password(
    page: PageDep,
    session: SessionDep,
    current_password: Annotated[str, Form(min_length=1, max_length=1000)],
    new_password: Annotated[str, Form(max_length=1000)],
    confirm_password: Annotated[str, Form(max_length=1000)],
) -> HTMLResponse:
    """Change your own password (the current one must match); your other sign-ins end."""
    if new_password != confirm_password:
        return render(
            page, "auth/password.html", error="the new passwords do not match; nothing changed", status_code=400
        )
    user = await _org_user(session, page, page.user.id)
    web = await session_for_token(session, page.request.cookies.get(SESSION_COOKIE, ""))
    try:
        await change_own_password(
            session,
            user,
            current=current_password,
            new=new_password,
            actor=page.caller.actor,
            keep_session_id=web.id if web else None,
        )
    except (WeakPasswordError, PermissionDenied) as exc:
        return render(page, "auth/password.html", error=str(exc), status_code=400)
    return render(page, "auth/password.html", changed=True)


@router.post("/admin/users")
async def add_user(
    page: PageDep,
    session: SessionDep,
    username: Annotated[str, Form(min_length=1, max_length=150, pattern=r"^[A-Za-z0-9_.@-]+$")],
    role: Annotated[Role, Form()],
    display_name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
) -> HTMLResponse:
    """Create a user with a generated password, shown once."""
    page.require(Role.ADMIN)
    password = generate_password()
    try:
        user = await create_user(
            session, org_id=page.org.id, username=username, password=password, role=role,
            display_name=display_name.strip(), email=email.strip() or None, actor=page.caller.actor,
        )  # fmt: skip
    except WeakPasswordError as exc:  # cannot happen with a generated password; keep the message honest
        raise ToolError(str(exc)) from exc
    return await _users_page(page, session, created=user, password=password)


@router.post("/admin/users/{user_id}/disabled")
async def toggle_user(
    user_id: Id, page: PageDep, session: SessionDep, disabled: Annotated[bool, Form()]
) -> HTMLResponse:
    """Disable (ends sessions, revokes tokens, fails pending approvals) or re-enable a user."""
    page.require(Role.ADMIN)
    user = await _org_user(session, page, user_id)
    if user.id == page.user.id and disabled:
        raise Conflict("you cannot disable your own account; ask another admin")
    failed = await set_user_disabled(session, user, disabled, actor=page.caller.actor)
    return await _users_page(page, session, changed=user, failed=failed)


@router.post("/admin/users/{user_id}/role")
async def change_role(user_id: Id, page: PageDep, session: SessionDep, role: Annotated[Role, Form()]) -> HTMLResponse:
    """Change a user's role; a demotion fails the pending approvals they asked for with the higher role."""
    page.require(Role.ADMIN)
    user = await _org_user(session, page, user_id)
    if user.id == page.user.id:
        raise Conflict("you cannot change your own role; ask another admin")
    failed = await set_user_role(session, user, role, actor=page.caller.actor)
    return await _users_page(page, session, role_changed=user, failed=failed)


async def _tokens_page(page: Page, session: DbSession, **extra: Any) -> HTMLResponse:
    tokens = [t for t in await list_api_tokens(session) if t.user.org_id == page.org.id]
    users = [u for u in await list_users(session, page.org.id) if not u.disabled]
    return render(page, "admin/tokens.html", tokens=tokens, users=users, expiries=TOKEN_EXPIRY_CHOICES, **extra)


@router.get("/admin/tokens")
async def tokens(page: PageDep, session: SessionDep) -> HTMLResponse:
    """API tokens of the organisation's users."""
    page.require(Role.ADMIN)
    return await _tokens_page(page, session)


@router.post("/admin/tokens")
async def add_token(
    page: PageDep,
    session: SessionDep,
    user_id: Annotated[Id, Form()],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    expires_in_days: Annotated[int, Form(ge=0, le=3650)] = 0,
) -> HTMLResponse:
    """Create a token for a user; the plain token is shown once."""
    page.require(Role.ADMIN)
    user = await _org_user(session, page, user_id)
    token, row = await create_api_token(
        session, user, name=name.strip(), expires_in_days=expires_in_days or None, actor=page.caller.actor
    )
    return await _tokens_page(page, session, created=row, token=token)


@router.post("/admin/tokens/{token_id}/revoke")
async def revoke_token(token_id: Id, page: PageDep, session: SessionDep) -> HTMLResponse:
    """Revoke a token at once."""
    page.require(Role.ADMIN)
    owned = {t.id for t in await list_api_tokens(session) if t.user.org_id == page.org.id}
    if token_id not in owned:
        raise NotFound(f"API token #{token_id} does not exist")
    row = await revoke_api_token(session, token_id, actor=page.caller.actor)
    return await _tokens_page(page, session, revoked=row)
