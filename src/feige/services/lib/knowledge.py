"""The robot's knowledge base inside a job: a shop's entries, saving, replacing, deleting;
and the robot built from them (cached per distinct set of entries)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

from feige.domain import Row
from feige.robot import AnswerContext, KnowledgeEntry, Robot
from feige.robot.defaults import merge, platform_defaults
from feige.robot.wordvectors import packaged_encoder
from feige.services.errors import NotFound
from feige.store import knowledge as knowledge_store


def as_entry(row: Row) -> KnowledgeEntry:
    return KnowledgeEntry(
        question=row["question"],
        answer=row["answer"],
        similar=tuple(row["similar"] or ()),
        category=row["category"],
        enabled=bool(row["enabled"]),
    )


def entry_view(entry: KnowledgeEntry, source: str, overridden: bool = False) -> Row:
    return {
        "question": entry.question,
        "similar_questions": list(entry.similar),
        "answer": entry.answer,
        "category": entry.category,
        "enabled": entry.enabled,
        "source": source,
        **({"overridden": overridden} if source == "platform" else {}),
    }


def shop_entries(conn: Connection, shop_id: int) -> list[KnowledgeEntry]:
    return [as_entry(r) for r in knowledge_store.entries_of(conn, shop_id)]


def knowledge_view(conn: Connection, shop_id: int) -> Row:
    """The shop's entries and the platform's defaults, each marked overridden or not."""
    own = shop_entries(conn, shop_id)
    taken = {e.question for e in own}
    return {
        "entries": [entry_view(e, "shop") for e in own],
        "defaults": [entry_view(e, "platform", e.question in taken) for e in platform_defaults()],
    }


def _values(entry: KnowledgeEntry, now: float) -> dict[str, Any]:
    return {
        "question": entry.question,
        "similar": list(entry.similar),
        "answer": entry.answer,
        "category": entry.category,
        "enabled": entry.enabled,
        "updated_at": now,
    }


def put_entry(conn: Connection, shop_id: int, entry: KnowledgeEntry, now: float) -> Row:
    """Create the shop's entry for this standard question, or replace it."""
    row = knowledge_store.entry_by_question(conn, shop_id, entry.question)
    if row is None:
        knowledge_store.insert_entry(conn, shop_id=shop_id, **_values(entry, now))
    else:
        knowledge_store.update_entry(conn, int(row["id"]), **_values(entry, now))
    return entry_view(entry, "shop")


def remove_entry(conn: Connection, shop_id: int, question: str) -> None:
    row = knowledge_store.entry_by_question(conn, shop_id, question)
    if row is None:
        raise NotFound(what="knowledge entry")
    knowledge_store.delete_entry(conn, int(row["id"]))


def replace_entries(
    conn: Connection, shop_id: int, entries: Sequence[KnowledgeEntry], now: float
) -> int:
    """The shop's entries become exactly these (an import: all rows or none)."""
    knowledge_store.delete_entries_of(conn, shop_id)
    for entry in entries:
        knowledge_store.insert_entry(conn, shop_id=shop_id, **_values(entry, now))
    return len(entries)


@lru_cache(maxsize=32)
def robot_for(entries: tuple[KnowledgeEntry, ...], word_vectors: str = "") -> Robot:
    """The robot over a shop's entries and the defaults it keeps (built once per content),
    with the word vectors the setting names (``robot_word_vectors``: "" = the packaged ones;
    read once per process)."""
    return Robot(merge(entries), encoder=packaged_encoder(word_vectors))


def answer_context(session: Row, shop_name: str | None) -> AnswerContext:
    """The placeholders' values: the card the buyer came from, the session's order, the shop."""
    card: dict[str, Any] = session.get("entry_card") or {}
    product = card if card.get("kind") == "product_card" else {}
    order = card if card.get("kind") == "order_card" else {}
    return AnswerContext(
        product_title=product.get("title") or None,
        product_price=product.get("price") or None,
        product_id=product.get("product_id") or None,
        order_id=order.get("order_no") or session.get("order_no") or None,
        order_status=order.get("status") or None,
        shop_name=shop_name,
    )
