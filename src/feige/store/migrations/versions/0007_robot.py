"""the robot's modes, its switch records and the live run of unanswered sessions

Revision ID: 0007_robot
Revises: 0006_shop_blocks
Create Date: 2026-11-30 04:00:00

Each shop's robot mode (off, assist, full-auto) and whether the automatic switch of rule
2.2.1 holds assist on; every switch, by rule or by hand, as a record; and each shop's current
run of sessions closing without a human reply, continued by whichever node closes the next
one (docs/rules.md 2.2.1).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_robot"
down_revision = "0006_shop_blocks"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "robot_modes",
        sa.Column("shop_id", Id, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("rule_on", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("rule_since", sa.Double(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_robot_modes_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_robot_modes")),
    )
    op.create_table(
        "robot_switches",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("shop_id", Id, nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("cause", sa.String(length=8), nullable=False),
        sa.Column("member_id", Id, nullable=True),
        sa.Column("mode_before", sa.String(length=16), nullable=False),
        sa.Column("mode_after", sa.String(length=16), nullable=False),
        sa.Column("rule_on", sa.Boolean(), nullable=False),
        sa.Column("average_seconds", sa.Double(), nullable=True),
        sa.Column("rounds", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_robot_switches_shop_id_shops")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_robot_switches_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_robot_switches")),
    )
    op.create_index("ix_robot_switches_shop", "robot_switches", ["shop_id", "id"])
    op.create_table(
        "reply_streaks",
        sa.Column("shop_id", Id, nullable=False),
        sa.Column("sessions", sa.JSON(), nullable=False),
        sa.Column("violation_id", Id, nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_reply_streaks_shop_id_shops")
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"],
            ["violations.id"],
            name=op.f("fk_reply_streaks_violation_id_violations"),
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_reply_streaks")),
    )


def downgrade() -> None:
    op.drop_table("reply_streaks")
    op.drop_index("ix_robot_switches_shop", table_name="robot_switches")
    op.drop_table("robot_switches")
    op.drop_table("robot_modes")
