"""Negation scope: what a message says the speaker will not do, or did not do.

``我不会骚扰你的``, ``我没有骂你``, ``你别骚扰我了``, ``我们不卖黄片`` name an act only to
deny it. A negation word (不会, 不要, 没有, 别, 不 …) takes the words after it, up to the end of
the clause, out of the speaker's intent -- unless one of these holds:

* the scope is cut short by a word that starts something new: a consequence (就, 才, 否则,
  不然), a contrast (但, 可是, 却), a causative (逼, 让, 怪, 惹: ``别逼我动手`` threatens
  with 动手), fear or disbelief (怕, 信: ``你不怕我砍你`` threatens);
* the negation *is* the threat (``不会放过你``, ``不客气``, ``没完``, ``不得好死``) or an
  insult (``不要脸``, ``不是东西``);
* it is a question: ``信不信`` (A-不-A), ``怎么不去死`` (rhetorical), a clause ending in 吗;
* an oath follows the denied act: ``不弄死你我不姓王``, ``不砍你誓不为人``.

Scopes are found on the compact view (separators gone, Chinese numerals as digits) and end at
a clause boundary of the original text. Used for the threat and coercion detector, for
lexicon terms of threats, extortion and porn (abuse words stay: profanity is vulgar whatever
denies it), and for the meaning classifier, which reads a text without its denied scopes.
"""

from __future__ import annotations

import re

from feige.moderation.normalize import Views

#: Clause boundaries in the original text (as in ``context.CLAUSE_END``).
_CLAUSE_END = frozenset("。.!?！？;；\n,，、")

#: Negation words, longest first where they share a start.
_NEG = re.compile(
    r"不会|不要|不想|不敢|不打算|不准备|不再|不可能|不是|不|绝不|决不|从来不|从来没有?|从不|从没有?"
    r"|从未|并不|并没有?|没有|没|别|勿|莫"
)
#: Right before the negation: a rhetorical question or a dare (怎么不去死, 还不快滚, 看我不打死
#: 你), or a word that ends in 别 without negating (区别, 特别, 性别).
_RHETORICAL = re.compile(
    r"(?:怎么|怎|为什么|为啥|咋|干嘛|干吗|何|难道|凭什么|还|看我|看老子|区|特|分|告|差|类|性|级|个|离|识|辨)$"
)
#: Right after the negation word: an idiom that is a threat or an insult itself, or no
#: negation of an act at all (不然, 不过, 不错, 不好意思; 别家, 别人: 别 as "other").
_IDIOM = re.compile(
    r"得|要脸|要命|是东西|是人|像话|配|如|识|然|过|管|行|错|好意思|客气|用谢|够|少|止|停|了"
    r"|死|完|好过|放过|饶|罢休|甘休|算完|好死|想活|用|到|对|一样|同"
    r"|家|人|的|处|墅|针|样|具|称|号|名|致"
    r"|钱|脑|素质|教养|良心|文化|妈|爹|本事|出息|长眼|礼貌|种"
)
#: Inside the scope: the denial is the threat (不会轻易放过你, 绝不会善罢甘休).
_THREAT_BY_DENIAL = re.compile(r"放过|饶|客气|罢休|甘休|好过|算完|好死|想活")
#: Words that end a scope: what follows is said, not denied.
_BREAK = re.compile(r"就|才|否则|不然|要不|但|可是|却|而|逼|让|叫|怪|惹|害|怕|信|除非|如果|要是|等")
#: After a denied act: an oath that turns it into a threat (不弄死你我不姓王).
_OATH = re.compile(
    r".{0,4}?(?:不姓|跟你姓|随你姓|不是人|誓不|不为人|倒过来写|倒着写|不叫|不罢休|没完)"
)
#: Could a compact view hold a negation? (The engine asks before building the offset map.)
may_deny = re.compile(r"[不没别勿莫]").search
#: Longest scope read after a negation word (compact characters).
SCOPE_MAX = 10

Scope = tuple[int, int, int]  # negation start, negation end (= scope start), scope end


def _boundary(v: Views, i: int) -> bool:
    """A clause boundary in the original text between compact chars i-1 and i."""
    return any(ch in _CLAUSE_END for ch in v.text[v.ends[i - 1] : v.starts[i]])


def scopes(v: Views) -> list[Scope]:
    """Every negation of the message with the compact span it denies."""
    s = v.compact
    if not _NEG.search(s):
        return []
    n = len(s)
    out: list[Scope] = []
    for m in _NEG.finditer(s):
        a, b = m.span()
        if b >= n:
            continue
        if a > 0 and s[a - 1] == s[a + 1]:  # 信不信, 会不会, 有没有: a question
            continue
        if _RHETORICAL.search(s, max(0, a - 3), a):
            continue
        if _IDIOM.match(s, b):
            continue
        end = b
        limit = min(n, b + SCOPE_MAX)
        while end < limit:
            if end > b and _boundary(v, end):
                break
            if _BREAK.match(s, end):
                break
            end += 1
        if end == b or _THREAT_BY_DENIAL.search(s, b, end):
            continue
        clause_end = end
        while clause_end < n and not _boundary(v, clause_end):
            clause_end += 1
        if s[clause_end - 1] == "吗":  # 你不是傻逼吗: a question, not a denial
            continue
        out.append((a, b, end))
    return out


def denied(v: Views, found: list[Scope], start: int, end: int) -> bool:
    """Does compact [start, end) start inside a denied scope, with no oath after it?"""
    for _a, b, e in found:
        if b <= start < e:
            return _OATH.match(v.compact, end) is None
    return False


def without_denied(v: Views, found: list[Scope], compact: str | None = None) -> str:
    """The compact view (or ``compact``, indexed like it) with every negation and its scope
    blanked, for the classifier."""
    s = v.compact if compact is None else compact
    if not found:
        return s
    chars = list(s)
    for a, _b, e in found:
        if _OATH.match(v.compact, e) is not None:
            continue
        for i in range(a, e):
            chars[i] = " "
    return "".join(chars)
