"""Structured detectors: regular expressions and validators for numbers, addresses, links.

Patterns over the ``compact`` view (digits joined across separators) find phone, card and id
numbers; patterns over the ``wide`` view (punctuation kept) find e-mail, URLs and tokens.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from stdnum import luhn

#: 11-digit mainland mobile numbers, optionally with the 86 country code.
MOBILE = re.compile(r"(?<![0-9])(?:0{0,2}86)?(1[3-9][0-9]{9})(?![0-9])")
#: Landlines with area code (010-12345678, 0755 1234 5678) and 400/800 hotlines.
LANDLINE = re.compile(r"(?<![0-9])(0[1-9][0-9]{1,2}[2-9][0-9]{6,7}|[48]00[0-9]{7})(?![0-9])")
#: Local numbers without area code: only with a phone cue just before.
LOCAL = re.compile(r"[0-9]{7,8}(?![0-9])")
#: Bank cards: 16-19 digits.
CARD = re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9])")
#: Anything worth a closer look in the compact view (digit runs that could be numbers).
DIGITS5 = re.compile(r"[0-9]{5}")
#: An id after an IM cue: WeChat ids (letter first, 6-20), QQ numbers (5-11 digits), phones.
ID_RUN = re.compile(r"[a-z0-9]{5,30}(?![a-z0-9])")

_TLDS = (
    "com|cn|net|org|edu|gov|top|xyz|cc|me|io|co|ly|gl|vip|shop|club|site|info|biz|tk|ink|link|"
    "live|store|online|tv|hk|tw|so|gd|im|la|wang|ren|ltd|group|fun|icu|app|mobi|pro|asia|jp|"
    "kr|uk|us|de|ru|fr|in|to|ws|su|cloud|tech|red|work|xin|cx|pw|ml|ga|cf|gq"
)
_DOT = r"\s*(?:\.|。|dot|\(dot\)|\[dot\]|点)\s*"
_AT = r"\s*(?:@|\(at\)|\[at\]|(?<![a-z])at(?![a-z])|艾特|圈a)\s*"

EMAIL = re.compile(
    r"(?<![a-z0-9._%+-])([a-z0-9][a-z0-9._%+-]{0,63})"
    + _AT
    + r"([a-z0-9][a-z0-9-]{0,62}(?:"
    + _DOT
    + r"[a-z0-9-]{1,63})*?"
    + _DOT
    + r"(?:"
    + _TLDS
    + r"))(?![a-z0-9])"
)
URL = re.compile(
    r"(?:(?:https?|ftp|wxp|alipays?|weixin|taobao|tbopen|pinduoduo|openapp\.jdmobile)://"
    r"[^\s\u3000-\u303f\u4e00-\u9fff\uff01-\uff0f，。]+)"
    r"|(?<![a-z0-9@.\-])((?:[a-z0-9][a-z0-9\-]{0,61}" + _DOT + r")+(?:" + _TLDS + r"))"
    r"(?![a-z0-9])(?:[/:?#][^\s\u3000-\u303f\u4e00-\u9fff，。]*)?"
)
HOST = re.compile(r"^[a-z][a-z0-9+.\-]*://([^/:?#\s]+)")
#: 口令 tokens: ￥AbC123xYz9￥, $…$, €…€, or (AbC123xYz9).
TOKEN = re.compile(r"([¥￥$€£₤₳₴₵₰])([a-z0-9]{8,14})\1|[(]([a-z0-9]{10,12})[)]")
#: Anything that may be a link, address or token in the wide view (fast path guard).
WIDE_GUARD = re.compile(r"[.@/¥$€£₤₳₴₵₰(]|dot|点|(?<![a-z])at(?![a-z])")

#: A street address in the compact view.
ADDRESS = re.compile(
    r"(?:路|街|大道|巷|弄|胡同)[0-9]+号"
    r"|[0-9]+(?:号楼|号铺|号档|号店|栋|楼|层|室|号)"
    r"|(?:大厦|广场|商场|市场|商城|批发城|大楼|商业街|步行街|购物中心|中心店)"
    r"|(?:省|市|区|县|镇)\S{0,6}(?:路|街|大道)"
)
#: Sentence and clause boundaries in the original text.
SENTENCE_END = frozenset("。.!?！？;；\n")
CLAUSE_END = SENTENCE_END | frozenset(",，、")


#: Allocated mainland mobile prefixes (the same table phonenumbers uses, as one regex: a
#: phonenumbers parse costs tens of microseconds, this a fraction of one).
_MOBILE_PREFIX = re.compile(
    r"1(?:3\d|4[57]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])\d{8}|1610\d{7}"
)


def valid_mobile(digits: str) -> bool:
    """An allocated mainland mobile number; phonenumbers decides the one mixed block (174)."""
    if _MOBILE_PREFIX.fullmatch(digits) is not None:
        return True
    return digits.startswith("174") and _valid("+86" + digits)


def valid_landline(digits: str) -> bool:
    if digits.startswith(("400", "800")):
        return True
    return _valid("+86" + digits[1:])


@lru_cache(maxsize=4096)
def _valid(e164: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False


def luhn_ok(digits: str) -> bool:
    return luhn.is_valid(digits)


def host_of(url: str) -> str:
    """Host name of a URL or bare domain found by ``URL`` (dots normalised)."""
    text = re.sub(_DOT, ".", url.strip())
    m = HOST.match(text)
    host = m.group(1) if m else re.split(r"[/:?#]", text, maxsplit=1)[0]
    return host.strip(".").lower()


def on_domains(host: str, domains: tuple[str, ...]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one."""
    return any(host == d or host.endswith("." + d) for d in domains)


def mixed_token(original: str) -> bool:
    """口令 tokens mix digits with upper- and lower-case letters; prices and words do not."""
    has_digit = any(c.isdigit() for c in original)
    has_upper = any(c.isupper() for c in original)
    has_lower = any(c.islower() for c in original)
    return has_digit and has_upper and has_lower
