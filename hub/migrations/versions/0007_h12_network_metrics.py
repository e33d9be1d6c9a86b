"""h12 network throughput on metric samples

Revision ID: 0007_h12
Revises: 0007_h14k
Create Date: 2026-12-02 04:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_h12"
down_revision: str | None = "0007_h14k"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rmm_metric_samples") as batch:
        batch.add_column(sa.Column("net_sent_bps", sa.Float(), nullable=True))
        batch.add_column(sa.Column("net_recv_bps", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rmm_metric_samples") as batch:
        batch.drop_column("net_recv_bps")
        batch.drop_column("net_sent_bps")
