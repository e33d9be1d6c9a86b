"""remote sessions: a row per session, its event trail, and consent (privacy mode) rules

Revision ID: 0006_h12r
Revises: 0006_h13
Create Date: 2026-12-02 01:35:58.690843
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.core.db


revision: str = "0006_h12r"
down_revision: str | None = "0006_h13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rmm_remote_consent_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column(
            "scope",
            sa.Enum("customer", "site", "device", name="consentscope", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_rmm_remote_consent_rules_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rmm_remote_consent_rules")),
        sa.UniqueConstraint("org_id", "scope", "scope_id", name=op.f("uq_rmm_remote_consent_rules_org_id")),
    )
    with op.batch_alter_table("rmm_remote_consent_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rmm_remote_consent_rules_org_id"), ["org_id"], unique=False)

    op.create_table(
        "rmm_remote_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "active", "ended", name="remotesessionstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("opened_by_user_id", sa.Integer(), nullable=True),
        sa.Column("command_id", sa.Integer(), nullable=True),
        sa.Column("relay_url", sa.String(length=512), nullable=False),
        sa.Column("quick_support", sa.Boolean(), nullable=False),
        sa.Column("consent_required", sa.Boolean(), nullable=False),
        sa.Column("consent", sa.String(length=20), nullable=True),
        sa.Column("elevated", sa.Boolean(), nullable=False),
        sa.Column("viewers", sa.JSON(), nullable=False),
        sa.Column("recording", sa.String(length=200), nullable=True),
        sa.Column("opened_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["rmm_devices.id"],
            name=op.f("fk_rmm_remote_sessions_device_id_rmm_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_rmm_remote_sessions_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rmm_remote_sessions")),
        sa.UniqueConstraint("sid", name=op.f("uq_rmm_remote_sessions_sid")),
    )
    with op.batch_alter_table("rmm_remote_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rmm_remote_sessions_device_id"), ["device_id"], unique=False)
        batch_op.create_index("ix_rmm_remote_sessions_org_status", ["org_id", "status"], unique=False)

    op.create_table(
        "rmm_remote_session_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(length=150), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("viewers", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["rmm_remote_sessions.id"],
            name=op.f("fk_rmm_remote_session_events_session_id_rmm_remote_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rmm_remote_session_events")),
    )
    with op.batch_alter_table("rmm_remote_session_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rmm_remote_session_events_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rmm_remote_session_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rmm_remote_session_events_session_id"))

    op.drop_table("rmm_remote_session_events")
    with op.batch_alter_table("rmm_remote_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_rmm_remote_sessions_org_status")
        batch_op.drop_index(batch_op.f("ix_rmm_remote_sessions_device_id"))

    op.drop_table("rmm_remote_sessions")
    with op.batch_alter_table("rmm_remote_consent_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rmm_remote_consent_rules_org_id"))

    op.drop_table("rmm_remote_consent_rules")
