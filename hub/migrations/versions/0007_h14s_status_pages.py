"""h14s status pages

Revision ID: 0007_h14s
Revises: 0006_h14e
Create Date: 2026-12-02 04:50:55.029004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.core.db


revision: str = "0007_h14s"
down_revision: str | None = "0006_h14e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rmm_status_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("incident_days", sa.Integer(), nullable=False),
        sa.Column("url_rotated_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_label", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_rmm_status_pages_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_rmm_status_pages_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rmm_status_pages")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_rmm_status_pages_customer_id")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_rmm_status_pages_token_digest")),
    )
    with op.batch_alter_table("rmm_status_pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rmm_status_pages_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rmm_status_pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rmm_status_pages_org_id"))

    op.drop_table("rmm_status_pages")
