"""Product and order cards: the text the engine reads of them, the masked text put back field
by field, the original reviewers see, and the links a card may carry (no I/O)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from feige.config import Settings
from feige.domain import MessageKind
from feige.moderation import Verdict
from feige.services.errors import Invalid

if TYPE_CHECKING:
    from feige.services.lib.outgoing import Outgoing

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


def check_card_urls(settings: Settings, card: Mapping[str, Any], where: str) -> None:
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


def opening_card(out: Outgoing) -> dict[str, Any] | None:
    """The entry card the send opens a session with (a consumer's first message to a shop)."""
    return out.entry_card if out.session_id is None else None


def document(out: Outgoing) -> tuple[str, list[tuple[str, str, int, int]]]:
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
    card = opening_card(out)
    if card is not None:
        for name, label in CARD_TEXT_FIELDS.get(str(card.get("kind")), ()):
            add("entry_card", name, label, str(card.get(name) or ""))
    return "\n".join(lines), slots


def _delivered(out: Outgoing, verdict: Verdict) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Content and entry card as the recipient gets them: the masked text put back field by
    field (masking keeps every offset)."""
    shown = verdict.text
    if shown is None:
        return out.content, out.entry_card
    card = opening_card(out)
    if out.kind == MessageKind.TEXT and card is None:
        return {**out.content, "text": shown}, out.entry_card
    text, slots = document(out)
    assert len(shown) == len(text)
    parts: dict[str, dict[str, Any]] = {"content": dict(out.content)}
    if card is not None:
        parts["entry_card"] = dict(card)
    for part, name, start, end in slots:
        parts[part][name] = shown[start:end]
    return parts["content"], parts.get("entry_card", out.entry_card)


def delivered_content(out: Outgoing, verdict: Verdict) -> dict[str, Any]:
    """The message content the recipient gets for a flagged verdict (masked parts masked)."""
    return _delivered(out, verdict)[0]


def delivered_opening(out: Outgoing, verdict: Verdict | None) -> Outgoing:
    """The send as it opens a session: its entry card masked when the verdict masks it."""
    if verdict is None or verdict.text is None or opening_card(out) is None:
        return out
    return dataclasses.replace(out, entry_card=_delivered(out, verdict)[1])


def original_of(out: Outgoing) -> dict[str, Any]:
    """What reviewers see of a flagged send: the content, the entry card it opened with, and
    for cards the text the engine read (the evidence offsets are offsets into it)."""
    original = {"kind": out.kind, **out.content}
    card = opening_card(out)
    if out.kind != MessageKind.TEXT or card is not None:
        if card is not None:
            original["entry_card"] = card
        original["checked_text"] = document(out)[0]
    return original
