"""enforcement: reviewed shop-side reports, audit log, points, measures, deposits, inbox,
webhook outbox, consumer restrictions, appeals

Revision ID: 0009_enforcement
Revises: 0008_knowledge
Create Date: 2026-11-30 04:00:00

A shop-side report or blacklist leaves the metrics only once a reviewer upholds it, so
reports get a kind, a status and the reviewer's decision (docs/rules.md §3 (2) note). The
rest is the enforcement loop of docs/enforcement.md (docs/rules.md §4). The audit log is
append-only: a trigger refuses UPDATE and DELETE on it (SQLite and PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_enforcement"
down_revision = "0008_knowledge"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

AUDIT_REFUSAL = "the audit log is append-only"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
    BEGIN SELECT RAISE(ABORT, '{AUDIT_REFUSAL}'); END"""
    for verb in ("UPDATE", "DELETE")
]
PG_FUNCTION = f"""CREATE OR REPLACE FUNCTION audit_log_refuse() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION '{AUDIT_REFUSAL}'; END; $$ LANGUAGE plpgsql"""
PG_TRIGGER = """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()"""


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", Id, autoincrement=True, nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(16), server_default=sa.text("'report'"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("status", sa.String(16), server_default=sa.text("'counted'"), nullable=False)
        )
        batch_op.add_column(sa.Column("reviewed_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        batch_op.create_index("ix_reports_status", ["status", "id"], unique=False)

    op.create_table(
        "audit_log",
        _id(),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("record_kind", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor_kind", "actor_id", "id"])
    op.create_index("ix_audit_log_shop", "audit_log", ["shop_id", "id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action", "id"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    else:
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)

    op.create_table(
        "points_ledger",
        _id(),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_points_ledger_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_ledger")),
    )
    op.create_index("ix_points_ledger_shop", "points_ledger", ["shop_id", "created_at"])
    op.create_index("ix_points_ledger_source", "points_ledger", ["source_kind", "source_id"])

    op.create_table(
        "shop_measures",
        _id(),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("measure", sa.String(24), nullable=False),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.Double(), nullable=False),
        sa.Column("ends_at", sa.Double(), nullable=True),
        sa.Column("reversed_at", sa.Double(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_measures_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_measures")),
    )
    op.create_index("ix_shop_measures_shop", "shop_measures", ["shop_id", "id"])

    op.create_table(
        "deposit_ledger",
        _id(),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("measure_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_deposit_ledger_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_ledger")),
    )
    op.create_index("ix_deposit_ledger_shop", "deposit_ledger", ["shop_id", "id"])

    op.create_table(
        "notifications",
        _id(),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("read_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_notifications_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_shop", "notifications", ["shop_id", "id"])

    op.create_table(
        "webhook_outbox",
        _id(),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(48), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.Double(), nullable=False),
        sa.Column("delivered_at", sa.Double(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_outbox_event_id")),
    )
    op.create_index("ix_webhook_outbox_due", "webhook_outbox", ["delivered_at", "next_attempt_at"])

    op.create_table(
        "consumer_restrictions",
        _id(),
        sa.Column("consumer_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("violation_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.Double(), nullable=False),
        sa.Column("ends_at", sa.Double(), nullable=True),
        sa.Column("lifted_at", sa.Double(), nullable=True),
        sa.Column("lifted_by", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_id"],
            ["consumers.id"],
            name=op.f("fk_consumer_restrictions_consumer_id_consumers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_restrictions")),
    )
    op.create_index(
        "ix_consumer_restrictions_consumer", "consumer_restrictions", ["consumer_id", "id"]
    )

    op.create_table(
        "appeals",
        _id(),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("filed_by", sa.BigInteger(), nullable=False),
        sa.Column("filed_at", sa.Double(), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.Double(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_appeals_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("target_kind", "target_id", name="uq_appeals_target"),
    )
    op.create_index("ix_appeals_status", "appeals", ["status", "id"])

    op.create_table(
        "appeal_images",
        sa.Column(
            "appeal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("image_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeals.id"], name=op.f("fk_appeal_images_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("appeal_id", "image_id", name=op.f("pk_appeal_images")),
    )
    op.create_index("ix_appeal_images_image_id", "appeal_images", ["image_id"])


def downgrade() -> None:
    for table in (
        "appeal_images",
        "appeals",
        "consumer_restrictions",
        "webhook_outbox",
        "notifications",
        "deposit_ledger",
        "shop_measures",
        "points_ledger",
        "audit_log",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse()")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_status")
        for column in ("decision_reason", "reviewed_at", "reviewed_by", "status", "kind"):
            batch_op.drop_column(column)
