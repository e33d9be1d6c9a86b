"""User roles and their ordering. Actions are gated by the minimum role a tool or route requires."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user may do, from least to most privileged.

    ``viewer`` reads; ``operator`` invokes tools; ``approver`` additionally decides approvals;
    ``admin`` additionally manages users, policies, integrations and installers.
    """

    VIEWER = "viewer"
    OPERATOR = "operator"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in the privilege order (viewer=0 ... admin=3)."""
        return _ORDER.index(self)

    def at_least(self, other: Role) -> bool:
        """Whether this role includes everything ``other`` may do."""
        return self.rank >= other.rank


_ORDER = [Role.VIEWER, Role.OPERATOR, Role.APPROVER, Role.ADMIN]
