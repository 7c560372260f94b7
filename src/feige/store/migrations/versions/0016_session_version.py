"""session version

Revision ID: 0016_session_version
Revises: 0015_session_updates_heap_only
Create Date: 2026-11-30 21:45:00

``sessions.version`` counts the changes of a session's row other than its seqs (a
message's, the read marks): ``store.sessions.update_session``. Each ``session`` event and
each REST view carries it: events published by two nodes about one session can reach a
client in either order (each node's publishes keep their order, two nodes' do not), and a
client keeps the view with the higher version (docs/protocol.md, "session"). Not indexed:
an update that moves it stays heap-only on PostgreSQL (0015).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_session_version"
down_revision = "0015_session_updates_heap_only"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("version")
