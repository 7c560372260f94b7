"""Third-party contact details (2.2.3): IM ids and cues, phone numbers, a physical store
offered to visit. Numbers are read in the compact view (digits joined across separators)."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from feige.moderation import categories as cat
from feige.moderation.detectors.context import (
    ASCII_LETTERS,
    SENTENCE_END,
    DetectionContext,
    Finding,
)

#: 11-digit mainland mobile numbers, optionally with the 86 country code.
MOBILE = re.compile(r"(?<![0-9])(?:0{0,2}86)?(1[3-9][0-9]{9})(?![0-9])")
#: Landlines with area code (010-12345678, 0755 1234 5678) and 400/800 hotlines.
LANDLINE = re.compile(r"(?<![0-9])(0[1-9][0-9]{1,2}[2-9][0-9]{6,7}|[48]00[0-9]{7})(?![0-9])")
#: A whole run of 10-15 digits: the only place where ``MOBILE`` or ``LANDLINE`` can match
#: (each takes a whole run). Starts with a character class, so that the search skips ahead in
#: C to a digit.
PHONE_RUN = re.compile(r"[0-9](?<![0-9][0-9])[0-9]{9,14}(?![0-9])")
#: Local numbers without area code: only with a phone cue just before.
LOCAL = re.compile(r"[0-9]{7,8}(?![0-9])")
#: Anything worth a closer look in the compact view (digit runs that could be numbers).
#: (``[0-9][0-9]{4}``, not ``[0-9]{5}``: a pattern that starts with a repeat is tried at every
#: position; one that starts with a character class skips ahead in C. The same matches.)
DIGITS5 = re.compile(r"[0-9][0-9]{4}")
#: An id after an IM cue: WeChat ids (letter first, 6-20), QQ numbers (5-11 digits), phones.
ID_RUN = re.compile(r"[a-z0-9]{5,30}(?![a-z0-9])")
#: A street address in the compact view.
ADDRESS = re.compile(
    r"(?:路|街|大道|巷|弄|胡同)[0-9]+号"
    r"|[0-9]+(?:号楼|号铺|号档|号店|栋|楼|层|室|号)"
    r"|(?:大厦|广场|商场|市场|商城|批发城|大楼|商业街|步行街|购物中心|中心店)"
    r"|(?:省|市|区|县|镇)\S{0,6}(?:路|街|大道)"
)
#: Allocated mainland mobile prefixes (the same table phonenumbers uses, as one regex: a
#: phonenumbers parse costs tens of microseconds, this a fraction of one).
_MOBILE_PREFIX = re.compile(
    r"1(?:3\d|4[57]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])\d{8}|1610\d{7}"
)
#: ASCII letters allowed right before a phone number (cue words, not tracking prefixes).
_PHONE_PREFIXES = frozenset(
    {"tel", "phone", "mobile", "call", "dh", "v", "vx", "wx", "q", "qq", "weixin", "wechat"}
)
#: Delivery context before a phone number: the buyer's own receiving number.
_DELIVERY = ("收货", "收件", "寄件", "联系人", "退货", "寄回", "退回", "售后地址", "仓库")
_DELIVERY_RX = re.compile("|".join(_DELIVERY))
#: Everything up to the last sentence end (``match(text, 0, pos)``): where the sentence
#: holding ``pos`` starts, in one pass (an ``rfind`` per stop character cost six times more).
_UP_TO_LAST_STOP = re.compile(
    ".*[" + "".join(re.escape(c) for c in sorted(SENTENCE_END)) + "]", re.DOTALL
).match
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def valid_mobile(digits: str) -> bool:
    """An allocated mainland mobile number; phonenumbers decides the one mixed block (174)."""
    if _MOBILE_PREFIX.fullmatch(digits) is not None:
        return True
    return digits.startswith("174") and _valid_number("+86" + digits)


def valid_landline(digits: str) -> bool:
    if digits.startswith(("400", "800")):
        return True
    return _valid_number("+86" + digits[1:])


@lru_cache(maxsize=4096)
def _valid_number(e164: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False


def id_after(ctx: DetectionContext, end: int) -> int | None:
    """End (compact) of an id starting within ``im_gap`` chars after ``end``: the account an
    IM or payment cue names."""
    s = ctx.views.compact
    limit = min(len(s), end + ctx.config.im_gap + 1)
    for i in range(end, limit):
        if s[i] in _ASCII_ALNUM:
            if any(end <= c.start <= i for c in ctx.hits_of("ctx")):
                return None
            m = ID_RUN.match(s, i)
            if m is None:
                return None
            ident = m.group()
            if ident.isdigit() and len(ident) > 12:
                return None  # order-like numbers, not QQ ids or phones
            return m.end()
    return None


def _size_or_model(ctx: DetectionContext, cue_end: int, id_end: int) -> bool:
    """The "id" after a cue is capitals alone, without a digit or a lowercase letter
    (S/M/L/XL): a list of sizes, not an account."""
    s = ctx.views.compact
    start = cue_end
    while start < id_end and s[start] not in _ASCII_ALNUM:
        start += 1
    o_s, o_e = ctx.original_span(start, id_end)
    original = ctx.text[o_s:o_e]
    if not s[start:id_end].isalpha():
        return False
    return any(c.isupper() for c in original) and not any(c.islower() for c in original)


def find_im_contacts(ctx: DetectionContext, found: list[Finding]) -> None:
    """An IM cue followed by an id, preceded by a diverting verb or followed by 联系/详聊."""
    pays = ctx.hits_of("pay")
    for h in ctx.hits_of("im"):
        if ctx.allowed(h.start, h.end):
            continue
        if any(p.start <= h.start and h.end <= p.end and p.end - p.start > h.end - h.start
               for p in pays):  # fmt: skip
            continue  # 微信支付, 微信转账: the payment detectors read it
        id_end = id_after(ctx, h.end)
        if id_end is not None and _size_or_model(ctx, h.end, id_end):
            continue
        if id_end is not None:
            o_s, o_e = ctx.original_span(h.start, id_end)
            if not ctx.cancelled(h.start, o_s, o_e):
                found.append(Finding(cat.THIRD_PARTY_CONTACT, o_s, o_e, "im_id"))
            continue
        verbs = [
            b
            for b in ctx.hits_of("verb")
            if h.start - 1 <= b.end <= h.start and not ctx.allowed(b.start, b.end)
        ]
        after = [a for a in ctx.hits_of("after") if h.end <= a.start <= h.end + 2]
        if not verbs and not after:
            continue
        start_c = min([b.start for b in verbs] + [h.start])
        o_s, o_e = ctx.original_span(h.start, h.end)
        if not ctx.cancelled(start_c, o_s, o_e):
            found.append(Finding(cat.THIRD_PARTY_CONTACT, o_s, o_e, "im_cue"))


def reads_as_phone(ctx: DetectionContext, start: int, letters_before: bool = True) -> bool:
    """False when the number reads as an order/tracking number or a delivery number."""
    s = ctx.views.compact
    last_cue = -1  # where the last phone or IM cue before the number ends
    for kind in ("phone", "im"):
        for h in ctx.hits_of(kind):
            if last_cue < h.end <= start:
                last_cue = h.end
    for c in ctx.hits_of("ctx"):
        if start - 8 <= c.end <= start and c.end > last_cue:
            return False
    o_start = ctx.views.starts[start]
    text = ctx.text
    before = _UP_TO_LAST_STOP(text, 0, o_start)
    sentence_start = 0 if before is None else before.end()
    if _DELIVERY_RX.search(text, sentence_start, o_start) is not None:
        return False  # the buyer's receiving number, a return address
    if not letters_before:
        return True  # number words: Latin letters before them are words, not a prefix
    j = start
    while j > 0 and s[j - 1] in ASCII_LETTERS:
        j -= 1
    return not (j < start and s[j:start] not in _PHONE_PREFIXES)


def find_phones(ctx: DetectionContext, found: list[Finding]) -> None:
    """Mobile numbers, landlines with area code, local numbers right after a phone cue."""
    s = ctx.views.compact
    spans: list[tuple[int, int]] = []
    # Both patterns take a whole run of 10-15 digits: they are tried at the start of each
    # such run (``PHONE_RUN``), which finds what ``finditer`` finds without trying them at
    # every position of the text.
    starts = [r.start() for r in PHONE_RUN.finditer(s)]
    for at in starts:
        m = MOBILE.match(s, at)
        if m is not None and valid_mobile(m.group(1)) and reads_as_phone(ctx, at):
            spans.append((at, m.end()))
    for at in starts:
        m = LANDLINE.match(s, at)
        if m is not None and valid_landline(m.group(1)) and reads_as_phone(ctx, at):
            spans.append((at, m.end()))
    n = len(s)
    for h in ctx.hits_of("phone"):
        for at in range(h.end, min(h.end + 4, n)):
            if at and s[at - 1].isdigit():
                continue  # inside a number: not where a local number starts
            m2 = LOCAL.match(s, at)
            if m2:
                spans.append((m2.start(), m2.end()))
                break
    for a, b in spans:
        o_s, o_e = ctx.original_span(a, b)
        if not ctx.cancelled(a, o_s, o_e):
            found.append(Finding(cat.THIRD_PARTY_CONTACT, o_s, o_e, "phone"))


def find_store_addresses(ctx: DetectionContext, found: list[Finding]) -> None:
    """A shop's physical store offered to visit (store cue + street address), unless the
    message is about returns."""
    stores = [h for h in ctx.hits_of("store") if not ctx.allowed(h.start, h.end)]
    if not stores or ctx.hits_of("return"):
        return
    s = ctx.views.compact
    for h in stores:
        lo, hi = max(0, h.start - 30), min(len(s), h.end + 30)
        m = ADDRESS.search(s, lo, hi)
        if m is None:
            continue
        a, b = min(h.start, m.start()), max(h.end, m.end())
        o_s, o_e = ctx.original_span(a, b)
        if not ctx.cancelled(a, o_s, o_e):
            found.append(Finding(cat.THIRD_PARTY_CONTACT, o_s, o_e, "store_address"))
            return
