"""h14 schedules

Revision ID: 0006_h14c
Revises: 0006_h14b
Create Date: 2026-12-02 01:54:13.499885
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.core.db


revision: str = "0006_h14c"
down_revision: str | None = "0006_h14b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "automation_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("tool", sa.String(length=40), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("trigger", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("end_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("misfire", sa.String(length=20), nullable=False),
        sa.Column("approval_mode", sa.String(length=20), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=30), nullable=True),
        sa.Column("standing_approval_id", sa.Integer(), nullable=True),
        sa.Column("standing_digest", sa.String(length=64), nullable=True),
        sa.Column("standing_expires_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_automation_schedules_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_automation_schedules_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_schedules")),
    )
    with op.batch_alter_table("automation_schedules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_automation_schedules_next_run_at"), ["next_run_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_automation_schedules_org_id"), ["org_id"], unique=False)

    op.create_table(
        "automation_schedule_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("due_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("approval_ids", sa.JSON(), nullable=False),
        sa.Column("command_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_automation_schedule_runs_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["automation_schedules.id"],
            name=op.f("fk_automation_schedule_runs_schedule_id_automation_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_schedule_runs")),
    )
    with op.batch_alter_table("automation_schedule_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_automation_schedule_runs_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_automation_schedule_runs_slot", ["schedule_id", "due_at"], unique=True)


def downgrade() -> None:

    with op.batch_alter_table("automation_schedule_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_automation_schedule_runs_slot")
        batch_op.drop_index(batch_op.f("ix_automation_schedule_runs_org_id"))

    op.drop_table("automation_schedule_runs")
    with op.batch_alter_table("automation_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_automation_schedules_org_id"))
        batch_op.drop_index(batch_op.f("ix_automation_schedules_next_run_at"))

    op.drop_table("automation_schedules")
