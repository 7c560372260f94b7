"""account token versions, staff accounts that can be deactivated

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:50:00

Every account carries a token version, written into each token it is issued. Deactivation,
a password or role change and "sign out everywhere" bump it, so every older token (and every
socket opened with one) stops working at once (docs/security.md, "Revocation"). Platform
staff can now be deactivated like shop members.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ACCOUNT_TABLES = ("staff", "members", "consumers")


def upgrade() -> None:
    for table in ACCOUNT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "token_version", sa.Integer(), server_default=sa.text("0"), nullable=False
                )
            )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("active")
    for table in ACCOUNT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("token_version")
