"""Knowledge entries and the answer placeholders filled from the session's context.

A placeholder is a Chinese name in single braces, ``{商品标题}``: merchants write answers in
Excel, so the names are the words they already use. The set is closed (``PLACEHOLDERS``); an
unknown name is an error when the entry is saved or imported, never text a buyer sees. When the
session lacks a value the answer cannot be sent: the robot then does not answer with that entry
(it never sends a half-filled sentence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Placeholder name -> the ``AnswerContext`` field that fills it.
PLACEHOLDERS: dict[str, str] = {
    "商品标题": "product_title",
    "商品价格": "product_price",
    "商品编号": "product_id",
    "订单号": "order_id",
    "订单状态": "order_status",
    "店铺名称": "shop_name",
}

_PLACEHOLDER = re.compile(r"\{([^{}\s]{1,20})\}")


@dataclass(frozen=True, slots=True)
class KnowledgeEntry:
    """One question the robot can answer.

    ``question`` is the standard question (unique within a knowledge base); ``similar`` are
    the other ways buyers ask it. ``image`` and ``product_card`` are references (a stored image
    id, a product id) sent with the text; the CSV/XLSX format carries only the four text
    columns. ``default`` marks one of the platform's default entries (``defaults``): a shop's
    own entry goes before one it nearly ties with.
    """

    question: str
    answer: str
    similar: tuple[str, ...] = ()
    category: str = ""
    enabled: bool = True
    image: str | None = None
    product_card: str | None = None
    default: bool = False

    @property
    def questions(self) -> tuple[str, ...]:
        """The standard question first, then the similar ones."""
        return (self.question, *self.similar)


@dataclass(frozen=True, slots=True)
class AnswerContext:
    """What the session knows: the product or order card the buyer came from, the shop."""

    product_title: str | None = None
    product_price: str | None = None
    product_id: str | None = None
    order_id: str | None = None
    order_status: str | None = None
    shop_name: str | None = None


def placeholders_in(text: str) -> list[str]:
    """Every ``{name}`` in the text, in order (known or not)."""
    return _PLACEHOLDER.findall(text)


def unknown_placeholders(text: str) -> list[str]:
    """The placeholder names that no context can fill (an import/save error)."""
    return [name for name in placeholders_in(text) if name not in PLACEHOLDERS]


def fill_answer(text: str, context: AnswerContext | None) -> str | None:
    """The answer with its placeholders filled, or None when a value is missing."""
    names = placeholders_in(text)
    if not names:
        return text
    if context is None:
        return None
    values: dict[str, str] = {}
    for name in names:
        attr = PLACEHOLDERS.get(name)
        value = getattr(context, attr) if attr else None
        if value is None or str(value).strip() == "":
            return None
        values[name] = str(value)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
