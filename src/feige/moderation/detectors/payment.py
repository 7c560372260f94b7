"""Third-party payment (2.2.3): bank cards next to a bank or payment cue, payment accounts,
payment links carried by QR codes."""

from __future__ import annotations

import re

from stdnum import luhn

from feige.moderation import categories as cat
from feige.moderation.detectors.contact import id_after
from feige.moderation.detectors.context import DetectionContext, Finding
from feige.moderation.detectors.links import EMAIL

#: Bank cards: a whole run of 16-19 digits (a digit first, so that the search skips ahead in C
#: to one; the same matches as ``(?<![0-9])[0-9]{16,19}(?![0-9])``).
CARD = re.compile(r"[0-9](?<![0-9][0-9])[0-9]{15,18}(?![0-9])")
#: Cues that name a card outright: a number after one is a card even with a bad checksum
#: (then doubtful).
_STRONG_CARD_CUES = frozenset({"卡号", "银行卡", "账号", "帐号", "户名", "开户行", "储蓄卡"})
_PAYMENT_SCHEMES = ("wxp://", "alipay", "https://qr.alipay.com", "upi://")
_PAYMENT_HOSTS = ("qr.alipay.com", "wx.tenpay.com", "payapp.weixin", "qr.95516")


def find_bank_cards(ctx: DetectionContext, found: list[Finding]) -> None:
    s = ctx.views.compact
    w = ctx.config.card_cue_window
    for m in CARD.finditer(s):
        cues = ctx.near("bank", m.start(), m.end(), w, w) + ctx.near(
            "pay", m.start(), m.end(), w, w
        )
        if not cues:
            continue
        nearest_cue = max(c.end for c in cues if c.end <= m.start()) if any(
            c.end <= m.start() for c in cues) else -1  # fmt: skip
        if any(nearest_cue < c.end <= m.start() for c in ctx.hits_of("ctx")):
            continue
        strong = any(s[c.start : c.end] in _STRONG_CARD_CUES for c in cues)
        ok = luhn.is_valid(m.group())
        if not ok and not strong:
            continue
        o_s, o_e = ctx.original_span(m.start(), m.end())
        if not ctx.cancelled(m.start(), o_s, o_e):
            found.append(Finding(cat.THIRD_PARTY_PAYMENT, o_s, o_e, "bank_card", not ok))


def find_pay_accounts(ctx: DetectionContext, found: list[Finding]) -> None:
    """A payment cue (支付宝, zfb, 财付通 …) followed by an account id or e-mail address."""
    for h in ctx.hits_of("pay"):
        if ctx.allowed(h.start, h.end):
            continue
        id_end = id_after(ctx, h.end)
        o_s = ctx.original_span(h.start, h.end)[0]
        if id_end is not None:
            o_e = ctx.original_span(h.start, id_end)[1]
        else:
            m = EMAIL.search(ctx.views.wide, ctx.original_span(h.start, h.end)[1])
            if m is None or m.start() - ctx.original_span(h.start, h.end)[1] > 6:
                continue
            o_e = m.end()
        if not ctx.cancelled(h.start, o_s, o_e):
            found.append(Finding(cat.THIRD_PARTY_PAYMENT, o_s, o_e, "pay_account"))


def is_payment_link(code: str) -> bool:
    """A QR code's content that pays someone (WeChat Pay, Alipay, UnionPay, UPI)."""
    low = code.lower()
    return low.startswith(_PAYMENT_SCHEMES) or any(k in low for k in _PAYMENT_HOSTS)
