"""Compliance in the product (docs/rules.md): check before delivery, keep violation records,
let platform reviewers confirm or dismiss them."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Connection

from feige.domain import FlagReason, MessageKind, ModerationAction
from feige.moderation import AGENT, CATEGORIES, ImageScan, ModerationConfig, Moderator, Verdict
from feige.services.context import Context, Outbox, Principal
from feige.services.errors import Forbidden, Invalid, NotFound
from feige.store import images as image_store
from feige.store import moderation_records, sql
from feige.store.tables import violations

Row = dict[str, Any]
# A buyer message blocked for these marks its session risky: invalid (docs/rules.md §3 (2) note).
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
        max_image_pixels=settings.max_image_pixels,
    )


# Settings the server sends to consumers by itself (welcome, offline and queue prompts).
AUTO_REPLY_SETTINGS = ("default_welcome_message", "offline_prompt", "queue_prompt")


def build_moderator(settings: Any) -> Moderator:
    """The engine, once per process. The auto-replies of the settings are checked here, at
    start: a refused one stops the server naming the setting, as a bad policy does."""
    moderator = Moderator(moderation_config(settings))
    refused = refused_shop_text(
        moderator, {name: getattr(settings, name) for name in AUTO_REPLY_SETTINGS}
    )
    if refused:
        raise ValueError(
            "; ".join(
                f"{name}: refused by moderation ({', '.join(v.categories)}; clause "
                f"{', '.join(v.clauses)})"
                for name, v in refused.items()
            )
        )
    return moderator


# --- shop-side text kept for later (names, welcome messages, quick replies) -----------------


def refused_shop_text(moderator: Moderator, fields: Mapping[str, str | None]) -> dict[str, Verdict]:
    """The fields (name -> verdict) the engine does not allow outright as the shop's text.
    A saved text is sent again and again, so masked or reviewable is not good enough."""
    refused: dict[str, Verdict] = {}
    for name, value in fields.items():
        if value:
            verdict = moderator.check_text(value, role=AGENT)
            if verdict.action is not ModerationAction.ALLOW:
                refused[name] = verdict
    return refused


def require_clean(ctx: Context, **fields: str | None) -> None:
    """Refuse to save shop-side text a consumer will read (422 ``content_refused``, naming the
    fields and the clauses) unless the engine allows it as an agent's message."""
    if ctx.moderator is None:
        return
    refused = refused_shop_text(ctx.moderator, fields)
    if refused:
        verdicts = refused.values()
        raise Invalid(
            "content_refused",
            field=", ".join(refused),
            clauses=", ".join(dict.fromkeys(c for v in verdicts for c in v.clauses)),
            categories=list(dict.fromkeys(c for v in verdicts for c in v.categories)),
        )


def shown_name(moderator: Moderator | None, member: Row) -> str:
    """A member's display name as a consumer may read it (the transfer notice). Names are
    checked when saved; one stored before that, and refused now, shows as the member's id."""
    name = str(member["display_name"])
    if moderator is not None and refused_shop_text(moderator, {"display_name": name}):
        return f"#{member['id']}"
    return name


# --- cards: product and order cards, as messages and as a session's entry card -------------

CARD_KINDS = frozenset({MessageKind.PRODUCT_CARD.value, MessageKind.ORDER_CARD.value})
# The text a card shows, field by field, in the order the engine reads it. Id fields carry
# a label so that an order or product number is read as one (not as a phone number).
CARD_TEXT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    MessageKind.PRODUCT_CARD.value: (("product_id", "商品编号 "), ("title", ""), ("price", "")),
    MessageKind.ORDER_CARD.value: (
        ("order_no", "订单号 "),
        ("title", ""),
        ("amount", ""),
        ("status", ""),
    ),
}
CARD_URL_FIELDS = ("image_url",)


def url_allowed(url: str, domains: tuple[str, ...]) -> bool:
    """http(s) to one of ``domains`` or a subdomain; nothing a browser could read otherwise
    (user info, backslashes, spaces, non-ASCII hosts)."""
    if not url.isascii() or any(ch.isspace() or ch == "\\" or ord(ch) < 32 for ch in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return False
    host = host.rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def check_card_urls(settings: Any, card: Mapping[str, Any], where: str) -> None:
    """Links on a card point to the marketplace's own domains (``card_url_domains``, by
    default ``platform_domains``), or the card is refused (422 ``card_url_refused``)."""
    domains = tuple(
        d.strip().lower().strip(".")
        for d in (settings.card_url_domains or settings.platform_domains)
        if d.strip()
    )
    for name in CARD_URL_FIELDS:
        url = card.get(name)
        if url and not url_allowed(str(url), domains):
            raise Invalid("card_url_refused", field=f"{where}.{name}")


def _opens_with_card(out: Any) -> bool:
    """The send opens a session with an entry card (a consumer's first message to a shop)."""
    return out.entry_card is not None and out.session_id is None


def _document(out: Any) -> tuple[str, list[tuple[str, str, int, int]]]:
    """What the engine reads for a send with cards: every shown field on its own line (so
    each is its own sentence, while a contact split across fields still reads as one), and
    where each field's value lies in it: (part, field, start, end)."""
    lines: list[str] = []
    slots: list[tuple[str, str, int, int]] = []
    at = 0

    def add(part: str, name: str, label: str, value: str) -> None:
        nonlocal at
        if value:
            start = at + len(label)
            lines.append(label + value)
            slots.append((part, name, start, start + len(value)))
            at = start + len(value) + 1

    if out.kind == MessageKind.TEXT:
        add("content", "text", "", out.content["text"])
    else:
        for name, label in CARD_TEXT_FIELDS.get(out.kind, ()):
            add("content", name, label, str(out.content.get(name) or ""))
    if _opens_with_card(out):
        for name, label in CARD_TEXT_FIELDS.get(str(out.entry_card.get("kind")), ()):
            add("entry_card", name, label, str(out.entry_card.get(name) or ""))
    return "\n".join(lines), slots


def _delivered(out: Any, verdict: Verdict) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Content and entry card as the recipient gets them: the masked text put back field by
    field (masking keeps every offset)."""
    shown = verdict.text
    if shown is None:
        return out.content, out.entry_card
    if out.kind == MessageKind.TEXT and not _opens_with_card(out):
        return {**out.content, "text": shown}, out.entry_card
    document, slots = _document(out)
    assert len(shown) == len(document)
    parts: dict[str, dict[str, Any]] = {"content": dict(out.content)}
    if _opens_with_card(out):
        parts["entry_card"] = dict(out.entry_card)
    for part, name, start, end in slots:
        parts[part][name] = shown[start:end]
    return parts["content"], parts.get("entry_card", out.entry_card)


def delivered_content(out: Any, verdict: Verdict) -> dict[str, Any]:
    """The message content the recipient gets for a flagged verdict (masked parts masked)."""
    return _delivered(out, verdict)[0]


def delivered_opening(out: Any, verdict: Verdict | None) -> Any:
    """The send as it opens a session: its entry card masked when the verdict masks it."""
    if verdict is None or verdict.text is None or not _opens_with_card(out):
        return out
    return dataclasses.replace(out, entry_card=_delivered(out, verdict)[1])


def original_of(out: Any) -> dict[str, Any]:
    """What reviewers see of a flagged send: the content, the entry card it opened with, and
    for cards the text the engine read (the evidence offsets are offsets into it)."""
    original = {"kind": out.kind, **out.content}
    if out.kind != MessageKind.TEXT or _opens_with_card(out):
        if _opens_with_card(out):
            original["entry_card"] = out.entry_card
        original["checked_text"] = _document(out)[0]
    return original


MUST_WAIT = object()
"""check_now's answer when the verdict needs I/O first (an image, an unknown session)."""


def check_now(ctx: Context, principal: Principal, out: Any) -> Verdict | object | None:
    """The verdict when it can be had without waiting, else ``MUST_WAIT``. Most messages are
    text to a session the node already knows, so the message path rarely yields here."""
    moderator: Moderator | None = ctx.moderator
    if moderator is None:
        return None
    if out.kind != MessageKind.TEXT:
        if out.kind == MessageKind.IMAGE:
            return MUST_WAIT
        if out.kind not in CARD_KINDS:
            return None
    if out.session_id is None:
        recipient = f"shop:{out.shop_id}"
    else:
        parties = ctx.session_parties.get(out.session_id)
        if parties is None:
            return MUST_WAIT
        recipient = _recipient_of(principal, parties)
    return _check_text(moderator, principal, out, recipient)


async def check(ctx: Context, principal: Principal, out: Any) -> Verdict | None:
    """The engine's verdict for a message about to be sent (text, card, image); None when
    there is nothing to check."""
    verdict = check_now(ctx, principal, out)
    if verdict is not MUST_WAIT:
        return cast("Verdict | None", verdict)
    moderator: Moderator = ctx.moderator
    if out.kind != MessageKind.IMAGE:  # text or a card to a session this node has not seen
        parties = await ctx.parties(out.session_id)
        # An unknown session: no recipient; the write job answers not_found.
        recipient = _recipient_of(principal, parties) if parties else None
        return _check_text(moderator, principal, out, recipient)
    image = await ctx.db.read(image_store.image_with_scan, out.content["image_id"])
    if image is None:
        raise NotFound(what="image")
    if image["scan_sha256"] is not None:
        found = _scan_from_row(image)
    else:  # stored before scans were kept (migration 0005): scan it now, once
        try:
            data = await asyncio.to_thread((ctx.settings.data_dir / image["path"]).read_bytes)
        except OSError as exc:
            raise NotFound(what="image") from exc
        digest = await asyncio.to_thread(sha256_of, data)
        found = await image_scan(ctx, data, digest)
        await ctx.db.write(image_store.set_image_sha256, image["id"], digest)
    return moderator.judge_image(found, principal.sender_role.value)


# --- image scans: once per distinct bytes, off the event loop --------------------------


@dataclasses.dataclass
class ScanGate:
    """Scans running now (one per SHA-256, shared by whoever asks meanwhile) and how many
    may run at once: a scan is seconds of CPU for a large image."""

    slots: asyncio.Semaphore
    running: dict[str, asyncio.Future[ImageScan]] = dataclasses.field(default_factory=dict)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _scan_from_row(row: Row) -> ImageScan:
    return ImageScan(bool(row["readable"]), tuple(row["codes"]), row["error"], row["software"])


def _gate(ctx: Context) -> ScanGate:
    if ctx.image_scan_gate is None:
        ctx.image_scan_gate = ScanGate(
            asyncio.Semaphore(max(1, ctx.settings.image_scan_concurrency))
        )
    return cast(ScanGate, ctx.image_scan_gate)


async def image_scan(ctx: Context, data: bytes, digest: str) -> ImageScan:
    """The engine's findings in these bytes (``digest`` is their SHA-256): the stored scan,
    or a new one made in a worker thread and stored. The findings do not depend on who sends
    the image; ``Moderator.judge_image`` turns them into a verdict per send."""
    stored = await ctx.db.read(image_store.image_scan, digest)
    if stored is not None:
        return _scan_from_row(stored)
    gate = _gate(ctx)
    running = gate.running.get(digest)
    if running is None:
        running = gate.running[digest] = asyncio.ensure_future(
            _scan_and_keep(ctx, gate, data, digest)
        )
        running.add_done_callback(lambda _done: gate.running.pop(digest, None))
    return await asyncio.shield(running)


async def _scan_and_keep(ctx: Context, gate: ScanGate, data: bytes, digest: str) -> ImageScan:
    async with gate.slots:
        stored = await ctx.db.read(image_store.image_scan, digest)  # kept while this one waited
        if stored is not None:
            return _scan_from_row(stored)
        found: ImageScan = await asyncio.to_thread(ctx.moderator.scan_image, data)
    values = {
        "sha256": digest,
        "readable": found.ok,
        "codes": list(found.codes),
        "error": found.error[:200],
        "software": found.software[:64],
        "scanned_at": ctx.clock(),
    }
    await ctx.db.write(lambda conn: image_store.save_image_scan(conn, **values))
    return found


def _recipient_of(principal: Principal, parties: tuple[int, int]) -> str:
    """A consumer writes to a shop; a shop's agent writes to a consumer."""
    shop_id, consumer_id = parties
    return f"shop:{shop_id}" if principal.kind == "consumer" else f"consumer:{consumer_id}"


def _check_text(
    moderator: Moderator, principal: Principal, out: Any, recipient: str | None
) -> Verdict:
    # Repeated advertising is one sender to many recipients (2.2.7); a buyer asking its shop
    # the same question twice is not spam, so the check needs the recipient.
    if out.kind == MessageKind.TEXT and (out.entry_card is None or out.session_id is not None):
        text = out.content["text"]
    else:  # a card, or the first message with the card it opens the session with
        text = _document(out)[0]
    return moderator.check_text(
        text,
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
    violation_id = sql.insert_row(
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
    return moderation_records.blocked_before(
        conn, principal.sender_role.value, principal.id, client_id
    )


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
    rows = await ctx.db.read(
        moderation_records.list_violations, status, shop_id, max(1, min(limit, 500))
    )
    return [violation_view(r, with_original=with_original) for r in rows]


async def review(ctx: Context, principal: Principal, violation_id: int, decision: str) -> Row:
    """A reviewer confirms or dismisses a pending record (docs/rules.md §4)."""
    if not principal.is_staff:
        raise Forbidden()
    if decision not in (CONFIRMED, DISMISSED):
        raise Invalid(detail="decision: confirmed | dismissed")

    def job(conn: Connection) -> Row:
        row = moderation_records.violation_by_id(conn, violation_id)
        if row is None:
            raise NotFound(what="violation")
        if row["status"] != PENDING:
            raise Invalid(detail=f"already {row['status']}")
        now = ctx.clock()
        sql.update_row(
            conn,
            violations,
            violation_id,
            status=decision,
            reviewed_by=principal.id,
            reviewed_at=now,
        )
        return violation_view({**row, "status": decision, "reviewed_at": now}, with_original=True)

    return await ctx.db.write(job)
