"""Migration 0003 keeps every session's event record, in the same order, on both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import create_engine, insert, select

from feige.store import events as event_store
from feige.store.migrate import alembic_config
from feige.store.tables import consumers, messages, session_events, sessions, shops
from tests.integration.harness import fresh_database_url

# An old-style record (0002): every message also stored as a "message" event, in event order.
OLD_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("open", {"consumer": "1", "entry": "product"}),
    ("message", {"role": "buyer", "kind": "text"}),
    ("offline", {}),
    ("assigned", {"agent": "7"}),
    ("message", {"role": "system", "kind": "text"}),
    ("message", {"role": "agent", "kind": "text", "agent": "7"}),
    ("message", {"role": "robot_assist", "kind": "product_card", "agent": "7"}),
    ("closed", {}),
    ("rated", {"score": 4}),
]
MESSAGES = [("buyer", 1), ("system", None), ("agent", 7), ("robot_assist", 7)]


def _seed(conn: Any) -> None:
    conn.execute(
        insert(shops).values(
            id=1, name="店铺", routing_mode="priority", welcome_message="", created_at=0.0
        )
    )
    conn.execute(insert(consumers).values(id=1, external_id="c1", nickname="买家", created_at=0.0))
    conn.execute(
        insert(sessions).values(
            id=1,
            shop_id=1,
            consumer_id=1,
            state="closed",
            entry="product",
            opened_at=0.0,
            last_activity_at=0.0,
            last_seq=len(MESSAGES),
        )
    )
    for seq, (role, sender) in enumerate(MESSAGES, 1):
        kind = "product_card" if role == "robot_assist" else "text"
        conn.execute(
            insert(messages).values(
                session_id=1,
                seq=seq,
                sender_role=role,
                sender_id=sender,
                kind=kind,
                content={"text": "…"},
                created_at=100.0 + seq,
            )
        )
    for n, (type_, data) in enumerate(OLD_EVENTS):
        conn.execute(
            insert(session_events).values(
                session_id=1, shop_id=1, type=type_, ts=100.0 + n, data=data
            )
        )


def test_0003_moves_message_events_to_messages_and_back(tmp_path: Path) -> None:
    engine = create_engine(fresh_database_url(tmp_path))
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0002")
    with engine.begin() as conn:
        _seed(conn)

    command.upgrade(cfg, "head")
    with engine.begin() as conn:
        stored = conn.execute(select(session_events.c.type, session_events.c.after_seq)).all()
        merged = event_store.session_events_for(conn, [1])
    assert ("message", 0) not in stored and len(stored) == 5
    assert dict(stored) == {"open": 0, "offline": 1, "assigned": 1, "closed": 4, "rated": 4}
    assert [(row["type"], row["data"]) for row in merged] == OLD_EVENTS
    assert [row["id"] for row in merged] == list(range(len(OLD_EVENTS)))

    command.downgrade(cfg, "0002")
    with engine.begin() as conn:
        rows = conn.execute(
            select(session_events.c.type, session_events.c.data).order_by(session_events.c.id)
        ).all()
    restored = [data for type_, data in rows if type_ == "message"]
    assert restored == [data for type_, data in OLD_EVENTS if type_ == "message"]
    engine.dispose()
