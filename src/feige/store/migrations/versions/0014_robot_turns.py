"""robot turns

Revision ID: 0014_robot_turns
Revises: 0013_appeal_images
Create Date: 2026-11-30 11:00:00

The full-auto robot's turns survive a node's death (docs/robot-modes.md, "Across nodes"):
``robot_sessions.last_turn_seq`` is the buyer message the robot last took its turn on, set
in the turn's own transaction, so a turn another node picks up (the sweep of buyer messages
left unanswered) is never taken twice. Existing sessions count every turn before their last
message as taken.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_robot_turns"
down_revision = "0013_appeal_images"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("robot_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_turn_seq", sa.Integer(), nullable=False, server_default="0")
        )
    op.get_bind().execute(
        sa.text(
            "UPDATE robot_sessions SET last_turn_seq = "
            "(SELECT last_seq FROM sessions WHERE sessions.id = robot_sessions.session_id)"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("robot_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_turn_seq")
