"""The full-auto robot inside a write job (docs/robot-modes.md, "Full-auto"; docs/rules.md
2.1, 2.2.1, §3 note 1): the buyer's messages it must look at, what it needs to answer, its
answer or its silence (a run of unanswered questions), and the hand-over to human service.

A session the robot receives has the state ``robot`` and no human entry. The hand-over routes
it like a new session (``assignment.route``): assigned, queued or left as an offline
message; that moment is its human entry, and a buyer question still unanswered then opens a
round at that moment (docs/rules.md §3 (1), "At the human entry"). A session never handed
over is a pure-robot session: in no metric; its rating is the robot's satisfaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from feige import i18n
from feige.config import Settings
from feige.domain import MessageKind, Row, SenderRole, SessionState
from feige.robot import full_auto as decisions
from feige.robot.full_auto import Turn
from feige.robot.retriever import INTERCEPTION_WORDS
from feige.services import channels
from feige.services.context import Outbox, Principal
from feige.services.errors import Invalid, NotFound
from feige.services.lib import assignment, conversation, knowledge
from feige.services.lib.tenancy import visible_session
from feige.services.lib.views import session_view
from feige.store import accounts as account_store
from feige.store import robot_sessions as robot_store
from feige.store import sessions as session_store

#: An outbox item with no audience: the node's ``FullAutoWatch`` sees it, nobody else.
ROBOT_TURN = "robot_turn"
#: Most interception words a shop may set, and the longest one.
MAX_WORDS, MAX_WORD_CHARS = 100, 20


def note_buyer(outbox: Outbox, session: Row, message: Row) -> None:
    """In the consumer's send job: a message to the robot is the robot's turn next."""
    if session["state"] != SessionState.ROBOT:
        return
    text = message["content"].get("text") if message["kind"] == MessageKind.TEXT else None
    outbox.add(
        (),
        {
            "type": ROBOT_TURN,
            "session_id": session["id"],
            "shop_id": session["shop_id"],
            "seq": message["seq"],
            "text": text,
        },
    )


def words_of(conn: Connection, shop_id: int) -> list[str]:
    """The shop's interception words: its own, or the platform's defaults."""
    own = robot_store.interception_words(conn, shop_id)
    return own if own is not None else list(INTERCEPTION_WORDS)


def turn_input(conn: Connection, session_id: int) -> Row | None:
    """What the robot needs for a buyer message of this session: the shop's entries, the
    placeholders' context and interception words, and whether the shop still runs full-auto;
    None when the robot no longer serves the session."""
    session = session_store.session_by_id(conn, session_id)
    if session is None or session["state"] != SessionState.ROBOT:
        return None
    shop = account_store.shop_by_id(conn, session["shop_id"])
    return {
        "shop_id": session["shop_id"],
        "full_auto": assignment.robot_receives(conn, session["shop_id"]),
        "entries": tuple(knowledge.shop_entries(conn, session["shop_id"])),
        "context": knowledge.answer_context(session, shop["name"] if shop else None),
        "words": tuple(words_of(conn, session["shop_id"])),
    }


def _served(conn: Connection, session_id: int) -> tuple[Row, Row] | None:
    """The session and its robot record, under the shop's lock, while the robot serves it."""
    session = session_store.session_by_id(conn, session_id)
    if session is None or session["state"] != SessionState.ROBOT:
        return None
    shop = account_store.lock_shop(conn, session["shop_id"])
    assert shop is not None
    session = session_store.session_by_id(conn, session_id)  # again, under the lock
    if session is None or session["state"] != SessionState.ROBOT:
        return None
    record = robot_store.session_row(conn, session_id)
    if record is None:  # received before its record existed: keep one from now
        robot_store.add_session(conn, session_id, session["shop_id"], session["opened_at"])
        record = robot_store.session_row(conn, session_id)
        assert record is not None
    return session, {**record, "shop": shop}


def robot_turn(
    conn: Connection,
    outbox: Outbox,
    session_id: int,
    seq: int,
    turn: Turn,
    settings: Settings,
    now: float,
) -> Row | None:
    """The robot's turn on buyer message ``seq``: its answer (a ``robot`` message), a
    hand-over, or an unanswered question — the ``robot_handover_after_unanswered``-th in a
    row hands over too. None when the robot no longer serves the session."""
    served = _served(conn, session_id)
    if served is None:
        return None
    session, record = served
    if seq <= record["last_turn_seq"]:
        return None  # taken already (by another node's sweep, or before it)
    robot_store.update_session(conn, session_id, last_turn_seq=seq)
    if turn.kind != "handover":
        conversation.read_by_robot(conn, outbox, session, seq)
    if turn.kind == "answer":
        assert turn.text is not None
        message = conversation.append_message(
            conn,
            outbox,
            session,
            role=SenderRole.ROBOT,
            sender_id=None,
            kind=MessageKind.TEXT.value,
            content={"text": turn.text, "question": turn.question, "reply_to": seq},
            now=now,
        )
        robot_store.update_session(conn, session_id, answered=record["answered"] + 1, misses=0)
        return {"answered": message["id"]}
    if turn.kind == "handover":
        assert turn.reason is not None
        return hand_over(conn, outbox, session, record, turn.reason, turn.detail, settings, now)
    misses = record["misses"] + 1
    robot_store.update_session(conn, session_id, misses=misses)
    if misses >= settings.robot_handover_after_unanswered:
        return hand_over(
            conn, outbox, session, record, decisions.UNANSWERED, str(misses), settings, now
        )
    # A notice, never a holding reply: a system message answers nothing (docs/rules.md §3 (1)).
    conversation.system_notice(conn, outbox, session, i18n.text("robot_missed"), now)
    return {"missed": misses}


def hand_over(
    conn: Connection,
    outbox: Outbox,
    session: Row,
    record: Row,
    reason: str,
    detail: str | None,
    settings: Settings,
    now: float,
) -> Row:
    """Hand a robot session to human service (its human entry), the buyer told, the reason
    kept with the notice and pushed as a ``handover`` event. ``pending``: the buyer's last
    question was still unanswered, so its round starts now (docs/rules.md §3 (1))."""
    pending = robot_store.last_talk_role(conn, session["id"]) == SenderRole.BUYER.value
    handover = {"reason": reason, "detail": detail, "pending": pending}
    conversation.append_message(
        conn,
        outbox,
        session,
        role=SenderRole.SYSTEM,
        sender_id=None,
        kind=MessageKind.TEXT.value,
        content={"text": i18n.text("handover_notice"), "handover": handover},
        now=now,
    )
    robot_store.update_session(
        conn,
        session["id"],
        handover_reason=reason,
        handover_detail=(detail or None) and str(detail)[:64],
        handed_over_at=now,
    )
    assignment.route(conn, outbox, session, record["shop"], settings, now)
    outbox.add(
        channels.session_audience(session),
        {
            "type": "handover",
            "session_id": session["id"],
            "shop_id": session["shop_id"],
            "at": now,
            **handover,
            "session": session_view(session),
        },
    )
    return {"handover": handover, "session": session_view(session)}


def request_handover(
    conn: Connection,
    outbox: Outbox,
    principal: Principal,
    session_id: int,
    settings: Settings,
    now: float,
) -> Row:
    """The buyer pressed 转人工. Pressed again after the hand-over: the session as it is."""
    session = visible_session(conn, principal, session_id)
    if session["state"] == SessionState.CLOSED:
        raise Invalid("session_closed")
    served = _served(conn, session_id)
    if served is None:
        record = robot_store.session_row(conn, session_id)
        if record is None or record["handed_over_at"] is None:
            raise Invalid("not_robot_session")
        fresh = session_store.session_by_id(conn, session_id)
        assert fresh is not None
        return {"handover": None, "session": session_view(fresh)}
    session, record = served
    return hand_over(conn, outbox, session, record, decisions.BUTTON, None, settings, now)


def hand_over_all(
    conn: Connection, outbox: Outbox, shop_id: int, reason: str, settings: Settings, now: float
) -> int:
    """Every session the shop's robot still serves goes to human service (the shop left
    full-auto)."""
    handed = 0
    for session_id in robot_store.served_sessions(conn, shop_id):
        served = _served(conn, session_id)
        if served is not None:
            hand_over(conn, outbox, *served, reason, None, settings, now)
            handed += 1
    return handed


# --- the shop's interception words ---------------------------------------------------------


def interception_view(conn: Connection, shop_id: int) -> Row:
    if account_store.shop_by_id(conn, shop_id) is None:
        raise NotFound(what="shop")
    own = robot_store.interception_words(conn, shop_id)
    return {
        "shop_id": shop_id,
        "words": own if own is not None else list(INTERCEPTION_WORDS),
        "defaults": list(INTERCEPTION_WORDS),
        "custom": own is not None,
    }


def clean_words(words: Any) -> list[str]:
    """1–20 characters each, at most 100, duplicates dropped; a clear error otherwise."""
    if not isinstance(words, list) or len(words) > MAX_WORDS:
        raise Invalid(detail=f"words: a list of at most {MAX_WORDS}")
    out: list[str] = []
    for word in words:
        if not isinstance(word, str) or not 1 <= len(word.strip()) <= MAX_WORD_CHARS:
            raise Invalid(detail=f"words: 1–{MAX_WORD_CHARS} characters each")
        if word.strip() not in out:
            out.append(word.strip())
    return out


def put_interception_words(conn: Connection, shop_id: int, words: list[str], now: float) -> Row:
    if account_store.shop_by_id(conn, shop_id) is None:
        raise NotFound(what="shop")
    robot_store.put_interception_words(conn, shop_id, words, now)
    return interception_view(conn, shop_id)


def pending_turns(conn: Connection, since: float, before: float, limit: int) -> list[Row]:
    """Buyer messages to the robot that no turn has taken (their node died first), as the
    send job would have marked them (``note_buyer``)."""
    out = []
    for row in robot_store.pending_turns(conn, since, before, limit):
        content = row["content"] or {}
        text = content.get("text") if row["kind"] == MessageKind.TEXT else None
        out.append(
            {
                "session_id": row["session_id"],
                "shop_id": row["shop_id"],
                "seq": row["seq"],
                "text": text,
            }
        )
    return out
