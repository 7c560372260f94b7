"""session updates heap-only

Revision ID: 0015_session_updates_heap_only
Revises: 0014_robot_turns
Create Date: 2026-11-30 15:00:00

Every message sets its session's ``last_seq`` and ``last_activity_at``. With
``last_activity_at`` in an index (``ix_sessions_activity``: state, last_activity_at), each of
those updates was, on PostgreSQL, a new row version in all eight of the table's indexes; with
no indexed column moving and room left in the page (fillfactor 80) it is a heap-only update
that touches no index (docs/performance.md, "The open loop's batch cost"). The two readers
of that index (the idle-close sweep and the robot's recovery of turns) look at open sessions
only, which the partial index on ``state`` finds; they filter ``last_activity_at`` on those
rows.
The robot's window rebuild also reads the sessions closed in the last hour, through a new
index on ``closed_at`` (set once, at the close, which moves ``state`` anyway), and each
one's last event id, which the index of events by (session, id) answers from its end (the
index on the session alone left the planner, before statistics, to scan every event).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_session_updates_heap_only"
down_revision = "0014_robot_turns"
branch_labels = None
depends_on = None

_OPEN = "state != 'closed'"


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_activity")
        batch_op.create_index(
            "ix_sessions_open_state",
            ["state"],
            unique=False,
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        )
        batch_op.create_index("ix_sessions_closed_at", ["closed_at"], unique=False)
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.drop_index("ix_session_events_session_id")
        batch_op.create_index("ix_session_events_session_id_id", ["session_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # Pages written from now on keep a fifth free; existing ones as they are rewritten.
        op.execute("ALTER TABLE sessions SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE sessions RESET (fillfactor)")
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.drop_index("ix_session_events_session_id_id")
        batch_op.create_index("ix_session_events_session_id", ["session_id"])
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_closed_at")
        batch_op.drop_index("ix_sessions_open_state")
        batch_op.create_index("ix_sessions_activity", ["state", "last_activity_at"], unique=False)
