"""The context of a signed-in page (user, organisation, pending approvals) and rendering helpers.

Every page route takes :data:`PageDep` and answers ``render(page, "area/template.html", **vars)``.
Templates extend ``layout.html`` and see ``page`` plus the variables passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.routing import Match

from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.deps import HubDep, PrincipalDep, SessionDep
from hub.core.errors import PermissionDenied
from hub.core.models import Organization
from hub.core.roles import Role
from policies.queries import other_approvers, pending_count
from ui import nav
from ui.templating import render_string


def route_exists(request: Request, path: str) -> bool:
    """Whether the app serves ``path`` (e.g. ``/rmm`` once the RMM pages are installed)."""
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)


@dataclass(frozen=True)
class UserView:
    """The signed-in user, copied out of the ORM (error pages render after a rollback)."""

    id: int
    username: str
    label: str
    role: Role


@dataclass(frozen=True)
class OrgView:
    """The user's organisation."""

    id: int
    name: str


@dataclass(frozen=True)
class Page:
    """What every signed-in page and its layout need (plain values, safe to use after a rollback)."""

    request: Request
    hub: HubContext
    user: UserView
    org: OrgView
    csrf: str
    caller: Caller
    pending: int
    #: Nobody else can approve: approval-gated actions need a second person (the banner says so).
    lone: bool = False

    @property
    def role(self) -> Role:
        """The user's role."""
        return self.user.role

    @property
    def path(self) -> str:
        """The request path (for active navigation links)."""
        return self.request.url.path

    def can(self, role: Role | str) -> bool:
        """Whether the user holds at least ``role`` (templates pass the plain value, e.g. ``"admin"``)."""
        return self.role.at_least(Role(role))

    def require(self, role: Role) -> None:
        """Refuse with 403 (an error page in the layout) below ``role``."""
        if not self.can(role):
            raise PermissionDenied(f"this needs the {role.value} role or above; you are {self.role.value}")

    def sidebar(self) -> list[tuple[nav.NavLink, bool]]:
        """Sidebar links for this user, each with whether its page is installed."""
        return [(link, route_exists(self.request, link.href)) for link in nav.SIDEBAR if link.visible_to(self.role)]

    def grouped(self, links: list[nav.NavLink]) -> list[tuple[str, list[nav.NavLink]]]:
        """A sub-navigation's links visible to this user, by group (for ``macros.subnav``)."""
        return nav.grouped(links, self.role)

    def admin_nav(self) -> list[tuple[str, list[nav.NavLink]]]:
        """The ``/admin`` sub-navigation (:data:`ui.nav.ADMIN_SECTIONS`)."""
        return self.grouped(nav.ADMIN_SECTIONS)


async def page_context(request: Request, session: SessionDep, principal: PrincipalDep, hub: HubDep) -> Page:
    """Build the :class:`Page` of a signed-in request (also kept on ``request.state`` for error pages)."""
    user = principal.user
    org = await session.get(Organization, user.org_id)
    assert org is not None, "every user belongs to an organisation"
    page = Page(
        request=request,
        hub=hub,
        user=UserView(id=user.id, username=user.username, label=user.label, role=user.role),
        org=OrgView(id=org.id, name=org.name),
        csrf=principal.csrf_token,
        caller=principal.caller(CallerKind.UI),
        pending=await pending_count(session, org.id),
        lone=user.role.at_least(Role.OPERATOR) and await other_approvers(session, org.id, user.id) == 0,
    )
    request.state.page = page
    return page


PageDep = Annotated[Page, Depends(page_context)]


def render(page: Page, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page or fragment template for a signed-in user."""
    return HTMLResponse(render_string(template, page=page, **context), status_code=status_code)


def is_htmx(request: Request) -> bool:
    """Whether the request was made by htmx (answer a fragment, not a whole page)."""
    return request.headers.get("hx-request") == "true"
