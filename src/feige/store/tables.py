"""The schema, as SQLAlchemy Core tables: one definition for SQLite and PostgreSQL.

Timestamps are UTC epoch seconds (``Double``): the same on both databases, cheap to compare
and free of driver time-zone quirks (docs/rules.md §3 stores everything in UTC).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")

staff = Table(
    "staff",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("display_name", String(64), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    # Bumped to revoke every token issued before (docs/security.md, "Revocation").
    Column("token_version", Integer, nullable=False, server_default=text("0")),
    Column("created_at", Double, nullable=False),
)

shops = Table(
    "shops",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("routing_mode", String(16), nullable=False),
    Column("welcome_message", Text, nullable=True),
    # Bumped by every reception decision so concurrent nodes serialise on the shop row.
    Column("routing_version", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", Double, nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("display_name", String(64), nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'offline'")),
    Column("capacity", Integer, nullable=False),
    Column("last_assigned_at", Double, nullable=False, server_default=text("0")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    # Bumped to revoke every token issued before (docs/security.md, "Revocation").
    Column("token_version", Integer, nullable=False, server_default=text("0")),
    Column("created_at", Double, nullable=False),
)

consumers = Table(
    "consumers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("external_id", String(128), nullable=False, unique=True),
    Column("nickname", String(64), nullable=False),
    # Bumped to revoke every token issued before (docs/security.md, "Revocation").
    Column("token_version", Integer, nullable=False, server_default=text("0")),
    Column("created_at", Double, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("consumer_id", ForeignKey("consumers.id"), nullable=False),
    Column("agent_id", ForeignKey("members.id"), nullable=True),
    Column("state", String(16), nullable=False),
    Column("entry", String(16), nullable=False),
    Column("entry_card", JSON, nullable=True),
    Column("order_no", String(64), nullable=True),
    Column("opened_at", Double, nullable=False),
    Column("wait_started_at", Double, nullable=True),
    Column("assigned_at", Double, nullable=True),
    Column("closed_at", Double, nullable=True),
    Column("close_reason", String(16), nullable=True),
    Column("last_activity_at", Double, nullable=False),
    Column("last_seq", Integer, nullable=False, server_default=text("0")),
    Column("consumer_read_seq", Integer, nullable=False, server_default=text("0")),
    Column("agent_read_seq", Integer, nullable=False, server_default=text("0")),
    Column("rating", Integer, nullable=True),
    Column("invalid_reasons", String(64), nullable=True),
    # Set in the transaction of a close or a late event; the summariser recomputes the
    # session's metrics summary and clears it (docs/rules.md §3 assessment works on summaries).
    Column("summary_dirty", Boolean, nullable=False, server_default=text("false")),
    Index("ix_sessions_shop_state", "shop_id", "state"),
    Index("ix_sessions_summary_dirty", "summary_dirty"),
    Index("ix_sessions_agent_state", "agent_id", "state"),
    Index("ix_sessions_consumer", "consumer_id"),
    Index("ix_sessions_order_no", "shop_id", "order_no"),
    Index("ix_sessions_activity", "state", "last_activity_at"),
    # docs/rules.md §2.1: at most one open session per (shop, consumer).
    Index(
        "uq_sessions_open_pair",
        "shop_id",
        "consumer_id",
        unique=True,
        sqlite_where=text("state != 'closed'"),
        postgresql_where=text("state != 'closed'"),
    ),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_id", ForeignKey("sessions.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("sender_role", String(16), nullable=False),
    Column("sender_id", BigInteger, nullable=True),
    Column("kind", String(16), nullable=False),
    Column("content", JSON, nullable=False),
    Column("client_id", String(64), nullable=True),
    Column("created_at", Double, nullable=False),
    UniqueConstraint("session_id", "seq", name="uq_messages_session_seq"),
    Index(
        "uq_messages_client",
        "sender_role",
        "sender_id",
        "client_id",
        unique=True,
        sqlite_where=text("client_id IS NOT NULL"),
        postgresql_where=text("client_id IS NOT NULL"),
    ),
)

session_events = Table(
    "session_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_id", ForeignKey("sessions.id"), nullable=False, index=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("type", String(16), nullable=False),
    Column("ts", Double, nullable=False),
    Column("data", JSON, nullable=False),
    # Messages are not stored here: their events are read from ``messages`` and placed by
    # this column, the session's last message seq when the event happened (docs/architecture.md).
    Column("after_seq", Integer, nullable=False, server_default=text("0")),
    Index("ix_session_events_shop_ts", "shop_id", "ts"),
)

quick_replies = Table(
    "quick_replies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("member_id", ForeignKey("members.id"), nullable=True),
    Column("title", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

blacklist = Table(
    "blacklist",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("consumer_id", ForeignKey("consumers.id"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", ForeignKey("members.id"), nullable=False),
    Column("created_at", Double, nullable=False),
    UniqueConstraint("shop_id", "consumer_id", name="uq_blacklist_shop_consumer"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_id", ForeignKey("sessions.id"), nullable=False, index=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("reporter_kind", String(16), nullable=False),
    Column("reporter_id", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

images = Table(
    "images",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("session_id", ForeignKey("sessions.id"), nullable=False, index=True),
    Column("uploader_role", String(16), nullable=False),
    Column("uploader_id", BigInteger, nullable=False),
    Column("content_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("path", String(255), nullable=False),
    Column("created_at", Double, nullable=False),
    # The bytes' SHA-256: the key of their scan in image_scans (NULL before migration 0005).
    Column("sha256", String(64), nullable=True),
)

# What an image holds (QR codes, software), found once per distinct bytes at upload and
# judged again per send and role without decoding (docs/moderation.md, "Images").
image_scans = Table(
    "image_scans",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("readable", Boolean, nullable=False),
    Column("codes", JSON, nullable=False),
    Column("error", String(200), nullable=False),
    Column("software", String(64), nullable=False),
    Column("scanned_at", Double, nullable=False),
    # Text read in the picture (OCR, migration 0006) and whether the time budget let all of
    # it be read.
    Column("text", Text, nullable=False, server_default=""),
    Column("text_complete", Boolean, nullable=False, server_default=text("true")),
)

# --- compliance (docs/rules.md 2.2.3–2.2.10, §4) and assessment (docs/rules.md §3) ----------

violations = Table(
    "violations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # "message" for a checked message; "no_human_reply" for rule 2.2.1 streaks.
    Column("kind", String(24), nullable=False),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("session_id", ForeignKey("sessions.id"), nullable=True),
    Column("message_id", ForeignKey("messages.id"), nullable=True),
    Column("sender_role", String(16), nullable=True),
    Column("sender_id", BigInteger, nullable=True),
    # The sender's message id: a resent blocked message finds its record instead of a twin.
    Column("client_id", String(64), nullable=True),
    Column("categories", JSON, nullable=False),
    Column("clauses", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("action", String(16), nullable=False),
    # The original text or image id: shown to platform reviewers only.
    Column("original", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reviewed_by", BigInteger, nullable=True),
    Column("reviewed_at", Double, nullable=True),
    Column("created_at", Double, nullable=False),
    Index("ix_violations_status", "status", "id"),
    Index("ix_violations_shop", "shop_id", "id"),
    Index("ix_violations_client", "sender_role", "sender_id", "client_id"),
)

session_summaries = Table(
    "session_summaries",
    metadata,
    Column("session_id", ForeignKey("sessions.id"), primary_key=True, autoincrement=False),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("first_event_at", Double, nullable=False),
    Column("last_event_at", Double, nullable=False),
    Column("close_at", Double, nullable=False),
    Column("data", JSON, nullable=False),
    Column("updated_at", Double, nullable=False),
    Index("ix_session_summaries_span", "first_event_at", "last_event_at"),
    Index("ix_session_summaries_shop_close", "shop_id", "close_at"),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("week", String(10), nullable=False),
    Column("passed", Boolean, nullable=True),
    Column("result", JSON, nullable=False),
    Column("created_at", Double, nullable=False),
    UniqueConstraint("shop_id", "week", name="uq_assessments_shop_week"),
)

measures = Table(
    "measures",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False, index=True),
    Column("week", String(10), nullable=True),
    # warning | points_deduction | deposit_withholding
    Column("measure", String(24), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("details", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Double, nullable=False),
    UniqueConstraint("shop_id", "week", "reason", name="uq_measures_shop_week_reason"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(32), primary_key=True),
    Column("key", String(32), primary_key=True),
    Column("started_at", Double, nullable=False),
    Column("finished_at", Double, nullable=True),
    Column("node", String(64), nullable=False),
)
