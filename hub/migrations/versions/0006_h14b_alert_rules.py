"""h14 alert rules

Revision ID: 0006_h14b
Revises: 0006_h14
Create Date: 2026-12-02 01:43:12.751919
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.core.db


revision: str = "0006_h14b"
down_revision: str | None = "0006_h14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "automation_alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("match", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_automation_alert_rules_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_automation_alert_rules_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_alert_rules")),
    )
    with op.batch_alter_table("automation_alert_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_automation_alert_rules_org_id"), ["org_id"], unique=False)

    op.create_table(
        "automation_rule_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column(
            "phase",
            sa.Enum("raised", "remediation", "resolved", name="rulephase", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("action_index", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("tool_id", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["rmm_alerts.id"],
            name=op.f("fk_automation_rule_runs_alert_id_rmm_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_automation_rule_runs_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["automation_alert_rules.id"],
            name=op.f("fk_automation_rule_runs_rule_id_automation_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rule_runs")),
    )
    with op.batch_alter_table("automation_rule_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_automation_rule_runs_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_automation_rule_runs_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_automation_rule_runs_rule_alert", ["rule_id", "alert_id", "phase"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("automation_rule_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_automation_rule_runs_rule_alert")
        batch_op.drop_index(batch_op.f("ix_automation_rule_runs_org_id"))
        batch_op.drop_index(batch_op.f("ix_automation_rule_runs_alert_id"))

    op.drop_table("automation_rule_runs")
    with op.batch_alter_table("automation_alert_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_automation_alert_rules_org_id"))

    op.drop_table("automation_alert_rules")
