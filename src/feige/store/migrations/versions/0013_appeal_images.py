"""appeal images

Revision ID: 0013_appeal_images
Revises: 0012_measure_ends
Create Date: 2026-11-30 10:45:00

A shop appeals with images of its own, whatever the appeal is against — a measure from a
failed weekly assessment belongs to no session (docs/enforcement.md, "Appeals"). So an
image may have no session; ``purpose`` says what it was uploaded for: ``message`` (into a
session, to be sent) or ``appeal`` (the evidence of the shop in ``shop_id``, seen by that
shop's owners and managers and by platform reviewers only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_appeal_images"
down_revision = "0012_measure_ends"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.alter_column(
            "session_id",
            existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        )
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=16), nullable=False, server_default="message")
        )


def downgrade() -> None:
    # Images without a session (appeal evidence) cannot live in the older table.
    op.get_bind().execute(
        sa.text(
            "DELETE FROM appeal_images WHERE image_id IN "
            "(SELECT id FROM images WHERE session_id IS NULL)"
        )
    )
    op.get_bind().execute(sa.text("DELETE FROM images WHERE session_id IS NULL"))
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_column("purpose")
        batch_op.alter_column(
            "session_id",
            existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        )
