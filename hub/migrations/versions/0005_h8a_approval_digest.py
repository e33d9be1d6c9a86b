"""approvals: keyed argument digest and the door a request came through

Revision ID: 0005_h8a
Revises: 0004_connectwise
Create Date: 2026-12-01 22:00:00

``approvals.args_sha256`` (a plain SHA-256 anyone with database access could recompute) becomes
``args_digest``, an HMAC keyed from the hub secret key. The migration has no business holding that
key, and re-signing stored arguments would bless whatever they are now, so requests still pending
are failed with a note asking to request them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_h8a"
down_revision: str | None = "0004_connectwise"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSIGNED_NOTE = "requested before approvals were signed (upgrade to keyed argument digests); request it again"


def upgrade() -> None:
    approvals = sa.table("approvals", sa.column("status", sa.String), sa.column("error", sa.Text))
    op.execute(approvals.update().where(approvals.c.status == "pending").values(status="failed", error=UNSIGNED_NOTE))
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.alter_column("args_sha256", new_column_name="args_digest", existing_type=sa.String(length=64))
        batch_op.add_column(sa.Column("via_tool_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_column("via_tool_id")
        batch_op.alter_column("args_digest", new_column_name="args_sha256", existing_type=sa.String(length=64))
