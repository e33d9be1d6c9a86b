"""h14 approval routing

Revision ID: 0006_h14d
Revises: 0006_h14c
Create Date: 2026-12-02 02:17:44.092564
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.core.db


revision: str = "0006_h14d"
down_revision: str | None = "0006_h14c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "automation_approval_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name=op.f("fk_automation_approval_notices_approval_id_approvals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_automation_approval_notices_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_approval_notices")),
    )
    with op.batch_alter_table("automation_approval_notices", schema=None) as batch_op:
        batch_op.create_index("ix_automation_approval_notices_once", ["approval_id", "kind"], unique=True)
        batch_op.create_index(batch_op.f("ix_automation_approval_notices_org_id"), ["org_id"], unique=False)

    with op.batch_alter_table("notification_channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approvals", sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extra_to", sa.String(length=320), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_column("extra_to")

    with op.batch_alter_table("notification_channels", schema=None) as batch_op:
        batch_op.drop_column("approvals")

    with op.batch_alter_table("automation_approval_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_automation_approval_notices_org_id"))
        batch_op.drop_index("ix_automation_approval_notices_once")

    op.drop_table("automation_approval_notices")
