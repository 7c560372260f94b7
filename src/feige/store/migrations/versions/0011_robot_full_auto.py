"""the full-auto robot

Revision ID: 0011_robot_full_auto
Revises: 0010_image_text
Create Date: 2026-11-30 07:00:00

The full-auto robot (docs/robot-modes.md, "Full-auto"): a shop's own interception words
(``robot_settings``) and every session the robot received, with its run of unanswered
questions and when and why it was handed to human service (``robot_sessions``). Sessions the
robot serves have the state ``robot``: a string column, no change to ``sessions``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_robot_full_auto"
down_revision = "0010_image_text"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "robot_settings",
        sa.Column("shop_id", _ID, nullable=False, autoincrement=False),
        sa.Column("interception_words", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_robot_settings_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_robot_settings")),
    )
    op.create_table(
        "robot_sessions",
        sa.Column("session_id", _ID, nullable=False, autoincrement=False),
        sa.Column("shop_id", _ID, nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("misses", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("handover_reason", sa.String(length=16), nullable=True),
        sa.Column("handover_detail", sa.String(length=64), nullable=True),
        sa.Column("handed_over_at", sa.Double(), nullable=True),
        sa.Column("opened_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_robot_sessions_session_id_sessions")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_robot_sessions_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_robot_sessions")),
    )
    op.create_index("ix_robot_sessions_shop_opened", "robot_sessions", ["shop_id", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_robot_sessions_shop_opened", table_name="robot_sessions")
    op.drop_table("robot_sessions")
    op.drop_table("robot_settings")
