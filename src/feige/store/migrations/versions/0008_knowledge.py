"""the robot's knowledge base

Revision ID: 0008_knowledge
Revises: 0007_robot
Create Date: 2026-11-30 05:00:00

A shop's own knowledge entries (docs/robot.md): standard question, similar questions, answer,
category, enabled. The platform's default entries ship with the code; a shop row with a
default's question overrides it, or disables it when not enabled.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_knowledge"
down_revision = "0007_robot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("question", sa.String(length=200), nullable=False),
        sa.Column("similar", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_knowledge_entries_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_entries")),
        sa.UniqueConstraint("shop_id", "question", name="uq_knowledge_entries_shop_question"),
    )


def downgrade() -> None:
    op.drop_table("knowledge_entries")
