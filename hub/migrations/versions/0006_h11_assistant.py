"""assistant: conversations, their entries and runs paused on approvals

Revision ID: 0006_h11
Revises: 0006_h10a
Create Date: 2026-12-02 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import hub.core.db
from alembic import op

revision: str = "0006_h11"
down_revision: str | None = "0006_h10a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(*values: str) -> sa.Enum:
    return sa.Enum(*values, native_enum=False, length=20)


def upgrade() -> None:
    op.create_table(
        "assistant_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("memory", sa.JSON(), nullable=False),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assistant_conversations_org_user", "assistant_conversations", ["org_id", "user_id"])
    op.create_table(
        "assistant_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("user", "assistant", "tool"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("plan", sa.Boolean(), nullable=False),
        sa.Column("tool_call_id", sa.String(length=120), nullable=True),
        sa.Column("tool", sa.String(length=200), nullable=True),
        sa.Column("args", sa.JSON(), nullable=True),
        sa.Column("policy", sa.String(length=20), nullable=True),
        sa.Column(
            "status",
            _enum("done", "pending_approval", "refused", "failed", "retried", "denied", "planned"),
            nullable=True,
        ),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["assistant_conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assistant_entries_conversation_id", "assistant_entries", ["conversation_id"])
    op.create_index("ix_assistant_entries_approval_id", "assistant_entries", ["approval_id"])
    op.create_table(
        "assistant_paused_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("tools", sa.JSON(), nullable=False),
        sa.Column("status", _enum("waiting", "resuming", "resumed"), nullable=False),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["assistant_conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assistant_paused_runs_conversation_id", "assistant_paused_runs", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("assistant_paused_runs")
    op.drop_table("assistant_entries")
    op.drop_table("assistant_conversations")
