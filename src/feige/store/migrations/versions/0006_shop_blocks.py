"""shop blocks

Revision ID: 0006_shop_blocks
Revises: 0005
Create Date: 2026-11-30 04:00:00

A consumer may block a shop: the shop can no longer reach the consumer and the consumer
opens no session with it until the block is lifted (docs/web.md, "Blocking a shop").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_shop_blocks"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shop_blocks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("consumer_id", ID, nullable=False),
        sa.Column("shop_id", ID, nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_id"], ["consumers.id"], name=op.f("fk_shop_blocks_consumer_id_consumers")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_blocks_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_blocks")),
        sa.UniqueConstraint("consumer_id", "shop_id", name="uq_shop_blocks_consumer_shop"),
    )


def downgrade() -> None:
    op.drop_table("shop_blocks")
