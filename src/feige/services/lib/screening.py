"""The moderation engine in the product, before any write: the engine built from settings,
a send's verdict (now, or after the I/O it needs), image scans once per distinct bytes, and
the shop-side text a consumer will read (names, welcome messages, quick replies)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Mapping
from typing import cast

from feige.config import Settings
from feige.domain import MessageKind, ModerationAction, Row
from feige.moderation import AGENT, CATEGORIES, ImageScan, ModerationConfig, Moderator, Verdict
from feige.services import channels
from feige.services.context import Context, Principal
from feige.services.errors import Invalid, NotFound
from feige.services.lib.cards import CARD_KINDS, document, opening_card
from feige.services.lib.outgoing import Outgoing
from feige.store import images as image_store
from feige.store import sessions as session_store


def moderation_config(settings: Settings) -> ModerationConfig:
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


def build_moderator(settings: Settings) -> Moderator:
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


MUST_WAIT = object()
"""check_now's answer when the verdict needs I/O first (an image, an unknown session)."""


def check_now(ctx: Context, principal: Principal, out: Outgoing) -> Verdict | object | None:
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


async def check(ctx: Context, principal: Principal, out: Outgoing) -> Verdict | None:
    """The engine's verdict for a message about to be sent (text, card, image); None when
    there is nothing to check."""
    verdict = check_now(ctx, principal, out)
    if verdict is not MUST_WAIT:
        return cast("Verdict | None", verdict)
    moderator: Moderator = ctx.moderator
    if out.kind != MessageKind.IMAGE:  # text or a card to a session this node has not seen
        assert out.session_id is not None
        parties = await session_parties(ctx, out.session_id)
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
    return ImageScan(
        bool(row["readable"]),
        tuple(row["codes"]),
        row["error"],
        row["software"],
        row["text"] or "",
        bool(row["text_complete"]),
    )


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
        "text": found.text[:4000],
        "text_complete": found.text_complete,
        "scanned_at": ctx.clock(),
    }
    await ctx.db.write(lambda conn: image_store.save_image_scan(conn, **values))
    return found


def _recipient_of(principal: Principal, parties: tuple[int, int]) -> str:
    """A consumer writes to a shop; a shop's agent writes to a consumer."""
    shop_id, consumer_id = parties
    if principal.kind == "consumer":
        return f"shop:{shop_id}"
    return channels.account("consumer", consumer_id)


def _check_text(
    moderator: Moderator, principal: Principal, out: Outgoing, recipient: str | None
) -> Verdict:
    # Repeated advertising is one sender to many recipients (2.2.7); a buyer asking its shop
    # the same question twice is not spam, so the check needs the recipient.
    # A text in an open session is read with the sender's previous short pieces there (a
    # contact sent in pieces); the window lives in this process's engine (docs/moderation.md).
    # Each piece is kept with its client id, so that the record of the message that completes
    # a split contact can name the stored messages it completes (moderation_records).
    session_id = None
    if out.kind == MessageKind.TEXT and opening_card(out) is None:
        text = out.content["text"]
        session_id = out.session_id
    else:  # a card, or the first message with the card it opens the session with
        text = document(out)[0]
    return moderator.check_text(
        text,
        role=principal.sender_role.value,
        sender=principal.channel,
        recipient=recipient,
        session=session_id,
        ref=out.client_id,
    )


async def session_parties(ctx: Context, session_id: int) -> tuple[int, int] | None:
    """A session's (shop id, consumer id), remembered by the node: fixed for its life."""
    known = ctx.session_parties.get(session_id)
    if known is None:
        row = await ctx.db.read(session_store.session_by_id, session_id)
        if row is None:
            return None
        if len(ctx.session_parties) >= 200_000:
            ctx.session_parties.clear()
        known = ctx.session_parties[session_id] = (row["shop_id"], row["consumer_id"])
    return known
