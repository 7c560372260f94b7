"""message events are read from the messages table

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 23:58:00

Every message used to write a second row, a ``message`` session event, in the same
transaction. That row said nothing the message row does not (role, kind, agent, time) and
was a fifth of the message path's writes. Now ``session_events`` keeps only the other event
types, each with ``after_seq``: the session's last message seq when it happened, which is
where it falls among the session's messages (``event_store.session_events_for`` merges the two).

Existing rows are carried over: each event's ``after_seq`` is the number of ``message``
events before it in the same session (the k-th message event is the message with seq k),
then the message events are deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("after_seq", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.execute(
        "UPDATE session_events SET after_seq = ("
        " SELECT count(*) FROM session_events m"
        " WHERE m.session_id = session_events.session_id"
        " AND m.type = 'message' AND m.id < session_events.id)"
        " WHERE type != 'message'"
    )
    op.execute("DELETE FROM session_events WHERE type = 'message'")


def downgrade() -> None:
    # The message events come back from the messages table, after the other events of their
    # session: the old schema orders events by id and has no place for after_seq.
    pg = op.get_bind().dialect.name == "postgresql"
    obj = "json_build_object" if pg else "json_object"
    sender = "m.sender_id::text" if pg else "CAST(m.sender_id AS TEXT)"
    op.execute(
        "INSERT INTO session_events (session_id, shop_id, type, ts, data, after_seq)"
        " SELECT m.session_id, s.shop_id, 'message', m.created_at,"
        f" CASE WHEN m.sender_role IN ('agent', 'robot_assist') AND m.sender_id IS NOT NULL"
        f" THEN {obj}('role', m.sender_role, 'kind', m.kind, 'agent', {sender})"
        f" ELSE {obj}('role', m.sender_role, 'kind', m.kind) END, m.seq"
        " FROM messages m JOIN sessions s ON s.id = m.session_id ORDER BY m.session_id, m.seq"
    )
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.drop_column("after_seq")
