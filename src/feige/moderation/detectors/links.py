"""Off-platform links (2.2.3) and e-mail addresses: URLs and bare domains (also spaced out or
with ``dot``/``点``), 口令 tokens. Read in the wide view, whose offsets are the original's; the
platform's own domains and their subdomains pass."""

from __future__ import annotations

import re

from feige.moderation import categories as cat
from feige.moderation.detectors.context import DetectionContext, Finding

_TLDS = (
    "com|cn|net|org|edu|gov|top|xyz|cc|me|io|co|ly|gl|vip|shop|club|site|info|biz|tk|ink|link|"
    "live|store|online|tv|hk|tw|so|gd|im|la|wang|ren|ltd|group|fun|icu|app|mobi|pro|asia|jp|"
    "kr|uk|us|de|ru|fr|in|to|ws|su|cloud|tech|red|work|xin|cx|pw|ml|ga|cf|gq|"
    # top-level domains with digits for letters: c0m, n3t, 0rg
    "c0m|n3t|0rg|c0"
)
#: A dot, also defanged: ``[.]``, ``(.)``, ``{.}``, ``【.】``, ``(dot)``, ``点``.
_DOT = r"\s*(?:\.|。|dot|点|[\[({【（]\s*(?:\.|。|dot|点)\s*[\])}】）])\s*"
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
    r"(?:(?:h[xt]{2}ps?|ftp|wxp|alipays?|weixin|taobao|tbopen|pinduoduo|openapp\.jdmobile)://"
    r"[^\s\u3000-\u303f\u4e00-\u9fff\uff01-\uff0f，。]+)"
    r"|(?<![a-z0-9@.\-])((?:[a-z0-9][a-z0-9\-]{0,61}" + _DOT + r")+(?:" + _TLDS + r"))"
    r"(?![a-z0-9])(?:[/:?#][^\s\u3000-\u303f\u4e00-\u9fff，。]*)?"
)
HOST = re.compile(r"^[a-z][a-z0-9+.\-]*://([^/:?#\s]+)")
#: 口令 tokens: ￥AbC123xYz9￥, $…$, €…€, or (AbC123xYz9).
TOKEN = re.compile(r"([¥￥$€£₤₳₴₵₰])([a-z0-9]{8,14})\1|[(]([a-z0-9]{10,12})[)]")
#: Letters spaced out: "w w w . j d . c o m".
_SPACED = re.compile(r"(?:[a-z0-9.] ){3}")


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


def find_links(ctx: DetectionContext, found: list[Finding], domains: tuple[str, ...]) -> None:
    """E-mail addresses, URLs and bare domains off ``domains``, 口令 tokens."""
    wide = ctx.views.wide
    emails: list[tuple[int, int]] = []
    for m in EMAIL.finditer(wide):
        host = host_of(m.group(2))
        emails.append((m.start(), m.end()))
        if on_domains(host, domains):
            continue
        if not ctx.cancelled(ctx.compact_index(m.start()), m.start(), m.end()):
            found.append(Finding(cat.THIRD_PARTY_CONTACT, m.start(), m.end(), "email"))
    urls: list[tuple[int, int]] = []
    for m in URL.finditer(wide):
        if any(a <= m.start() < b for a, b in emails):
            continue
        urls.append((m.start(), m.end()))
        _add_url(ctx, found, domains, m.group(), m.start(), m.end())
    if _SPACED.search(wide):
        keep: list[int] = []
        for m in URL.finditer(wide.replace(" ", "")):
            if not keep:
                keep = [i for i, ch in enumerate(wide) if ch != " "]
            a, b = keep[m.start()], keep[m.end() - 1] + 1
            if not any(x < b and a < y for x, y in urls + emails):
                _add_url(ctx, found, domains, m.group(), a, b)
    for m in TOKEN.finditer(wide):
        if mixed_token(ctx.text[m.start() : m.end()]):
            found.append(Finding(cat.THIRD_PARTY_LINK, m.start(), m.end(), "token"))


def _add_url(
    ctx: DetectionContext,
    found: list[Finding],
    domains: tuple[str, ...],
    url: str,
    start: int,
    end: int,
) -> None:
    if on_domains(host_of(url), domains):
        return
    if not ctx.cancelled(ctx.compact_index(start), start, end):
        found.append(Finding(cat.THIRD_PARTY_LINK, start, end, "url"))
