"""The robot's assist mode inside a job (docs/robot-modes.md, "Assist"): what the robot needs
to suggest answers for a buyer message, and its own reply when no agent answered in time.

A reply is written only while the shop's effective mode is assist, the session is open and
its last round is still the buyer's: the robot never answers twice without the buyer writing
in between, nor after an agent (on any node) answered.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from feige.domain import MessageKind, Row, SenderRole, SessionState
from feige.metrics.rolling import ASSIST
from feige.services.context import Outbox
from feige.services.errors import NotFound
from feige.services.lib import conversation, knowledge, robot_mode
from feige.store import accounts as account_store
from feige.store import robot as robot_store
from feige.store import sessions as session_store

#: How the consumer's side labels the robot's own replies (docs/rules.md §3 note 1).
AUTO_REPLY_LABEL = "此消息由机器人自动回复"


def _assisted_session(conn: Connection, session_id: int, now: float | None = None) -> Row | None:
    """The session, when it is open and its shop's robot runs in assist mode (by hand, by
    rule or forced by an enforcement measure), else None."""
    session = session_store.session_by_id(conn, session_id)
    if session is None or session["state"] == SessionState.CLOSED:
        return None
    if robot_mode.current_mode(conn, session["shop_id"], now)["mode"] != ASSIST:
        return None
    return session


def assist_inputs(
    conn: Connection,
    session_ids: list[int],
    shop_of: dict[int, int],
    now: float | None = None,
    shop_assists: dict[int, bool] | None = None,
) -> dict[int, Row]:
    """What suggestions for these sessions' buyer texts need, by session: its agent, the
    shop's entries (the robot is built from them and the platform defaults) and the
    placeholders' context; sessions the robot does not assist are left out. One read job
    for a batch of texts: each shop's mode (and, when it assists, its entries and name) is
    read once, and a session whose shop is known (``shop_of``: fixed for a session's life)
    is not read at all when that shop does not assist. ``shop_assists``: whether shops
    assist, as the caller last read it (trusted, not read again); the shops read here are
    added to it."""
    assisted: dict[int, bool] = shop_assists if shop_assists is not None else {}
    shops: dict[int, tuple[str | None, tuple[Any, ...]]] = {}
    found: dict[int, Row] = {}

    def assists(shop_id: int) -> bool:
        if shop_id not in assisted:
            try:
                mode = robot_mode.current_mode(conn, shop_id, now)["mode"]
            except NotFound:
                mode = None
            assisted[shop_id] = mode == ASSIST
        return assisted[shop_id]

    for session_id in dict.fromkeys(session_ids):
        known_shop = shop_of.get(session_id)
        if known_shop is not None and not assists(known_shop):
            continue
        session = session_store.session_by_id(conn, session_id)
        if session is None or session["state"] == SessionState.CLOSED:
            continue
        shop_id = session["shop_id"]
        if not assists(shop_id):
            continue
        if shop_id not in shops:
            shop = account_store.shop_by_id(conn, shop_id)
            shops[shop_id] = (
                shop["name"] if shop else None,
                tuple(knowledge.shop_entries(conn, shop_id)),
            )
        name, entries = shops[shop_id]
        found[session_id] = {
            "shop_id": shop_id,
            "agent_id": session["agent_id"],
            "entries": entries,
            "context": knowledge.answer_context(session, name),
        }
    return found


def auto_reply(
    conn: Connection,
    outbox: Outbox,
    session_id: int,
    buyer_seq: int,
    question: str,
    text: str,
    now: float,
) -> Row | None:
    """The robot answers buyer message ``buyer_seq``, still the session's last unanswered
    one, as ``robot_assist`` (a human reply in every metric, docs/rules.md §3 note 1); None
    when that no longer applies (answered, or the buyer wrote again: a newer question).
    The session's row is held first: two nodes giving the same round's reply at once (its
    node's timer, and the sweep of another that took it for dead) check one after the other,
    and the second finds the round answered."""
    session_store.lock_session(conn, session_id)
    session = _assisted_session(conn, session_id, now)
    if session is None:
        return None
    if robot_store.last_round_message(conn, session_id) != (SenderRole.BUYER.value, buyer_seq):
        return None
    return conversation.append_message(
        conn,
        outbox,
        session,
        role=SenderRole.ROBOT_ASSIST,
        sender_id=None,
        kind=MessageKind.TEXT.value,
        content={"text": text, "suggestion": question},
        now=now,
    )


def unanswered_buyer_texts(conn: Connection, since: float, before: float, limit: int) -> list[Row]:
    """Buyer texts still their session's last message, sent between ``since`` and
    ``before``: rounds whose node may have died with the auto-reply's timer."""
    return robot_store.unanswered_buyer_texts(conn, since, before, limit)
