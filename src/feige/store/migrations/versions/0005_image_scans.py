"""image scans

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 22:00:00

An image is decoded and scanned for QR codes once, at upload, keyed by the SHA-256 of its
bytes; every send of it (and every upload of the same bytes) reuses the stored scan instead
of decoding again (docs/security.md, "Images"). Images stored before have no hash: the first
send of one scans it as before and keeps the result.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_scans",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("readable", sa.Boolean(), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=False),
        sa.Column("software", sa.String(length=64), nullable=False),
        sa.Column("scanned_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_image_scans")),
    )
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_column("sha256")
    op.drop_table("image_scans")
