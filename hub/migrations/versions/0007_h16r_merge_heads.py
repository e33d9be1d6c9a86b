"""merge the three 0006 heads (h10b approvals/tickets, h11 assistant, h16r RustDesk/auto-update)

Revision ID: 0007_h16r
Revises: 0006_h10b, 0006_h11, 0006_h16r
Create Date: 2026-12-02 02:05:00

No schema change: the three branches touch different tables, so they merge as they are.
"""

from collections.abc import Sequence

revision: str = "0007_h16r"
down_revision: str | Sequence[str] | None = ("0006_h10b", "0006_h11", "0006_h16r")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
