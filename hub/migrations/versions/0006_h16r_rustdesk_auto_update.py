"""RustDesk per installer and device; automatic agent updates per organisation

Revision ID: 0006_h16r
Revises: 0005_h8a
Create Date: 2026-12-02 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.core.db

revision: str = "0006_h16r"
down_revision: str | None = "0005_h8a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rmm_installers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rustdesk_enabled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("rustdesk_id_server", sa.String(length=255), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("rustdesk_relay_server", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("rustdesk_key", sa.String(length=255), nullable=False, server_default=""))
    with op.batch_alter_table("rmm_installers", schema=None) as batch_op:  # defaults only for existing rows
        for name in ("rustdesk_enabled", "rustdesk_id_server", "rustdesk_relay_server", "rustdesk_key"):
            batch_op.alter_column(name, server_default=None)
    op.create_table(
        "rmm_device_rustdesk",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=False),
        sa.Column("rustdesk_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("reported_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["rmm_devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_id"),
    )
    op.create_index(op.f("ix_rmm_device_rustdesk_org_id"), "rmm_device_rustdesk", ["org_id"], unique=False)
    op.create_table(
        "rmm_agent_update_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("auto_update", sa.Boolean(), nullable=False),
        sa.Column("updated_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_label", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id"),
    )


def downgrade() -> None:
    op.drop_table("rmm_agent_update_settings")
    op.drop_index(op.f("ix_rmm_device_rustdesk_org_id"), table_name="rmm_device_rustdesk")
    op.drop_table("rmm_device_rustdesk")
    with op.batch_alter_table("rmm_installers", schema=None) as batch_op:
        for name in ("rustdesk_key", "rustdesk_relay_server", "rustdesk_id_server", "rustdesk_enabled"):
            batch_op.drop_column(name)
