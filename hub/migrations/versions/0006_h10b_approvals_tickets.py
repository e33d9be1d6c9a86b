"""approvals an approver can read, role-aware and two-person policies, tickets per customer

Revision ID: 0006_h10b
Revises: 0006_h16r
Create Date: 2026-12-02 01:30:00

``approvals`` gain the stored readable ``description`` and the two-person state (how many approvals
are required, whether one must be an admin, and the first approver); ``tool_policies`` gain
per-role modes and the two-person settings; ``rmm_tickets`` belong to a customer (optionally a site)
and may carry an external (PSA) reference.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.core.db

revision: str = "0006_h10b"
down_revision: str | None = "0006_h16r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_APPROVAL_COLUMNS = (
    "first_approved_at",
    "first_approver_role",
    "first_approver_label",
    "first_approver_user_id",
    "admin_required",
    "approvals_required",
    "description_detail",
    "description",
)


def upgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("description_detail", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("approvals_required", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("admin_required", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("first_approver_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("first_approver_label", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("first_approver_role", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("first_approved_at", hub.core.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("tool_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role_modes", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("approvals_required", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("admin_required", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("rmm_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("external_ref", sa.String(length=100), nullable=False, server_default=""))
        batch_op.create_foreign_key(
            "fk_rmm_tickets_customer_id", "customers", ["customer_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key("fk_rmm_tickets_site_id", "sites", ["site_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index("ix_rmm_tickets_customer_id", ["customer_id"])


def downgrade() -> None:
    with op.batch_alter_table("rmm_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_rmm_tickets_customer_id")
        batch_op.drop_constraint("fk_rmm_tickets_site_id", type_="foreignkey")
        batch_op.drop_constraint("fk_rmm_tickets_customer_id", type_="foreignkey")
        batch_op.drop_column("external_ref")
        batch_op.drop_column("site_id")
        batch_op.drop_column("customer_id")
    with op.batch_alter_table("tool_policies", schema=None) as batch_op:
        batch_op.drop_column("admin_required")
        batch_op.drop_column("approvals_required")
        batch_op.drop_column("role_modes")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        for name in _APPROVAL_COLUMNS:
            batch_op.drop_column(name)
