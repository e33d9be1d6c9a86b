"""h14 notifications

Revision ID: 0006_h14
Revises: 0006_h12r
Create Date: 2026-12-02 01:34:10.677365
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.core.db


revision: str = "0006_h14"
down_revision: str | None = "0006_h12r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("email", "webhook", "slack", "teams", name="channelkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=True),
        sa.Column("per_minute", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_notification_channels_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
    )
    with op.batch_alter_table("notification_channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_channels_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_notification_channels_org_name", ["org_id", "name"], unique=True)

    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column(
            "status",
            sa.Enum("pending", "delivered", "failed", "digested", name="deliverystatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("digest_count", sa.Integer(), nullable=False),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_outbox_channel_id_notification_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_notification_outbox_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_outbox_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index("ix_notification_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_outbox_org_id"), ["org_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_outbox_org_id"))
        batch_op.drop_index("ix_notification_outbox_due")
        batch_op.drop_index(batch_op.f("ix_notification_outbox_channel_id"))

    op.drop_table("notification_outbox")
    with op.batch_alter_table("notification_channels", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_channels_org_name")
        batch_op.drop_index(batch_op.f("ix_notification_channels_org_id"))

    op.drop_table("notification_channels")
