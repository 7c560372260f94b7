"""Contact details by their shape, whatever they are called (2.2.3).

A lexicon names the ways people write "WeChat"; the shapes here do not need the name:

* **disguised numbers** -- a mobile number cut by letters or words (``138x1234x5678``,
  ``138杠1234杠5678``), spelled in English words (``one three eight …``), spelled out as a large
  Chinese number (``一百三十八亿…``), written backwards, or with ``o``/``l`` for 0/1;
* **an account behind an unknown nickname** -- an id-shaped token (letters with digits, or a
  QQ-length number) where the sentence asks to be added, searched or contacted (加, 搜, 找,
  联系, ``+`` …, or 聊/私聊 after it), whatever word stands for the app (卫星, 绿泡泡, 💚 …);
* **diversion to another shop** -- an app abbreviation right before 搜 (``tb搜``, ``dy搜``),
  a masked platform name (某宝, 某鱼 …), the shop's "other" store.

All read the compact view (separators gone, Chinese numerals as digits) and report spans on
the original text; numbers after order, tracking and model words are left alone as the phone
detector leaves them.
"""

from __future__ import annotations

import re

from feige.moderation import categories as cat
from feige.moderation.detectors.contact import reads_as_phone, valid_mobile
from feige.moderation.detectors.context import SENTENCE_END, DetectionContext, Finding

_EN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_EN_DIGIT = {w: str(i) for i, w in enumerate(_EN)} | {"oh": "0", "o": "0"}
_EN_WORD = "|".join(sorted(_EN, key=len, reverse=True))

#: Digit groups joined by one to three non-digits (letters, words, symbols).
_CUT_DIGITS = re.compile(
    r"(?<![0-9])([0-9]{2,4})[^0-9]{1,3}([0-9]{3,4})[^0-9]{1,3}([0-9]{3,5})(?![0-9])"
)
#: Seven or more digits as words or numerals (the wide view: Chinese numerals are digits,
#: spaces and dashes kept), at least one of them a word.
_EN_RUN = re.compile(r"(?<![a-z0-9])(?:(?:" + _EN_WORD + r"|oh|[0-9])[\s,\-_.、，]*){7,}(?![a-z])")
_EN_TOKEN = re.compile(_EN_WORD + r"|oh|[0-9]")
_CN_BIG = re.compile(r"[0-9十百千万亿]{6,}")
_OL = re.compile(r"(?<![a-z0-9])[0-9ol]{11}(?![a-z0-9])")
_ELEVEN = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")
#: An account id: letters then at least three digits (lisa2024, tbshop5841), or a QQ number.
_ID = re.compile(r"(?<![a-z0-9])([a-z][a-z0-9]{2,19}[0-9]{3}|[1-9][0-9]{4,10})(?![a-z0-9])")
#: Asking to be added, searched or contacted, right before the id (same sentence); a QQ-like
#: number needs one of the strong words, an id with letters may also follow 是 ("我的是 …").
_INTENT_BEFORE = re.compile(r"加|搜|找|联系|私|扫|关注|号|q")
_INTENT_BEFORE_WEAK = re.compile(r"是|:")
#: Trading accounts: the message asks for the other's (你…多少, 你的…是啥, 留个…) and gives its
#: own right before the number (我的是 …), whatever the app is called; not a question about a
#: price, a size or an order.
_ASK_THEIRS = re.compile(r"你.{0,6}?(?:多少|是啥|是什么|是几|发我|给我)|留1?个|给1?个.{0,3}号")
_NOT_ACCOUNT = re.compile(
    r"钱|价|码|尺|身高|高|重|斤|运费|单|会员|卡|快递|编|型|邮|多大|几件|几个|地址"
)
_MINE = re.compile(r"我(?:的|们的)?号?是$")
#: …or after it.
_INTENT_AFTER = re.compile(r"^.{0,6}(?:聊|联系|找我|加我|加1下|私我|详谈|私信|沟通|备注)")
_DIVERT_RX = r"(?<![a-z])(?!app)(?:[a-z]{1,3}|t宝|淘宝|淘|闲鱼|抖音|拼多多|京东|直播间)搜"
_DIVERT = re.compile(_DIVERT_RX)
#: 某宝, 某鱼 …; the shop's "other" store (一 reads 1 in the compact view).
_MASKED_PLATFORM_RX = (
    r"某[宝鱼东音书团猫]|某多多|某夕夕|[另别]1?[个家]店|另外那?[1个]?家|小号店|旗下另"
)
_MASKED_PLATFORM = re.compile(_MASKED_PLATFORM_RX)
#: The fast path's question "could a shape be here?", split so that each regular expression
#: starts with a character class (the regex engine then skips ahead in C) and runs only when
#: the characters it needs are present: one big alternation costs tens of microseconds.
#: (A digit first, then ``(?<![0-9][0-9])`` for "no digit before it": the same as a
#: look-behind first, but a position without a digit fails at once, not after the
#: look-behind; about half the cost of the search on chat.)
_GATE_DIGITS = re.compile(
    r"[0-9](?<![0-9][0-9])[0-9]{1,3}[^0-9]{1,3}[0-9]{3,4}[^0-9]{1,3}[0-9]{3,5}(?![0-9])"  # cut
    r"|[0-9][亿万][0-9]"  # large Chinese numbers
    r"|[0-9](?<![0-9][0-9])[0-9]{8}[3-9]1(?![0-9])"  # a mobile number backwards
)
#: ``eight|ight``, not ``e?ight`` (the same matches, tried in the same order): when every
#: alternative starts with a letter, the search skips ahead in C to where one can start.
_WORD = r"(?:zero|one|two|three?|four|five|six|seven|eight|ight|nine)"
_GATE_LATIN = re.compile(_WORD + r"[0-9]?" + _WORD + r"[0-9]?" + _WORD)  # number words
_GATE_OL = re.compile(r"[0-9ol](?<![0-9a-z][0-9ol])[0-9ol]{10}(?![0-9a-z])")  # o/l for 0/1
#: An id: letters then digits, or a QQ-length number (a whole run of 5-11 digits: an 18-digit
#: order number is none).
#: (Written as one character class first and each alternative's own class looked behind: an
#: alternation of classes is tried at every position by the regex engine, one class first
#: lets it skip ahead in C to where a match can start; the same matches.)
_GATE_ID = re.compile(
    r"[a-z0-9](?:(?<=[a-z])[a-z0-9]{2,19}[0-9]{3}|(?<=[0-9])(?<![0-9][0-9])[0-9]{4,10}(?![0-9]))"
)
#: …asked to be contacted, just before or just after it.
_GATE_INTENT_BEFORE = re.compile(
    r"(?:加|搜|找|联系|私|扫|关注|(?<![单型货款编批])号|是|q)[^0-9a-z]{0,4}$"
)
_GATE_INTENT_AFTER = re.compile(r".{0,6}(?:聊|联系|找我|加我|加1下|私|详谈|沟通|备注)")
_ANY_DIGIT = re.compile(r"[0-9]")
_ANY_LATIN = re.compile(r"[a-z]")
#: ``[搜某店]|旗下|另外``, one class first (see ``_GATE_ID``).
_DIVERSION_CHARS = re.compile(r"[搜某店旗另](?:(?<![旗另])|(?<=旗)下|(?<=另)外)")


#: Every shape needs one of these (a digit, a Latin letter, or a diversion character): most
#: chat has none and is answered by this one search.
#: ``[0-9a-z搜某店]|旗下|另外``, one class first (see ``_GATE_ID``).
_SHAPE_CHARS = re.compile(r"[0-9a-z搜某店旗另](?:(?<![旗另])|(?<=旗)下|(?<=另)外)")


def maybe_shape(compact: str) -> bool:
    """Could any shape of this module be in the compact text? (Fast path; a superset.)"""
    first = _SHAPE_CHARS.search(compact)
    if first is None:
        return False
    # The searches below need a match to start with one of those characters, so they start
    # where the first one is (their look-behinds still see what is before it).
    at = first.start()
    digit = _ANY_DIGIT.search(compact, at) is not None
    if digit and _GATE_DIGITS.search(compact, at):
        return True
    latin = _ANY_LATIN.search(compact, at) is not None
    if latin:
        if _GATE_LATIN.search(compact, at):
            return True
        for m in _GATE_OL.finditer(compact, at):
            if not m.group().isdigit():
                return True
    if digit or latin:
        for m in _GATE_ID.finditer(compact, at):
            if _GATE_INTENT_BEFORE.search(compact, max(0, m.start() - 6), m.start()):
                return True
            if _GATE_INTENT_AFTER.match(compact, m.end()):
                return True
    if _DIVERSION_CHARS.search(compact, at) is not None:
        return (_DIVERT.search(compact) or _MASKED_PLATFORM.search(compact)) is not None
    return False


_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def cn_number(text: str) -> int | None:
    """The value of a Chinese number with units in the compact view (``1百3十8亿…``: the
    numerals are digits there), or None when it does not parse."""
    total, section, digit = 0, 0, None
    for ch in text:
        if ch.isdigit():
            if digit is not None and digit != 0:
                return None  # two numerals in a row: not a spelled-out number
            digit = int(ch)  # 零 only holds a place (一千零一十)
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        elif ch == "亿":
            total = (total + section + (digit or 0)) * 100_000_000
            section, digit = 0, None
        elif ch == "万":
            total += (section + (digit or 0)) * 10_000
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def _add_number(ctx: DetectionContext, found: list[Finding], a: int, b: int, how: str) -> None:
    """Report compact [a, b) as a disguised phone number unless it reads as an order number
    or the message speaks against it."""
    if not reads_as_phone(ctx, a):
        return
    o_s, o_e = ctx.original_span(a, b)
    if not ctx.cancelled(a, o_s, o_e):
        found.append(Finding(cat.THIRD_PARTY_CONTACT, o_s, o_e, how))


def find_disguised_numbers(ctx: DetectionContext, found: list[Finding]) -> None:
    """Mobile numbers cut by letters or words, in number words, as a large Chinese number,
    backwards, or with o/l for 0/1."""
    s = ctx.views.compact
    for m in _CUT_DIGITS.finditer(s):
        digits = m.group(1) + m.group(2) + m.group(3)
        if len(digits) == 11 and valid_mobile(digits):
            _add_number(ctx, found, m.start(), m.end(), "cut_number")
    wide = ctx.views.wide
    for m in _EN_RUN.finditer(wide):
        tokens = _EN_TOKEN.findall(m.group())
        if all(t.isdigit() for t in tokens):
            continue  # plain numerals: the phone detector reads them
        digits = "".join(_EN_DIGIT.get(t, t) for t in tokens)
        if valid_mobile(digits) or (len(digits) >= 7 and sum(not t.isdigit() for t in tokens) >= 4):
            a = ctx.compact_index(m.start())
            if reads_as_phone(ctx, a, letters_before=False):
                end = m.end() - (len(m.group()) - len(m.group().rstrip(" ,-_.、，")))
                if not ctx.cancelled(a, m.start(), end):
                    found.append(Finding(cat.THIRD_PARTY_CONTACT, m.start(), end, "number_words"))
    for m in _CN_BIG.finditer(s):
        if not any(u in m.group() for u in "万亿"):
            continue
        value = cn_number(m.group())
        if value is not None and valid_mobile(str(value)):
            _add_number(ctx, found, m.start(), m.end(), "chinese_number")
    for m in _ELEVEN.finditer(s):
        digits = m.group()
        if not valid_mobile(digits) and valid_mobile(digits[::-1]):
            _add_number(ctx, found, m.start(), m.end(), "reversed_number")
    for m in _OL.finditer(s):
        if m.group().isdigit():
            continue
        digits = m.group().replace("o", "0").replace("l", "1")
        if sum(c.isdigit() for c in m.group()) >= 6 and valid_mobile(digits):
            _add_number(ctx, found, m.start(), m.end(), "letter_digits")


def find_accounts(ctx: DetectionContext, found: list[Finding]) -> None:
    """An id-shaped token where the sentence asks to be added, searched or contacted --
    whatever the app is called. Upper-case model numbers (RTX4060) and numbers after order,
    tracking or model words are not accounts."""
    s = ctx.views.compact
    text = ctx.text
    for m in _ID.finditer(s):
        a, b = m.span(1)
        o_s, o_e = ctx.original_span(a, b)
        original = text[o_s:o_e]
        if any(c.isupper() for c in original) and not any(c.islower() for c in original):
            continue  # model numbers are written in capitals
        ident = m.group(1)
        if ident.isdigit() and (len(ident) == 11 or not reads_as_phone(ctx, a)):
            continue  # an 11-digit number is the phone detector's; order numbers pass
        if not ident.isdigit() and not reads_as_phone(ctx, a):
            continue
        start = _sentence_start(text, o_s)
        before = s[ctx.compact_index(start) : a][-5:]
        after = s[b : b + 8]
        asked = _INTENT_BEFORE.search(before) or _INTENT_AFTER.match(after)
        weak = not ident.isdigit() and _INTENT_BEFORE_WEAK.search(before[-2:])
        if not asked and not weak and not _trades_accounts(s, a, before):
            continue
        if ctx.allowed(a, b) or ctx.cancelled(a, o_s, o_e):
            continue
        found.append(Finding(cat.THIRD_PARTY_CONTACT, o_s, o_e, "account"))


def _trades_accounts(s: str, a: int, before: str) -> bool:
    """ "你…多少？我的是 12345678": the id at ``a`` is given in exchange for the other's."""
    if _MINE.search(before) is None:
        return False
    return any(_NOT_ACCOUNT.search(m.group()) is None for m in _ASK_THEIRS.finditer(s, 0, a))


def _sentence_start(text: str, offset: int) -> int:
    i = offset
    while i > 0 and text[i - 1] not in SENTENCE_END:
        i -= 1
    return i


def find_diversion(ctx: DetectionContext, found: list[Finding]) -> None:
    """Buyers sent to another shop or platform: ``tb搜…``, 某宝, 我们另一个店."""
    s = ctx.views.compact
    for rx in (_DIVERT, _MASKED_PLATFORM):
        for m in rx.finditer(s):
            o_s, o_e = ctx.original_span(m.start(), m.end())
            if ctx.allowed(m.start(), m.end()) or ctx.cancelled(m.start(), o_s, o_e):
                continue
            found.append(Finding(cat.THIRD_PARTY_AD, o_s, o_e, "diversion"))
            return
