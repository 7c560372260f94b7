"""A send request checked into an ``Outgoing`` before it costs a transaction: its shape,
size and kind, visible text, cards' links (no I/O)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feige.config import Settings
from feige.domain import Entry, MessageKind
from feige.services.errors import Invalid
from feige.services.lib.cards import CARD_KINDS, check_card_urls


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


def validate_send(settings: Settings, frame: dict[str, Any]) -> Outgoing:
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
        if len(text) > settings.max_text_chars:
            raise Invalid("too_large", limit=settings.max_text_chars)
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
        if kind in CARD_KINDS:
            check_card_urls(settings, checked, "content")
    session_id, shop_id = frame.get("session_id"), frame.get("shop_id")
    if not (is_id(session_id) or is_id(shop_id)):
        raise Invalid("malformed", detail="session_id or shop_id required")
    entry = frame.get("entry", Entry.DIRECT.value)
    if not isinstance(entry, str) or entry not in ENTRIES:
        raise Invalid("malformed", detail="entry")
    entry_card = frame.get("entry_card")
    if entry_card is not None:
        entry_card = _validate_entry_card(entry_card)
        check_card_urls(settings, entry_card, "entry_card")
    return Outgoing(
        client_id,
        kind,
        checked,
        session_id if is_id(session_id) else None,
        shop_id if is_id(shop_id) else None,
        entry,
        entry_card,
    )


def is_id(value: Any) -> bool:
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
