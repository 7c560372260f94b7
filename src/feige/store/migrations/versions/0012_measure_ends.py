"""measure ends

Revision ID: 0012_measure_ends
Revises: 0011_robot_full_auto
Create Date: 2026-11-30 07:15:00

A measure with a duration (a restriction, the robot forced on) ends by the clock; its end is
told once — the shop's inbox, its members' sockets, the marketplace webhook — by whichever
node claims it first (``ended_at``; docs/enforcement.md, "Measures"). Measures that had
ended before this migration count as told.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0012_measure_ends"
down_revision = "0011_robot_full_auto"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shop_measures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_at", sa.Double(), nullable=True))
        batch_op.create_index("ix_shop_measures_ends", ["ended_at", "ends_at"], unique=False)
    op.get_bind().execute(
        sa.text(
            "UPDATE shop_measures SET ended_at = ends_at "
            "WHERE ends_at IS NOT NULL AND ends_at <= :now"
        ),
        {"now": time.time()},
    )


def downgrade() -> None:
    with op.batch_alter_table("shop_measures", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_measures_ends")
        batch_op.drop_column("ended_at")
