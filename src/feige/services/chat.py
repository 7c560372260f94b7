"""Sending, reading and typing: the message path of architecture.md.

validate → (moderation) → one write job (idempotent on the client's message id, next
sequence number, session event) → ack after commit → publish to every socket concerned.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection

from feige.domain import Entry, MessageKind, ModerationAction, SessionState
from feige.moderation import Verdict
from feige.services import compliance, reception
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from feige.services.sessions import visible_session
from feige.store import accounts as account_store
from feige.store import images as image_store
from feige.store import messages as message_store
from feige.store import moderation_records, sql
from feige.store import sessions as session_store
from feige.store.tables import sessions

Row = dict[str, Any]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _invisible_characters() -> str:
    """Whitespace, control and format characters (zero-width spaces and joiners, bidi marks,
    the BOM, tag characters) and the Hangul fillers: a text made only of these shows nothing,
    so it counts as blank."""
    ranges = (range(0x10000), range(0x1D173, 0x1D17B), range(0xE0000, 0xE0080))
    chars = [
        chr(cp)
        for r in ranges
        for cp in r
        if chr(cp).isspace() or unicodedata.category(chr(cp)) in ("Cc", "Cf")
    ]
    return "".join(chars) + "\u115f\u1160\u3164\uffa0\u2800"


INVISIBLE = _invisible_characters()
_INVISIBLE_SET = frozenset(INVISIBLE)


def is_blank(text: str) -> bool:
    """Nothing visible: empty, or only whitespace, control and zero-width characters.
    Ordinary text is decided by its first character after the plain strip."""
    text = text.strip()
    return not text or (text[0] in _INVISIBLE_SET and not text.strip(INVISIBLE))


class TextContent(_Strict):
    text: str = Field(min_length=1)


class ImageContent(_Strict):
    image_id: str = Field(min_length=1, max_length=32)


class ProductCard(_Strict):
    product_id: str = Field(min_length=1, max_length=64)
    title: str = Field(default="", max_length=200)
    price: str = Field(default="", max_length=32)
    image_url: str = Field(default="", max_length=500)


class OrderCard(_Strict):
    order_no: str = Field(min_length=1, max_length=64)
    title: str = Field(default="", max_length=200)
    amount: str = Field(default="", max_length=32)
    status: str = Field(default="", max_length=32)


CONTENT_MODELS: dict[str, type[_Strict]] = {
    MessageKind.TEXT: TextContent,
    MessageKind.IMAGE: ImageContent,
    MessageKind.PRODUCT_CARD: ProductCard,
    MessageKind.ORDER_CARD: OrderCard,
}


ENTRIES = frozenset(e.value for e in Entry)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A validated send request."""

    client_id: str
    kind: str
    content: dict[str, Any]
    session_id: int | None = None
    shop_id: int | None = None
    entry: str = Entry.DIRECT.value
    entry_card: dict[str, Any] | None = None


def validate_send(ctx: Context, frame: dict[str, Any]) -> Outgoing:
    """Check a send request's shape before it costs a transaction."""
    client_id = frame.get("client_id")
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
        raise Invalid("malformed", detail="client_id: 1–64 characters")
    kind = frame.get("kind")
    if not isinstance(kind, str) or kind not in CONTENT_MODELS:
        raise Invalid("unknown_kind", kind=str(kind)[:32])
    content = frame.get("content")
    if not isinstance(content, dict):
        raise Invalid("malformed", detail="content must be an object")
    text = content.get("text")
    if kind == MessageKind.TEXT and isinstance(text, str) and len(content) == 1:
        # The common case, checked without a model: one non-blank string within the limit.
        if len(text) > ctx.settings.max_text_chars:
            raise Invalid("too_large", limit=ctx.settings.max_text_chars)
        if is_blank(text):  # NUL never gets this far: api/checks.py and the socket refuse it
            raise Invalid("malformed", detail="empty text")
        checked: dict[str, Any] = {"text": text}
    else:
        try:
            checked = CONTENT_MODELS[kind].model_validate(content).model_dump()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "content"
            raise Invalid("malformed", detail=f"{where}: {first['msg']}") from exc
        if kind in compliance.CARD_KINDS:
            compliance.check_card_urls(ctx.settings, checked, "content")
    session_id, shop_id = frame.get("session_id"), frame.get("shop_id")
    if not (_is_id(session_id) or _is_id(shop_id)):
        raise Invalid("malformed", detail="session_id or shop_id required")
    entry = frame.get("entry", Entry.DIRECT.value)
    if not isinstance(entry, str) or entry not in ENTRIES:
        raise Invalid("malformed", detail="entry")
    entry_card = frame.get("entry_card")
    if entry_card is not None:
        entry_card = _validate_entry_card(entry_card)
        compliance.check_card_urls(ctx.settings, entry_card, "entry_card")
    return Outgoing(
        client_id,
        kind,
        checked,
        session_id if _is_id(session_id) else None,
        shop_id if _is_id(shop_id) else None,
        entry,
        entry_card,
    )


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**62


def _validate_entry_card(card: Any) -> dict[str, Any]:
    if not isinstance(card, dict):
        raise Invalid("malformed", detail="entry_card")
    kind = card.get("kind")
    cards: dict[str, type[_Strict]] = {"product_card": ProductCard, "order_card": OrderCard}
    model = cards.get(str(kind))
    if model is None:
        raise Invalid("malformed", detail="entry_card.kind")
    body = {k: v for k, v in card.items() if k != "kind"}
    try:
        return {"kind": kind, **model.model_validate(body).model_dump()}
    except ValidationError as exc:
        raise Invalid("malformed", detail="entry_card") from exc


@dataclass
class SendLane:
    """One connection's sends, kept in arrival order. A send whose check must wait (for the
    store, for an image scan) holds the lock until its job is queued to the writer; while any
    send waits, later ones queue behind it instead of overtaking."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


def ack_view(message: Row, duplicate: bool) -> Row:
    """The ack carries the stored message itself: the sending socket gets no separate
    message event for it (the sender's other sockets do)."""
    return {
        "op": "ack",
        "client_id": message["client_id"],
        "message_id": message["id"],
        "session_id": message["session_id"],
        "seq": message["seq"],
        "created_at": message["created_at"],
        "duplicate": duplicate,
        "message": reception.message_view(message),
    }


def _open_session(
    conn: Connection,
    outbox: Outbox,
    consumer_id: int,
    shop_id: int,
    out: Outgoing,
    settings: Any,
    now: float,
) -> Row:
    """The consumer's message opens a session when none is open (docs/rules.md §2.1)."""
    if account_store.shop_by_id(conn, shop_id) is None:
        raise NotFound(what="shop")
    if moderation_records.is_blacklisted(conn, shop_id, consumer_id):
        raise Forbidden("blacklisted")
    existing = session_store.open_session_for(conn, shop_id, consumer_id)
    if existing is not None:
        return existing
    session = reception.open_session(conn, shop_id, consumer_id, out.entry, out.entry_card, now)
    reception.route_new_session(conn, outbox, session, settings, now)
    return session


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
        if account_store.shop_by_id(conn, out.shop_id) is None:
            raise NotFound(what="shop")
        session = session_store.open_session_for(conn, out.shop_id, principal.id)
    shop_id = session["shop_id"] if session else out.shop_id
    assert shop_id is not None
    if not compliance.blocked_before(conn, principal, out.client_id):
        compliance.record_violation(
            conn,
            outbox,
            session=session,
            shop_id=shop_id,
            message_id=None,
            principal=principal,
            verdict=verdict,
            original=compliance.original_of(out),
            now=now,
            client_id=out.client_id,
        )
    return {
        "blocked": True,
        "clauses": list(verdict.clauses),
        "categories": list(verdict.categories),
    }


def _is_resend(conn: Connection, earlier: Row, out: Outgoing) -> bool:
    """Is ``out`` the message stored as ``earlier`` sent again (same target, kind and
    content), rather than a new message that reuses its client id? Only runs when the client
    id was seen before, so the message path pays nothing for it."""
    if earlier["kind"] != out.kind:
        return False
    if out.session_id is not None:
        if earlier["session_id"] != out.session_id:
            return False
    else:
        session = session_store.session_by_id(conn, earlier["session_id"])
        if session is None or session["shop_id"] != out.shop_id:
            return False
    if earlier["content"] == out.content:
        return True
    # Stored masked: compare with the original the violation record keeps for reviewers.
    original = moderation_records.masked_original(
        conn, earlier["sender_role"], earlier["sender_id"], out.client_id, earlier["id"]
    )
    return original is not None and original == {"kind": out.kind, **out.content}


def _send(
    conn: Connection,
    outbox: Outbox,
    principal: Principal,
    out: Outgoing,
    settings: Any,
    now: float,
    verdict: Verdict | None = None,
) -> Row:
    role = principal.sender_role
    earlier = message_store.message_by_client_id(conn, role.value, principal.id, out.client_id)
    if earlier is not None:
        if not _is_resend(conn, earlier, out):
            raise Conflict("idempotency_conflict", client_id=out.client_id)
        return ack_view(earlier, duplicate=True)
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
            opening = compliance.delivered_opening(out, verdict)  # its entry card, checked
            session = _open_session(conn, outbox, principal.id, out.shop_id, opening, settings, now)
    else:
        if out.session_id is None:
            raise Invalid("malformed", detail="session_id required")
        session = visible_session(conn, principal, out.session_id)
        if session["state"] == SessionState.CLOSED:
            raise Invalid("session_closed")
        if session["agent_id"] != principal.id or session["state"] != SessionState.ASSIGNED:
            raise Forbidden("not_your_session")
    if out.kind == MessageKind.IMAGE:
        image = image_store.image_by_id(conn, out.content["image_id"])
        if (
            image is None
            or image["session_id"] != session["id"]
            or image["uploader_id"] != principal.id
        ):
            raise NotFound(what="image")
    content = out.content
    flagged = verdict is not None and verdict.action is not ModerationAction.ALLOW
    if flagged and verdict is not None and verdict.text is not None:
        # Masked (text or card fields): the original is for reviewers.
        content = compliance.delivered_content(out, verdict)
    if out.kind == MessageKind.ORDER_CARD:
        # The order number as delivered: a masked one stays masked in searches too.
        session["order_no"] = content["order_no"]
        sql.update_row(conn, sessions, session["id"], order_no=session["order_no"])
    message = reception.append_message(
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
    ack = ack_view(message, duplicate=False)
    if flagged and verdict is not None:
        compliance.record_violation(
            conn,
            outbox,
            session=session,
            shop_id=session["shop_id"],
            message_id=message["id"],
            principal=principal,
            verdict=verdict,
            original=compliance.original_of(out),
            now=now,
            client_id=out.client_id,  # a resend finds the original here (_is_resend)
        )
        ack["moderation"] = {"action": verdict.action.value, "clauses": list(verdict.clauses)}
    return ack


async def send(
    ctx: Context,
    principal: Principal,
    frame: dict[str, Any],
    lane: SendLane | None = None,
    skip: Any = None,
) -> Row:
    """Validate, commit, then acknowledge with the server id and sequence number.

    ``lane`` keeps one connection's sends in arrival order (see ``SendLane``). ``skip`` is
    the sending socket: its ack carries the message, so it gets no message event.
    """
    if principal.kind == "staff":
        raise Forbidden()
    outbox = Outbox()
    out = validate_send(ctx, frame)
    lane = lane or SendLane()
    # Nobody waiting ahead and a verdict without waiting: queue at once, without yielding.
    verdict = compliance.MUST_WAIT if lane.waiting else compliance.check_now(ctx, principal, out)
    if verdict is compliance.MUST_WAIT:
        lane.waiting += 1
        try:
            async with lane.lock:
                verdict = await compliance.check(ctx, principal, out)
                committed = ctx.db.submit(
                    _send, principal, out, ctx.settings, ctx.clock(), verdict, outbox=outbox
                )
        finally:
            lane.waiting -= 1
    else:
        committed = ctx.db.submit(
            _send, principal, out, ctx.settings, ctx.clock(), verdict, outbox=outbox
        )
    ack: Row = await committed
    await ctx.publish(outbox, skip=skip, skip_message=ack.get("message_id"))
    if ack.get("blocked"):
        raise Forbidden("blocked", clauses=", ".join(ack["clauses"]), categories=ack["categories"])
    return ack


def _read(conn: Connection, outbox: Outbox, principal: Principal, session_id: int, seq: int) -> Row:
    session = visible_session(conn, principal, session_id)
    column = "consumer_read_seq" if principal.kind == "consumer" else "agent_read_seq"
    if principal.kind == "member" and session["agent_id"] != principal.id:
        raise Forbidden("not_your_session")
    seq = min(seq, session["last_seq"])
    if seq > session[column]:
        session[column] = seq
        sql.update_row(conn, sessions, session_id, **{column: seq})
        outbox.add(
            reception.audience(session),
            {"type": "read", "session_id": session_id, "reader": principal.kind, "seq": seq},
        )
    return {"session_id": session_id, column: session[column]}


async def mark_read(ctx: Context, principal: Principal, session_id: int, seq: int) -> Row:
    """Read receipt: the reader has seen everything up to ``seq``."""
    if principal.kind == "staff":
        raise Forbidden()
    if not _is_id(session_id) or not isinstance(seq, int) or seq < 0:
        raise Invalid("malformed", detail="session_id / seq")
    outbox = Outbox()
    result: Row = await ctx.db.write(_read, principal, session_id, seq, outbox=outbox)
    await ctx.publish(outbox)
    return result


async def typing(ctx: Context, principal: Principal, session_id: int) -> None:
    """Typing indicators go straight to the broker; they are never stored."""
    if principal.kind == "staff":
        raise Forbidden()  # reviewers read sessions; they do not take part in them
    if not _is_id(session_id):
        raise Invalid("malformed", detail="session_id")
    session = await ctx.db.read(visible_session, principal, session_id)
    if session["state"] == SessionState.CLOSED:
        return
    outbox = Outbox()
    outbox.add(
        reception.audience(session),
        {"type": "typing", "session_id": session_id, "who": principal.kind, "id": principal.id},
    )
    await ctx.publish(outbox)


async def history(
    ctx: Context,
    principal: Principal,
    session_id: int,
    *,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[Row]:
    """A page of a session's messages, oldest first."""
    limit = max(1, min(limit, 500))

    def job(conn: Connection) -> list[Row]:
        visible_session(conn, principal, session_id)
        return message_store.messages_page(conn, session_id, after_seq, before_seq, limit)

    return [reception.message_view(m) for m in await ctx.db.read(job)]


async def missed(
    ctx: Context, principal: Principal, wanted: dict[int, int], limit: int
) -> tuple[list[Row], bool]:
    """What a reconnecting client missed, per session after the seq it has, at most ``limit``
    messages and whether there are more; unknown or foreign sessions are skipped silently (the
    client asked; it learns nothing)."""

    def job(conn: Connection) -> list[Row]:
        def visible() -> Iterator[tuple[int, int]]:
            # Lazily: sessions after a full page are not even looked up.
            for session_id, after in wanted.items():
                try:
                    visible_session(conn, principal, session_id)
                except ServiceError:
                    continue
                yield session_id, after

        return message_store.messages_after(conn, visible(), limit + 1)

    rows = await ctx.db.read(job)
    return [reception.message_view(m) for m in rows[:limit]], len(rows) > limit
