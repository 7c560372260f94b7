"""Compliance in the product (rules.md §8–9): check before delivery, keep violation records,
let platform reviewers confirm or dismiss them."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from sqlalchemy import Connection

from feige.domain import FlagReason, MessageKind, ModerationAction
from feige.moderation import CATEGORIES, ModerationConfig, Moderator, Verdict
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.store import repo
from feige.store.tables import violations

Row = dict[str, Any]
# A buyer message blocked for these marks its session risky, hence invalid (rules.md §6).
RISKY_CATEGORIES = frozenset({"fraud", "spam", "abuse"})
PENDING, CONFIRMED, DISMISSED = "pending", "confirmed", "dismissed"


def moderation_config(settings: Any) -> ModerationConfig:
    """The engine's configuration from settings: domains, policy overrides, extra lexicons."""
    base = ModerationConfig()
    policy = dict(base.policy)
    for key, action in settings.moderation_policy.items():
        category, _, role = key.partition(":")
        if category not in CATEGORIES or role not in ("buyer", "agent"):
            raise ValueError(f"moderation_policy: unknown category or role in {key!r}")
        policy[(category, role)] = ModerationAction(action)
    return ModerationConfig(
        platform_domains=tuple(settings.platform_domains),
        policy=policy,
        lexicon_paths=tuple(settings.moderation_lexicon_paths),
    )


def build_moderator(settings: Any) -> Moderator:
    return Moderator(moderation_config(settings))


MUST_WAIT = object()
"""check_now's answer when the verdict needs I/O first (an image, an unknown session)."""


def check_now(ctx: Context, principal: Principal, out: Any) -> Verdict | object | None:
    """The verdict when it can be had without waiting, else ``MUST_WAIT``. Most messages are
    text to a session the node already knows, so the message path rarely yields here."""
    moderator: Moderator | None = ctx.moderator
    if moderator is None or out.kind not in (MessageKind.TEXT, MessageKind.IMAGE):
        return None
    if out.kind != MessageKind.TEXT:
        return MUST_WAIT
    if out.session_id is None:
        recipient = f"shop:{out.shop_id}"
    else:
        parties = ctx.session_parties.get(out.session_id)
        if parties is None:
            return MUST_WAIT
        recipient = _recipient_of(principal, parties)
    return _check_text(moderator, principal, out, recipient)


async def check(ctx: Context, principal: Principal, out: Any) -> Verdict | None:
    """The engine's verdict for a message about to be sent; None when there is nothing to
    check (cards come from the marketplace's own catalogue and order system)."""
    verdict = check_now(ctx, principal, out)
    if verdict is not MUST_WAIT:
        return cast("Verdict | None", verdict)
    moderator: Moderator = ctx.moderator
    if out.kind == MessageKind.TEXT:  # to a session this node has not seen yet
        parties = await ctx.parties(out.session_id)
        # An unknown session: no recipient; the write job answers not_found.
        recipient = _recipient_of(principal, parties) if parties else None
        return _check_text(moderator, principal, out, recipient)
    image = await ctx.db.read(repo.image_by_id, out.content["image_id"])
    if image is None:
        raise NotFound(what="image")
    path = ctx.settings.data_dir / image["path"]
    data = await asyncio.to_thread(path.read_bytes)
    # QR decoding is CPU work: off the event loop.
    return await asyncio.to_thread(
        moderator.check_image, data, principal.sender_role.value, principal.channel
    )


def _recipient_of(principal: Principal, parties: tuple[int, int]) -> str:
    """A consumer writes to a shop; a shop's agent writes to a consumer."""
    shop_id, consumer_id = parties
    return f"shop:{shop_id}" if principal.kind == "consumer" else f"consumer:{consumer_id}"


def _check_text(
    moderator: Moderator, principal: Principal, out: Any, recipient: str | None
) -> Verdict:
    # Repeated advertising is one sender to many recipients (2.2.7); a buyer asking its shop
    # the same question twice is not spam, so the check needs the recipient.
    return moderator.check_text(
        out.content["text"],
        role=principal.sender_role.value,
        sender=principal.channel,
        recipient=recipient,
    )


def record_violation(
    conn: Connection,
    outbox: Outbox,
    *,
    session: Row | None,
    shop_id: int,
    message_id: int | None,
    principal: Principal,
    verdict: Verdict,
    original: dict[str, Any],
    now: float,
    client_id: str | None = None,
) -> int:
    """Store a non-allow verdict for reviewers; a buyer blocked for fraud, spam or abuse
    makes the session risky."""
    evidence = [
        {"category": e.category, "start": e.start, "end": e.end, "detector": e.detector}
        for e in verdict.evidence
    ]
    violation_id = repo.insert_row(
        conn,
        violations,
        kind="message",
        shop_id=shop_id,
        session_id=session["id"] if session else None,
        message_id=message_id,
        sender_role=principal.sender_role.value,
        sender_id=principal.id,
        client_id=client_id,
        categories=list(verdict.categories),
        clauses=list(verdict.clauses),
        evidence=evidence,
        action=verdict.action.value,
        original=original,
        status=PENDING,
        created_at=now,
    )
    if (
        session is not None
        and principal.kind == "consumer"
        and verdict.action is ModerationAction.BLOCK
        and RISKY_CATEGORIES.intersection(verdict.categories)
    ):
        from feige.services.sessions import flag

        flag(conn, outbox, session, FlagReason.RISKY, now)
    outbox.add(
        ("platform:reviewers",), {"type": "violation", "id": violation_id, "shop_id": shop_id}
    )
    return violation_id


def blocked_before(conn: Connection, principal: Principal, client_id: str) -> bool:
    """Whether this sender's message with this client id was already blocked."""
    return repo.blocked_before(conn, principal.sender_role.value, principal.id, client_id)


def violation_view(row: Row, *, with_original: bool) -> Row:
    view = {
        k: row[k]
        for k in (
            "id",
            "kind",
            "shop_id",
            "session_id",
            "message_id",
            "sender_role",
            "sender_id",
            "categories",
            "clauses",
            "evidence",
            "action",
            "status",
            "created_at",
            "reviewed_at",
        )
    }
    if with_original:
        view["original"] = row["original"]
    return view


async def list_violations(
    ctx: Context, principal: Principal, status: str | None, shop_id: int | None, limit: int
) -> list[Row]:
    """Reviewers see every record with the original; a shop's supervisors see their shop's
    records without it."""
    if principal.is_staff:
        with_original = True
    elif principal.is_supervisor:
        shop_id, with_original = principal.shop_id, False
    else:
        raise Forbidden()
    rows = await ctx.db.read(repo.list_violations, status, shop_id, max(1, min(limit, 500)))
    return [violation_view(r, with_original=with_original) for r in rows]


async def review(ctx: Context, principal: Principal, violation_id: int, decision: str) -> Row:
    """A reviewer confirms or dismisses a pending record (rules.md §9)."""
    if not principal.is_staff:
        raise Forbidden()
    if decision not in (CONFIRMED, DISMISSED):
        raise Invalid(detail="decision: confirmed | dismissed")

    def job(conn: Connection) -> Row:
        row = repo.violation_by_id(conn, violation_id)
        if row is None:
            raise NotFound(what="violation")
        if row["status"] != PENDING:
            raise Invalid(detail=f"already {row['status']}")
        now = ctx.clock()
        repo.update_row(
            conn,
            violations,
            violation_id,
            status=decision,
            reviewed_by=principal.id,
            reviewed_at=now,
        )
        return violation_view({**row, "status": decision, "reviewed_at": now}, with_original=True)

    return await ctx.db.write(job)
