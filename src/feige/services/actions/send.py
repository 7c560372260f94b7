"""Sending a message: the message path of docs/architecture.md.

validate → (moderation) → one write job (idempotent on the client's message id, next
sequence number, session event) → commit → the events published; the caller acks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from feige.config import Settings
from feige.domain import MessageKind, ModerationAction, Row, SenderRole, SessionState
from feige.moderation import Verdict
from feige.realtime.broker import Origin
from feige.services.context import Context, Outbox, Principal, SendLane
from feige.services.errors import Conflict, Forbidden, Invalid
from feige.services.lib import (
    assignment,
    cards,
    conversation,
    enforcement,
    full_auto,
    images,
    moderation_records,
    screening,
)
from feige.services.lib.outgoing import Outgoing, validate_send
from feige.services.lib.tenancy import visible_session
from feige.services.lib.views import message_view


async def send(
    ctx: Context, principal: Principal, frame: dict[str, Any], origin: Origin | None = None
) -> Row:
    """Validate, commit, then return what the ack says: the server id and sequence number.

    ``origin`` is the socket the frame came from: its sends keep their arrival order even
    when one has to wait (a lane per socket while anything waits), and its ack carries the
    message, so it gets no message event for it.
    """
    if principal.kind == "staff":
        raise Forbidden()
    outbox = Outbox()
    out = _marked(principal, validate_send(ctx.settings, frame), frame.get("suggestion"))
    lane = ctx.send_lanes.get(origin) if origin is not None else None
    # Nobody waiting ahead and a verdict without waiting: queue at once, without yielding.
    verdict = screening.MUST_WAIT if lane is not None else screening.check_now(ctx, principal, out)
    if verdict is screening.MUST_WAIT:
        if lane is None:
            lane = SendLane()
            if origin is not None:
                ctx.send_lanes[origin] = lane
        lane.waiting += 1
        try:
            async with lane.lock:
                verdict = await screening.check(ctx, principal, out)
                committed = ctx.db.submit(
                    _send,
                    principal,
                    out,
                    ctx.settings,
                    ctx.clock(),
                    verdict,
                    outbox=outbox,
                    batched=_send_many,
                )
        finally:
            lane.waiting -= 1
            if not lane.waiting and origin is not None:
                del ctx.send_lanes[origin]
    else:
        committed = ctx.db.submit(
            _send,
            principal,
            out,
            ctx.settings,
            ctx.clock(),
            verdict,
            outbox=outbox,
            batched=_send_many,
        )
    ack: Row = await committed
    await ctx.publish(outbox, origin=origin, acked_message=ack.get("message_id"))
    if ack.get("blocked"):
        raise Forbidden("blocked", clauses=", ".join(ack["clauses"]), categories=ack["categories"])
    return ack


def _marked(principal: Principal, out: Outgoing, suggestion: Any) -> Outgoing:
    """An agent's text sent from one of the robot's suggestions (docs/robot-modes.md) keeps
    the suggestion's standard question with the message (``content.suggestion``); it is sent
    as ``robot_assist``."""
    if suggestion is None:
        return out
    if principal.kind != "member" or out.kind != MessageKind.TEXT:
        raise Invalid("malformed", detail="suggestion: an agent's text only")
    if not isinstance(suggestion, str) or not 1 <= len(suggestion.strip()) <= 200:
        raise Invalid("malformed", detail="suggestion: 1–200 characters")
    return replace(out, content={**out.content, "suggestion": suggestion.strip()})


def _acked(message: Row, duplicate: bool) -> Row:
    """The ack carries the stored message itself: the sending socket gets no separate
    message event for it (the sender's other sockets do)."""
    return {
        "client_id": message["client_id"],
        "message_id": message["id"],
        "session_id": message["session_id"],
        "seq": message["seq"],
        "created_at": message["created_at"],
        "duplicate": duplicate,
        "message": message_view(message),
    }


def _send(
    conn: Connection,
    outbox: Outbox,
    principal: Principal,
    out: Outgoing,
    settings: Settings,
    now: float,
    verdict: Verdict | None = None,
) -> Row:
    # A robot suggestion an agent sends with a click is the robot's reply in intelligent-assist
    # mode (docs/rules.md "Sender roles"), sent under the agent's id.
    role = SenderRole.ROBOT_ASSIST if "suggestion" in out.content else principal.sender_role
    earlier = conversation.earlier_message(conn, principal, out.client_id)
    if earlier is not None:
        if not conversation.is_resend(conn, earlier, out):
            raise Conflict("idempotency_conflict", client_id=out.client_id)
        return _acked(earlier, duplicate=True)
    enforcement.check_sender(conn, principal, out.kind, now)  # muted, banned, restricted
    if verdict is not None and verdict.action is ModerationAction.BLOCK:
        return _blocked(conn, outbox, principal, out, verdict, now)
    if principal.kind == "consumer":
        if out.session_id is not None:
            session = visible_session(conn, principal, out.session_id, with_blacklist=True)
            if session["state"] == SessionState.CLOSED:
                raise Invalid("session_closed")
            if session.pop("blacklisted"):
                raise Forbidden("blacklisted")
        else:
            assert out.shop_id is not None
            opening = cards.delivered_opening(out, verdict)  # its entry card, checked
            session = assignment.session_to_shop(
                conn, outbox, principal.id, out.shop_id, opening, settings, now
            )
    else:
        if out.session_id is None:
            raise Invalid("malformed", detail="session_id required")
        session = visible_session(conn, principal, out.session_id)
        if session["state"] == SessionState.CLOSED:
            raise Invalid("session_closed")
        if session["agent_id"] != principal.id or session["state"] != SessionState.ASSIGNED:
            raise Forbidden("not_your_session")
    if out.kind == MessageKind.IMAGE:
        images.sent_image(conn, principal, session, out.content["image_id"])
    content = out.content
    flagged = verdict is not None and verdict.action is not ModerationAction.ALLOW
    if flagged and verdict is not None and verdict.text is not None:
        # Masked (text or card fields): the original is for reviewers.
        content = cards.delivered_content(out, verdict)
    if out.kind == MessageKind.ORDER_CARD:
        # The order number as delivered: a masked one stays masked in searches too.
        conversation.set_order_no(conn, session, content["order_no"])
    message = conversation.append_message(
        conn,
        outbox,
        session,
        role=role,
        sender_id=principal.id,
        kind=out.kind,
        content=content,
        now=now,
        client_id=out.client_id,
    )
    if principal.kind == "consumer":
        full_auto.note_buyer(outbox, session, message)  # the full-auto robot's turn next
    ack = _acked(message, duplicate=False)
    if flagged and verdict is not None:
        moderation_records.record_violation(
            conn,
            outbox,
            session=session,
            shop_id=session["shop_id"],
            message_id=message["id"],
            principal=principal,
            verdict=verdict,
            original=cards.original_of(out),
            now=now,
            client_id=out.client_id,  # a resend finds the original here (is_resend)
        )
        ack["moderation"] = {"action": verdict.action.value, "clauses": list(verdict.clauses)}
    return ack


def _blocked(
    conn: Connection,
    outbox: Outbox,
    principal: Principal,
    out: Outgoing,
    verdict: Verdict,
    now: float,
) -> Row:
    """Not delivered: keep the record for reviewers and tell the sender which clause."""
    if out.session_id is not None:
        session: Row | None = visible_session(conn, principal, out.session_id)
    else:
        assert out.shop_id is not None
        session = conversation.find_open_session(conn, out.shop_id, principal.id)
    shop_id = session["shop_id"] if session else out.shop_id
    assert shop_id is not None
    if not moderation_records.blocked_before(conn, principal, out.client_id):
        moderation_records.record_violation(
            conn,
            outbox,
            session=session,
            shop_id=shop_id,
            message_id=None,
            principal=principal,
            verdict=verdict,
            original=cards.original_of(out),
            now=now,
            client_id=out.client_id,
        )
    return {
        "blocked": True,
        "clauses": list(verdict.clauses),
        "categories": list(verdict.categories),
    }


# --- the same job for many sends at once (PostgreSQL) ------------------------------------------


def _send_many(
    conn: Connection, jobs: list[tuple[Any, tuple[Any, ...]]], last: bool = False
) -> list[Row]:
    """``_send`` for consecutive send jobs of a group commit, as the writer hands them over
    on PostgreSQL (store/db.py, ``batched``): the acks of the first ones, as many as are
    plain new messages to sessions their senders may write to, in two round trips for all
    (``conversation.append_plain``). At the first send that is anything else (a resend, a
    refusal, an opening, an image, a flagged text…) it stops: the writer runs that one with
    ``_send``, which decides it, then hands the rest back here. ``last`` (the batch's last
    jobs): if it takes them all, the COMMIT goes with its insert (store/db.py)."""
    plain: list[conversation.PlainSend] = []
    for outbox, (principal, out, _settings, now, verdict) in jobs:
        if (
            out.kind != MessageKind.TEXT
            or out.session_id is None
            or principal.kind == "staff"
            or (verdict is not None and verdict.action is not ModerationAction.ALLOW)
        ):
            break
        role = SenderRole.ROBOT_ASSIST if "suggestion" in out.content else principal.sender_role
        plain.append(
            conversation.PlainSend(
                outbox, principal, out.session_id, role, out.kind, out.content, out.client_id, now
            )
        )
    if not plain:
        return []
    acks = []
    for send, (message, session) in zip(
        plain,
        conversation.append_plain(conn, plain, commit=last and len(plain) == len(jobs)),
        strict=False,
    ):
        if send.principal.kind == "consumer":
            full_auto.note_buyer(send.outbox, session, message)  # as ``_send`` does
        acks.append(_acked(message, duplicate=False))
    return acks
