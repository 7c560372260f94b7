"""image text

Revision ID: 0010_image_text
Revises: 0009_enforcement
Create Date: 2026-11-30 04:15:00

Image scans also keep the text read in the picture (OCR; docs/moderation.md, "Images") and
whether the time budget let every text box be read. Scans kept before had no OCR: they are
dropped, so each image is scanned again (once) at its next send or upload.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_image_text"
down_revision = "0009_enforcement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM image_scans")
    with op.batch_alter_table("image_scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("text_complete", sa.Boolean(), nullable=False, server_default=sa.text("true"))
        )


def downgrade() -> None:
    with op.batch_alter_table("image_scans", schema=None) as batch_op:
        batch_op.drop_column("text_complete")
        batch_op.drop_column("text")
