"""h14 customer thresholds

Revision ID: 0006_h14e
Revises: 0006_h14d
Create Date: 2026-12-02 02:25:18.242812
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.core.db


revision: str = "0006_h14e"
down_revision: str | None = "0006_h14d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "rmm_customer_thresholds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("cpu_warn", sa.Float(), nullable=False),
        sa.Column("cpu_danger", sa.Float(), nullable=False),
        sa.Column("memory_warn", sa.Float(), nullable=False),
        sa.Column("memory_danger", sa.Float(), nullable=False),
        sa.Column("disk_warn", sa.Float(), nullable=False),
        sa.Column("disk_danger", sa.Float(), nullable=False),
        sa.Column("updated_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_label", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_rmm_customer_thresholds_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_rmm_customer_thresholds_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rmm_customer_thresholds")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_rmm_customer_thresholds_customer_id")),
    )
    with op.batch_alter_table("rmm_customer_thresholds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rmm_customer_thresholds_org_id"), ["org_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("rmm_customer_thresholds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rmm_customer_thresholds_org_id"))

    op.drop_table("rmm_customer_thresholds")
