"""customers and sites archive; who uses each device; device tags and dynamic groups

Revision ID: 0006_h10a
Revises: 0006_h10b
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.core.db

revision: str = "0006_h10a"
down_revision: str | None = "0006_h10b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, hub.core.db.UTCDateTime(timezone=True), nullable=True)


def upgrade() -> None:
    for table in ("customers", "sites"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(_ts("archived_at"))
    with op.batch_alter_table("rmm_devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_user_name", sa.String(200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("assigned_user_email", sa.String(320), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("description", sa.String(500), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("logged_in_users", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("logged_in_names", sa.String(1000), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("last_user", sa.String(200), nullable=False, server_default=""))
        batch_op.add_column(_ts("last_user_at"))
        batch_op.add_column(_ts("users_at"))
    op.create_table(
        "rmm_device_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["rmm_devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "tag"),
    )
    op.create_index("ix_rmm_device_tags_tag", "rmm_device_tags", ["tag"], unique=False)
    op.create_table(
        "rmm_device_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "name"),
    )
    op.create_index("ix_rmm_device_groups_org_id", "rmm_device_groups", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rmm_device_groups_org_id", table_name="rmm_device_groups")
    op.drop_table("rmm_device_groups")
    op.drop_index("ix_rmm_device_tags_tag", table_name="rmm_device_tags")
    op.drop_table("rmm_device_tags")
    with op.batch_alter_table("rmm_devices", schema=None) as batch_op:
        for column in ("users_at", "last_user_at", "last_user", "logged_in_names", "logged_in_users",
                       "description", "assigned_user_email", "assigned_user_name"):  # fmt: skip
            batch_op.drop_column(column)
    for table in ("sites", "customers"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("archived_at")
