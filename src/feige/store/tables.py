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
    # One more at every change of the row but its seqs, a message's and the read marks, which
    # only rise (store.sessions.update_session):
    # events about a session published by two nodes can arrive in either order, and a client
    # keeps the view with the higher version (docs/protocol.md, "session").
    Column("version", Integer, nullable=False, server_default=text("0")),
    Index("ix_sessions_shop_state", "shop_id", "state"),
    Index("ix_sessions_summary_dirty", "summary_dirty"),
    Index("ix_sessions_agent_state", "agent_id", "state"),
    Index("ix_sessions_consumer", "consumer_id"),
    Index("ix_sessions_order_no", "shop_id", "order_no"),
    # Open sessions only, and not on last_activity_at: every message moves that column, and
    # on PostgreSQL an indexed column that moves makes each session update a new row version
    # in every index of the table; without it the update is heap-only (migration 0015).
    Index(
        "ix_sessions_open_state",
        "state",
        sqlite_where=text("state != 'closed'"),
        postgresql_where=text("state != 'closed'"),
    ),
    # docs/rules.md §2.1: at most one open session per (shop, consumer).
    Index(
        "uq_sessions_open_pair",
        "shop_id",
        "consumer_id",
        unique=True,
        sqlite_where=text("state != 'closed'"),
        postgresql_where=text("state != 'closed'"),
    ),
    # The sessions closed lately (the robot's window rebuild): set once, at the close.
    Index("ix_sessions_closed_at", "closed_at"),
    # Room in each page for the updated row, so that an update stays heap-only.
    postgresql_with={"fillfactor": 80},
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
    Column("session_id", ForeignKey("sessions.id"), nullable=False),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("type", String(16), nullable=False),
    Column("ts", Double, nullable=False),
    Column("data", JSON, nullable=False),
    # Messages are not stored here: their events are read from ``messages`` and placed by
    # this column, the session's last message seq when the event happened (docs/architecture.md).
    Column("after_seq", Integer, nullable=False, server_default=text("0")),
    Index("ix_session_events_shop_ts", "shop_id", "ts"),
    # A session's events in order, and its last one (the robot's window rebuild, 0015).
    Index("ix_session_events_session_id_id", "session_id", "id"),
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

# A consumer's block of a shop (docs/web.md, "Blocking a shop"): the shop can no longer
# reach the consumer, and the consumer cannot open a session with it until unblocked.
shop_blocks = Table(
    "shop_blocks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("consumer_id", ForeignKey("consumers.id"), nullable=False),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("created_at", Double, nullable=False),
    UniqueConstraint("consumer_id", "shop_id", name="uq_shop_blocks_consumer_shop"),
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
    # "report" or "blacklist" (the shop's blacklisting of the session's consumer).
    Column("kind", String(16), nullable=False, server_default=text("'report'")),
    # "counted" (the consumer's: invalid at once), "pending" (the shop's: until a reviewer
    # decides), "upheld", "dismissed" (docs/rules.md §3 (2) note) — since migration 0009.
    Column("status", String(16), nullable=False, server_default=text("'counted'")),
    Column("reviewed_by", BigInteger, nullable=True),
    Column("reviewed_at", Double, nullable=True),
    Column("decision_reason", Text, nullable=True),
    Index("ix_reports_status", "status", "id"),
)

images = Table(
    "images",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    # None for an appeal's evidence (migration 0013): it belongs to the shop, not a session.
    Column("session_id", ForeignKey("sessions.id"), nullable=True, index=True),
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
    # What it was uploaded for (migration 0013): "message" (into its session, to be sent) or
    # "appeal" (the shop's evidence: its owners and managers, and reviewers, see it).
    Column("purpose", String(16), nullable=False, server_default="message"),
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

# --- the robot's modes and its automatic switch (docs/rules.md 2.2.1) -------------------------

robot_modes = Table(
    "robot_modes",
    metadata,
    Column("shop_id", ForeignKey("shops.id"), primary_key=True, autoincrement=False),
    # The merchant's own choice: off | assist | full_auto.
    Column("mode", String(16), nullable=False),
    # The rule (average response above the limit) holds assist on: the shop cannot turn it off.
    Column("rule_on", Boolean, nullable=False, server_default=text("false")),
    Column("rule_since", Double, nullable=True),
    Column("updated_at", Double, nullable=False),
)

robot_switches = Table(
    "robot_switches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("at", Double, nullable=False),
    # "rule" (the automatic switch) or "hand" (a shop owner or manager).
    Column("cause", String(8), nullable=False),
    Column("member_id", ForeignKey("members.id"), nullable=True),
    Column("mode_before", String(16), nullable=False),
    Column("mode_after", String(16), nullable=False),
    Column("rule_on", Boolean, nullable=False),
    # The rolling average response time and its rounds when the rule switched.
    Column("average_seconds", Double, nullable=True),
    Column("rounds", Integer, nullable=True),
    Index("ix_robot_switches_shop", "shop_id", "id"),
)

# The shop's current run of sessions closing unanswered (docs/rules.md 2.2.1, 10 in a row),
# kept in the transaction after each close so that any node continues it.
reply_streaks = Table(
    "reply_streaks",
    metadata,
    Column("shop_id", ForeignKey("shops.id"), primary_key=True, autoincrement=False),
    Column("sessions", JSON, nullable=False),
    # The no_human_reply record raised for this run once it reached the streak length.
    Column("violation_id", ForeignKey("violations.id"), nullable=True),
    Column("updated_at", Double, nullable=False),
)

# The shop robot's knowledge base (docs/robot.md): the shop's own entries. A row whose
# question is a platform default's overrides it; with enabled false it disables it.
knowledge_entries = Table(
    "knowledge_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("question", String(200), nullable=False),
    Column("similar", JSON, nullable=False),
    Column("answer", Text, nullable=False),
    Column("category", String(50), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", Double, nullable=False),
    UniqueConstraint("shop_id", "question", name="uq_knowledge_entries_shop_question"),
)

# --- the full-auto robot (docs/robot-modes.md, "Full-auto"), migration 0011 -----------------

# A shop's own interception words: a buyer message holding one goes to a human at once.
# No row: the platform's default words (feige.robot.retriever.INTERCEPTION_WORDS).
robot_settings = Table(
    "robot_settings",
    metadata,
    Column("shop_id", ForeignKey("shops.id"), primary_key=True, autoincrement=False),
    Column("interception_words", JSON, nullable=False),
    Column("updated_at", Double, nullable=False),
)

# Every session the full-auto robot received: its run of unanswered questions, and when and
# why it was handed to human service (never: a pure-robot session, docs/rules.md 2.1).
robot_sessions = Table(
    "robot_sessions",
    metadata,
    Column("session_id", ForeignKey("sessions.id"), primary_key=True, autoincrement=False),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("answered", Integer, nullable=False, server_default=text("0")),
    Column("misses", Integer, nullable=False, server_default=text("0")),
    Column("handover_reason", String(16), nullable=True),
    Column("handover_detail", String(64), nullable=True),
    Column("handed_over_at", Double, nullable=True),
    Column("opened_at", Double, nullable=False),
    # The buyer message (seq) the robot last took its turn on (migration 0014): a turn is
    # taken once, whichever node takes it.
    Column("last_turn_seq", Integer, nullable=False, server_default=text("0")),
    Index("ix_robot_sessions_shop_opened", "shop_id", "opened_at"),
)

# --- enforcement (docs/rules.md §4, docs/enforcement.md), migration 0009 ---------------------

# Append-only: triggers refuse UPDATE and DELETE on both databases.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Double, nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", BigInteger, nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("shop_id", BigInteger, nullable=True),
    Column("action", String(48), nullable=False),
    Column("record_kind", String(32), nullable=False),
    Column("record_id", String(64), nullable=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(256), nullable=True),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_actor", "actor_kind", "actor_id", "id"),
    Index("ix_audit_log_shop", "shop_id", "id"),
    Index("ix_audit_log_action", "action", "id"),
)

# Violation points: one row per change; the running total is their sum over 12 months.
points_ledger = Table(
    "points_ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("points", Integer, nullable=False),
    Column("category", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    # What the entry comes from: "violation", "assessment" or "appeal" (a reversal) and its id.
    Column("source_kind", String(16), nullable=False),
    Column("source_id", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Index("ix_points_ledger_shop", "shop_id", "created_at"),
    Index("ix_points_ledger_source", "source_kind", "source_id"),
)

# Measures in effect or past: warnings, restrictions, deposit withholdings, order closes.
shop_measures = Table(
    "shop_measures",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("measure", String(24), nullable=False),
    # What led to it: "points" (a threshold crossed) or "assessment" (a failed metric).
    Column("source_kind", String(16), nullable=False),
    Column("source_id", BigInteger, nullable=True),
    Column("details", JSON, nullable=False),
    Column("starts_at", Double, nullable=False),
    Column("ends_at", Double, nullable=True),
    # Reversed on appeal (or lifted by a reviewer): no longer in effect from then on.
    Column("reversed_at", Double, nullable=True),
    Column("created_at", Double, nullable=False),
    # A measure with a duration whose end was told (inbox, sockets, webhook), once: migration 0011.
    Column("ended_at", Double, nullable=True),
    Index("ix_shop_measures_shop", "shop_id", "id"),
    Index("ix_shop_measures_ends", "ended_at", "ends_at"),
)

deposit_ledger = Table(
    "deposit_ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    # In cents: a withholding is negative, its reversal positive.
    Column("amount", BigInteger, nullable=False),
    Column("measure_id", BigInteger, nullable=True),
    Column("reason", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Index("ix_deposit_ledger_shop", "shop_id", "id"),
)

# The shop's inbox: every measure and decision, read or unread.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("read_at", Double, nullable=True),
    Index("ix_notifications_shop", "shop_id", "id"),
)

# The marketplace webhook's outbox: written in the transaction of the change, delivered by
# a background worker until the marketplace answers 2xx (at least once).
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("event_type", String(48), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", Double, nullable=False),
    Column("delivered_at", Double, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", Double, nullable=False),
    Index("ix_webhook_outbox_due", "delivered_at", "next_attempt_at"),
)

# Consumers muted for a time or banned (docs/rules.md 4.2).
consumer_restrictions = Table(
    "consumer_restrictions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("consumer_id", ForeignKey("consumers.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # mute | ban
    Column("violation_id", BigInteger, nullable=True),
    Column("reason", Text, nullable=False),
    Column("starts_at", Double, nullable=False),
    Column("ends_at", Double, nullable=True),  # NULL: until lifted
    Column("lifted_at", Double, nullable=True),
    Column("lifted_by", BigInteger, nullable=True),
    Column("created_by", BigInteger, nullable=False),
    Column("created_at", Double, nullable=False),
    Index("ix_consumer_restrictions_consumer", "consumer_id", "id"),
)

# A shop's appeal against a violation decision or a measure: once, within 7 days.
appeals = Table(
    "appeals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", ForeignKey("shops.id"), nullable=False),
    Column("target_kind", String(16), nullable=False),  # violation | measure
    Column("target_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("images", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | upheld | rejected
    Column("filed_by", BigInteger, nullable=False),
    Column("filed_at", Double, nullable=False),
    Column("decided_by", BigInteger, nullable=True),
    Column("decided_at", Double, nullable=True),
    Column("decision_reason", Text, nullable=True),
    UniqueConstraint("target_kind", "target_id", name="uq_appeals_target"),
    Index("ix_appeals_status", "status", "id"),
)

# The images an appeal carries (uploads of the shop): kept while the appeal refers to them.
appeal_images = Table(
    "appeal_images",
    metadata,
    Column("appeal_id", ForeignKey("appeals.id"), primary_key=True),
    Column("image_id", String(32), primary_key=True, index=True),
)
