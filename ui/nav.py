"""Navigation: the sidebar and the admin sub-navigation. Add a line here to add a link.

Later pages (RMM, integrations, admin subpages) extend these lists instead of editing templates;
``active`` matching is by URL prefix, ``min_role`` hides a link from lower roles (the route must
still check the role itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.core.roles import Role


@dataclass(frozen=True)
class NavLink:
    """A link in the sidebar or a sub-navigation."""

    label: str
    href: str
    icon: str = ""
    min_role: Role = Role.VIEWER
    #: Group heading in a sub-navigation (e.g. "RMM" for "RMM → Agent installers").
    group: str = ""

    def visible_to(self, role: Role) -> bool:
        """Whether a user with ``role`` sees the link."""
        return role.at_least(self.min_role)

    def is_active(self, path: str) -> bool:
        """Whether ``path`` is this link's page or below it."""
        return path == self.href or path.startswith(self.href.rstrip("/") + "/")


#: The sidebar, top to bottom. ``icon`` names a glyph in ``templates/partials/icons.html``.
SIDEBAR: list[NavLink] = [
    NavLink("RMM", "/rmm", icon="devices"),
    NavLink("Assistant", "/assistant", icon="chat"),
    NavLink("Policies", "/policies", icon="shield"),
    NavLink("Integrations", "/integrations", icon="plug"),
    NavLink("Admin", "/admin", icon="gear", min_role=Role.ADMIN),
]

#: Sub-navigation of ``/admin``. RMM subpages go here too, e.g.
#: ``NavLink("Agent installers", "/admin/rmm/installers", min_role=Role.ADMIN, group="RMM")``.
ADMIN_SECTIONS: list[NavLink] = [
    NavLink("Users", "/admin/users", min_role=Role.ADMIN, group="Access"),
    NavLink("API tokens", "/admin/tokens", min_role=Role.ADMIN, group="Access"),
    NavLink("Customers", "/admin/rmm/customers", min_role=Role.ADMIN, group="RMM"),
    NavLink("Agent installers", "/admin/rmm/installers", min_role=Role.ADMIN, group="RMM"),
    NavLink("Metric thresholds", "/admin/rmm/thresholds", min_role=Role.ADMIN, group="RMM"),
    NavLink("Remote access", "/admin/rmm/remote-access", min_role=Role.ADMIN, group="RMM"),
    NavLink("Synthetic monitors", "/admin/rmm/monitors", min_role=Role.ADMIN, group="RMM"),
    NavLink("Alert rules", "/admin/automation/rules", min_role=Role.ADMIN, group="Automation"),
    NavLink("Notifications", "/admin/notifications", min_role=Role.ADMIN, group="Automation"),
    NavLink("Checkmk", "/admin/checkmk", min_role=Role.ADMIN, group="Monitoring"),
]


def grouped(links: list[NavLink], role: Role) -> list[tuple[str, list[NavLink]]]:
    """Links visible to ``role``, grouped by :attr:`NavLink.group` in first-seen order."""
    groups: dict[str, list[NavLink]] = {}
    for link in links:
        if link.visible_to(role):
            groups.setdefault(link.group, []).append(link)
    return list(groups.items())
