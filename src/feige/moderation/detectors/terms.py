"""Lexicon terms of every category: abuse, political, porn, ads, scam scripts, misuse …"""

from __future__ import annotations

from feige.moderation import categories as cat
from feige.moderation.detectors.context import DetectionContext, Finding

#: Categories whose hits a nearby negation or warning cancels ("不要加微信", "请勿线下转账").
NEGATABLE = frozenset(
    {
        cat.THIRD_PARTY_LINK,
        cat.THIRD_PARTY_CONTACT,
        cat.THIRD_PARTY_PAYMENT,
        cat.THIRD_PARTY_AD,
        cat.SPAM,
        cat.FRAUD,
        cat.MISUSE,
    }
)

#: Categories whose hits a denial cancels ("我不会骚扰你的", "我们不卖黄片"); abuse words
#: stay (profanity is vulgar whatever denies it).
DENIABLE = frozenset({cat.PORN_VULGAR_VIOLENCE, cat.EXTORTION})


def find_terms(ctx: DetectionContext, found: list[Finding]) -> None:
    for h in ctx.hits_of("term"):
        if ctx.allowed(h.start, h.end):
            continue
        o_s, o_e = ctx.original_span(h.start, h.end)
        if h.tag.category in NEGATABLE and ctx.cancelled(h.start, o_s, o_e):
            continue
        if h.tag.category in DENIABLE and ctx.denied(h.start, h.end):
            continue
        found.append(Finding(h.tag.category, o_s, o_e, "lexicon", h.tag.doubtful))
