"""Scams beyond single words: money routed off the platform (fraud, 2.2.8) and a bad review
held over a consumer (extortion, 2.2.9). Both pair two cue words close together."""

from __future__ import annotations

from feige.moderation import categories as cat
from feige.moderation.detectors.context import SENTENCE_END, DetectionContext, Finding


def find_offplatform_payment(ctx: DetectionContext, found: list[Finding]) -> None:
    """A money word (定金, 尾款 …) next to an off-platform route (私下, 转给我 …) in one
    sentence."""
    money = [h for h in ctx.hits_of("money") if not ctx.allowed(h.start, h.end)]
    if not money:
        return
    for off in ctx.hits_of("offplat"):
        if ctx.allowed(off.start, off.end):
            continue
        for mo in money:
            if abs(mo.start - off.start) > 16:
                continue
            a, b = min(mo.start, off.start), max(mo.end, off.end)
            o_s, o_e = ctx.original_span(a, b)
            if not ctx.clean_between(o_s, o_e, SENTENCE_END):
                continue
            if ctx.cancelled(a, o_s, o_e) or ctx.negated(off.start):
                continue
            found.append(Finding(cat.FRAUD, o_s, o_e, "offplatform_payment"))
            return


def find_review_threats(ctx: DetectionContext, found: list[Finding]) -> None:
    """A review word (差评, 投诉 …) within 30 characters of a threat (你等着 …)."""
    for t in ctx.hits_of("threat"):
        for r in ctx.hits_of("review"):
            if abs(r.start - t.start) <= 30:
                a, b = min(r.start, t.start), max(r.end, t.end)
                o_s, o_e = ctx.original_span(a, b)
                found.append(Finding(cat.EXTORTION, o_s, o_e, "review_threat"))
                return
