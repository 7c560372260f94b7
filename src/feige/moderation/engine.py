"""The moderation engine: one pure object, built once, that checks every message.

``check_text`` takes a fast path for clean messages (two ``str.translate`` calls, one
Aho–Corasick pass and two small regular expressions); only a message with a possible finding
gets its offset map and the structured detectors.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from feige.domain import ModerationAction
from feige.moderation import categories as cat
from feige.moderation import detectors as d
from feige.moderation.config import BUYER, ModerationConfig, policy_role
from feige.moderation.image import ImageScan, file_kind, scan
from feige.moderation.lexicon import Hit, Lexicon
from feige.moderation.normalize import Views, collapse, tables, views
from feige.moderation.spam import SpamHistory

A = ModerationAction
_RANK = {A.ALLOW: 0, A.MASK: 1, A.REVIEW: 2, A.BLOCK: 3}
_ORDER = {c: i for i, c in enumerate(cat.CATEGORIES)}

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
#: ASCII letters allowed right before a phone number (cue words, not tracking prefixes).
_PHONE_PREFIXES = frozenset(
    {"tel", "phone", "mobile", "call", "dh", "v", "vx", "wx", "q", "qq", "weixin", "wechat"}
)
#: Delivery context before a phone number: the buyer's own receiving number.
_DELIVERY = ("收货", "收件", "寄件", "联系人", "退货", "寄回", "退回", "售后地址", "仓库")
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_STRONG_CARD_CUES = frozenset({"卡号", "银行卡", "账号", "帐号", "户名", "开户行", "储蓄卡"})


class Evidence(NamedTuple):
    """One finding: category, [start, end) in the original text, the matched original
    substring (or decoded QR content), and the detector that found it."""

    category: str
    start: int
    end: int
    match: str
    detector: str


class Verdict(NamedTuple):
    """The engine's answer for one message (docs/rules.md, actions). Immutable; a NamedTuple
    because building it is on the hot path (a frozen dataclass costs microseconds)."""

    action: ModerationAction
    categories: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()
    #: What the recipient sees: masked for mask/review, None for block (and for images).
    text: str | None = None
    #: Findings that set the action (non-allow): (category, start, end, match, detector).
    evidence: tuple[Evidence, ...] = ()
    #: Findings the policy let through (e.g. a buyer's own phone number).
    allowed: tuple[Evidence, ...] = ()
    #: Actions per evidence item, same order as ``evidence``.
    actions: tuple[ModerationAction, ...] = ()

    @property
    def delivered(self) -> bool:
        return self.action != A.BLOCK

    def to_json(self, id: Any) -> dict[str, Any]:
        """The ``feige moderate --jsonl`` output line (docs/interfaces.md)."""
        return {
            "id": id,
            "action": str(self.action),
            "categories": list(self.categories),
            "clauses": list(self.clauses),
            "text": self.text,
            "spans": [[s, e] for s, e in self.spans],
        }

    def describe(self, lang: str = "zh") -> str:
        """One line for the sender or an operator: action, categories, clauses."""
        en = lang.lower().startswith("en")
        names = {
            A.ALLOW: ("通过", "allow"),
            A.MASK: ("打码后发送", "delivered masked"),
            A.REVIEW: ("发送并提交人工审核", "delivered, queued for review"),
            A.BLOCK: ("拦截，未发送", "blocked, not delivered"),
        }
        head = names[self.action][1 if en else 0]
        if not self.categories:
            return head
        parts = [
            f"{cat.LABELS[c][1 if en else 0]} ({'clause' if en else '第'} {cat.CLAUSES[c]}"
            f"{'' if en else ' 条'})"
            for c in self.categories
        ]
        return f"{head}: " + ("; " if en else "；").join(parts)


_ALLOW_EMPTY = Verdict(A.ALLOW, text="")


@dataclass(slots=True)
class _Finding:
    category: str
    start: int
    end: int
    detector: str
    doubtful: bool = False
    match: str | None = None


class _Ctx:
    """Everything the detectors of one slow-path check share."""

    __slots__ = ("by_kind", "cfg", "hits", "role", "text", "v")

    def __init__(self, v: Views, hits: list[Hit], cfg: ModerationConfig, role: str) -> None:
        self.v = v
        self.text = v.text
        self.hits = hits
        self.cfg = cfg
        self.role = role
        self.by_kind: dict[str, list[Hit]] = {}
        for h in hits:
            self.by_kind.setdefault(h.tag.kind, []).append(h)

    def kind(self, k: str) -> list[Hit]:
        return self.by_kind.get(k, [])

    def orig(self, start: int, end: int) -> tuple[int, int]:
        return self.v.span(start, end)

    def allowed(self, start: int, end: int) -> bool:
        """The compact span lies inside an allow-list entry."""
        return any(a.start <= start and end <= a.end for a in self.kind("allow"))

    def compact_index(self, orig: int) -> int:
        """Compact index of the first compact char at or after original offset ``orig``."""
        return bisect.bisect_left(self.v.starts, orig)

    def clean_between(self, a: int, b: int, stops: frozenset[str]) -> bool:
        """No clause or sentence boundary in the original text between offsets a and b."""
        lo, hi = (a, b) if a <= b else (b, a)
        return not any(ch in stops for ch in self.text[lo:hi])

    def negated(self, start_c: int) -> bool:
        """A negation ends at most ``negation_gap`` compact chars before ``start_c``, in the
        same clause."""
        gap = self.cfg.negation_gap
        for n in self.kind("neg"):
            reach = gap if n.end - n.start > 1 else 2  # 别, 勿: only right before
            if n.end <= start_c and start_c - n.end <= reach:
                a = self.v.ends[n.end - 1]
                b = self.v.starts[start_c] if start_c < len(self.v.starts) else len(self.text)
                if self.clean_between(a, b, d.CLAUSE_END):
                    return True
        return False

    def warned(self, start_o: int, end_o: int) -> bool:
        """A warning word ("是骗子", "谨防") in the same sentence as [start_o, end_o)."""
        for w in self.kind("warn"):
            ws, we = self.orig(w.start, w.end)
            if (we <= start_o and self.clean_between(we, start_o, d.SENTENCE_END)) or (
                ws >= end_o and self.clean_between(end_o, ws, d.SENTENCE_END)
            ):
                return True
        return False

    def cancelled(self, start_c: int, start_o: int, end_o: int) -> bool:
        return self.negated(start_c) or self.warned(start_o, end_o)

    def near(self, kind: str, start: int, end: int, before: int, after: int) -> list[Hit]:
        """Hits of ``kind`` ending within ``before`` chars before ``start`` or starting within
        ``after`` chars after ``end`` (compact), or overlapping."""
        return [
            h
            for h in self.kind(kind)
            if (start - before <= h.end <= start)
            or (end <= h.start <= end + after)
            or (h.start < end and start < h.end)
        ]


class Moderator:
    """Checks text, images and files against rules 2.2.3–2.2.10 (docs/rules.md).

    Built once from a :class:`ModerationConfig`; ``check_*`` do no I/O. The only state is the
    bounded per-sender spam window.
    """

    def __init__(self, config: ModerationConfig | None = None) -> None:
        self.config = config or ModerationConfig()
        self.domains = tuple(dm.lower().strip(".") for dm in self.config.platform_domains)
        self.lexicon = Lexicon(
            self.config.lexicon_paths, self.config.extra_terms, self.config.homophones
        )
        self._tables = tables()
        self._direct = self._tables.direct
        self._link_char = re.compile(
            "[" + "".join(sorted(re.escape(ch) for ch in self._tables.link_chars)) + "]"
        ).search
        self._wide_table = self._tables.wide
        self._hot = self.lexicon.hot.find_matches_as_indexes
        self._promo = self.lexicon.promo.find_matches_as_indexes
        self._numeric_cues = self.lexicon.numeric_cues.find_matches_as_indexes
        self._spam = SpamHistory(
            self.config.spam_window,
            self.config.spam_max_senders,
            self.config.spam_similarity,
            self.config.spam_repeats,
        )
        #: Images decoded so far (scan_image): the CPU-heavy part, counted for tests and ops.
        self.images_scanned = 0

    # ------------------------------------------------------------------ public API

    def check_text(
        self,
        text: str,
        role: str = BUYER,
        sender: str | None = None,
        recipient: str | None = None,
    ) -> Verdict:
        """Verdict for one text message. ``sender`` enables the repeated-advertising check;
        ``recipient`` (optional) lets it count distinct recipients."""
        if not text:
            return _ALLOW_EMPTY
        compact = collapse(text.translate(self._direct))
        hot = bool(self._hot(compact))
        links = self._link_char(text) is not None or "dot" in compact
        # No cue; numbers, if any, are order, tracking or model numbers (no phone shape).
        quiet = not hot and not links
        if quiet and _DIGITS5(compact) is not None:
            quiet = not (
                self._numeric_cues(compact)
                or _MOBILE(compact) is not None
                or _LANDLINE(compact) is not None
            )
        if quiet:
            return self._quiet(text, compact, role, sender, recipient)
        wide = text.translate(self._wide_table)
        links = links and _WIDE_GUARD.search(wide) is not None
        if not hot and not links and _DIGITS5(compact) is None:
            return self._quiet(text, compact, role, sender, recipient)
        return self._slow(text, wide, links, policy_role(role), sender, recipient)

    def _quiet(
        self, text: str, compact: str, role: str, sender: str | None, recipient: str | None
    ) -> Verdict:
        """Nothing to find: allow, unless it is the sender's repeated advert."""
        if (
            sender is not None
            and len(compact) >= self.config.spam_min_chars
            and self._promo(compact)
            and self._spam.observe(sender, compact, recipient)
        ):
            return self._decide(
                [_Finding(cat.SPAM, 0, len(text), "repeat")], policy_role(role), text
            )
        return _new_verdict(Verdict, (A.ALLOW, (), (), (), text, (), (), ()))

    def check_image(self, data: bytes, role: str = BUYER, sender: str | None = None) -> Verdict:
        """Verdict for an image: any QR code is ``third_party.qr_code`` (2.2.3); a QR code
        carrying a payment link is also ``third_party.payment``; an executable or archive
        disguised as an image is ``misuse`` (2.2.10)."""
        return self.judge_image(self.scan_image(data), role)

    def scan_image(self, data: bytes) -> ImageScan:
        """Decode an image and find what is in it (QR codes, software), whatever the role: the
        CPU-heavy half of :meth:`check_image`. Keep it and call :meth:`judge_image` per send."""
        self.images_scanned += 1
        kind = file_kind(data)
        if kind is not None:
            return ImageScan(False, (), "", kind)
        return scan(data, self.config.qr_try_harder, self.config.max_image_pixels)

    def judge_image(self, found: ImageScan, role: str = BUYER) -> Verdict:
        """The verdict for a scan already made (:meth:`scan_image`): the policy only, no
        decoding, so it costs microseconds."""
        prole = policy_role(role)
        if found.software:
            return self._decide(
                [_Finding(cat.MISUSE, 0, 0, "file", match=found.software)], prole, None
            )
        if not found.ok:
            return self._decide(
                [_Finding(cat.MISUSE, 0, 0, "unreadable_image", True, found.error)], prole, None
            )
        findings = [_Finding(cat.THIRD_PARTY_QR_CODE, 0, 0, "qr", match=c) for c in found.codes]
        for code in found.codes:
            low = code.lower()
            if low.startswith(("wxp://", "alipay", "https://qr.alipay.com", "upi://")) or any(
                k in low for k in ("qr.alipay.com", "wx.tenpay.com", "payapp.weixin", "qr.95516")
            ):
                findings.append(_Finding(cat.THIRD_PARTY_PAYMENT, 0, 0, "qr_payment", match=code))
        return self._decide(findings, prole, None)

    def check_file(self, data: bytes, name: str = "", role: str = BUYER) -> Verdict:
        """Verdict for a file: executables and software archives are ``misuse`` (2.2.10);
        images are checked like :meth:`check_image`."""
        low = name.lower()
        if file_kind(data) is None and not low.endswith(_SOFTWARE_EXT):
            return self.check_image(data, role)
        what = file_kind(data) or low.rsplit(".", 1)[-1]
        return self._decide([_Finding(cat.MISUSE, 0, 0, "file", match=what)], policy_role(role))

    def forget_sender(self, sender: str) -> None:
        """Drop a sender's spam window (e.g. after a reviewer dismissed a spam record)."""
        self._spam.forget(sender)

    # ------------------------------------------------------------------ slow path

    def _slow(
        self,
        text: str,
        wide: str,
        links: bool,
        role: str,
        sender: str | None,
        recipient: str | None,
    ) -> Verdict:
        v = views(text, wide)
        hits = [
            h
            for h in self.lexicon.hits(self.lexicon.raw(v.compact))
            if not h.tag.ascii or _ascii_alone(v, h)
        ]
        ctx = _Ctx(v, hits, self.config, role)
        found: list[_Finding] = []
        kinds = ctx.by_kind
        digits = _DIGITS5(v.compact) is not None
        if "term" in kinds:
            self._terms(ctx, found)
        if "im" in kinds:
            self._im(ctx, found)
        if digits or "phone" in kinds:
            self._phones(ctx, found)
        if digits:
            self._cards(ctx, found)
        if "pay" in kinds:
            self._pay_accounts(ctx, found)
        if links:
            self._wide(ctx, found)
        if "store" in kinds:
            self._store(ctx, found)
        if "money" in kinds and "offplat" in kinds:
            self._fraud(ctx, found)
        if "threat" in kinds and "review" in kinds:
            self._extortion(ctx, found)
        if sender is not None:
            self._repeats(ctx, found, sender, recipient)
        return self._decide(found, role, text)

    def _add(self, ctx: _Ctx, found: list[_Finding], category: str, s: int, e: int, det: str,
             doubtful: bool = False) -> None:  # fmt: skip
        o_s, o_e = ctx.orig(s, e)
        found.append(_Finding(category, o_s, o_e, det, doubtful))

    def _terms(self, ctx: _Ctx, found: list[_Finding]) -> None:
        for h in ctx.kind("term"):
            if ctx.allowed(h.start, h.end):
                continue
            o_s, o_e = ctx.orig(h.start, h.end)
            if h.tag.category in NEGATABLE and ctx.cancelled(h.start, o_s, o_e):
                continue
            found.append(_Finding(h.tag.category, o_s, o_e, "lexicon", h.tag.doubtful))

    def _id_after(self, ctx: _Ctx, end: int) -> int | None:
        """End (compact) of an id starting within ``im_gap`` chars after ``end``."""
        s = ctx.v.compact
        limit = min(len(s), end + self.config.im_gap + 1)
        for i in range(end, limit):
            if s[i] in _ASCII_ALNUM:
                if any(end <= c.start <= i for c in ctx.kind("ctx")):
                    return None
                m = d.ID_RUN.match(s, i)
                if m is None:
                    return None
                ident = m.group()
                if ident.isdigit() and len(ident) > 12:
                    return None  # order-like numbers, not QQ ids or phones
                return m.end()
        return None

    def _im(self, ctx: _Ctx, found: list[_Finding]) -> None:
        pays = ctx.kind("pay")
        for h in ctx.kind("im"):
            if ctx.allowed(h.start, h.end):
                continue
            if any(p.start <= h.start and h.end <= p.end and p.end - p.start > h.end - h.start
                   for p in pays):  # fmt: skip
                continue  # 微信支付, 微信转账: the payment detectors read it
            id_end = self._id_after(ctx, h.end)
            if id_end is not None:
                o_s, o_e = ctx.orig(h.start, id_end)
                if not ctx.cancelled(h.start, o_s, o_e):
                    found.append(_Finding(cat.THIRD_PARTY_CONTACT, o_s, o_e, "im_id"))
                continue
            verbs = [
                b
                for b in ctx.kind("verb")
                if h.start - 1 <= b.end <= h.start and not ctx.allowed(b.start, b.end)
            ]
            after = [a for a in ctx.kind("after") if h.end <= a.start <= h.end + 2]
            if not verbs and not after:
                continue
            start_c = min([b.start for b in verbs] + [h.start])
            o_s, o_e = ctx.orig(h.start, h.end)
            if not ctx.cancelled(start_c, o_s, o_e):
                found.append(_Finding(cat.THIRD_PARTY_CONTACT, o_s, o_e, "im_cue"))

    def _phone_context_ok(self, ctx: _Ctx, start: int) -> bool:
        """False when the number reads as an order/tracking number or a delivery number."""
        s = ctx.v.compact
        cues = [h for h in ctx.kind("phone") + ctx.kind("im") if h.end <= start]
        last_cue = max((h.end for h in cues), default=-1)
        for c in ctx.kind("ctx"):
            if start - 8 <= c.end <= start and c.end > last_cue:
                return False
        o_start = ctx.v.starts[start]
        sentence = ctx.text[:o_start]
        for stop in d.SENTENCE_END:
            sentence = sentence.rsplit(stop, 1)[-1]
        if any(w in sentence for w in _DELIVERY):
            return False  # the buyer's receiving number, a return address
        j = start
        while j > 0 and s[j - 1] in _ASCII_LETTERS:
            j -= 1
        return not (j < start and s[j:start] not in _PHONE_PREFIXES)

    def _phones(self, ctx: _Ctx, found: list[_Finding]) -> None:
        s = ctx.v.compact
        spans: list[tuple[int, int]] = []
        for m in d.MOBILE.finditer(s):
            if d.valid_mobile(m.group(1)) and self._phone_context_ok(ctx, m.start()):
                spans.append((m.start(), m.end()))
        for m in d.LANDLINE.finditer(s):
            if d.valid_landline(m.group(1)) and self._phone_context_ok(ctx, m.start()):
                spans.append((m.start(), m.end()))
        for h in ctx.kind("phone"):
            for gap in range(0, 4):
                m2 = d.LOCAL.match(s, h.end + gap)
                if m2 and (h.end + gap == 0 or not s[h.end + gap - 1].isdigit()):
                    spans.append((m2.start(), m2.end()))
                    break
        for a, b in spans:
            o_s, o_e = ctx.orig(a, b)
            if not ctx.cancelled(a, o_s, o_e):
                found.append(_Finding(cat.THIRD_PARTY_CONTACT, o_s, o_e, "phone"))

    def _cards(self, ctx: _Ctx, found: list[_Finding]) -> None:
        s = ctx.v.compact
        w = self.config.card_cue_window
        for m in d.CARD.finditer(s):
            cues = ctx.near("bank", m.start(), m.end(), w, w) + ctx.near(
                "pay", m.start(), m.end(), w, w
            )
            if not cues:
                continue
            nearest_cue = max(c.end for c in cues if c.end <= m.start()) if any(
                c.end <= m.start() for c in cues) else -1  # fmt: skip
            if any(nearest_cue < c.end <= m.start() for c in ctx.kind("ctx")):
                continue
            strong = any(ctx.v.compact[c.start : c.end] in _STRONG_CARD_CUES for c in cues)
            ok = d.luhn_ok(m.group())
            if not ok and not strong:
                continue
            o_s, o_e = ctx.orig(m.start(), m.end())
            if not ctx.cancelled(m.start(), o_s, o_e):
                found.append(_Finding(cat.THIRD_PARTY_PAYMENT, o_s, o_e, "bank_card", not ok))

    def _pay_accounts(self, ctx: _Ctx, found: list[_Finding]) -> None:
        for h in ctx.kind("pay"):
            if ctx.allowed(h.start, h.end):
                continue
            id_end = self._id_after(ctx, h.end)
            o_s = ctx.orig(h.start, h.end)[0]
            if id_end is not None:
                o_e = ctx.orig(h.start, id_end)[1]
            else:
                m = d.EMAIL.search(ctx.v.wide, ctx.orig(h.start, h.end)[1])
                if m is None or m.start() - ctx.orig(h.start, h.end)[1] > 6:
                    continue
                o_e = m.end()
            if not ctx.cancelled(h.start, o_s, o_e):
                found.append(_Finding(cat.THIRD_PARTY_PAYMENT, o_s, o_e, "pay_account"))

    def _wide(self, ctx: _Ctx, found: list[_Finding]) -> None:
        """E-mail, URLs and bare domains, 口令 tokens (wide view: offsets are original)."""
        wide = ctx.v.wide
        emails: list[tuple[int, int]] = []
        for m in d.EMAIL.finditer(wide):
            host = d.host_of(m.group(2))
            emails.append((m.start(), m.end()))
            if d.on_domains(host, self.domains):
                continue
            if not ctx.cancelled(ctx.compact_index(m.start()), m.start(), m.end()):
                found.append(_Finding(cat.THIRD_PARTY_CONTACT, m.start(), m.end(), "email"))
        urls: list[tuple[int, int]] = []
        for m in d.URL.finditer(wide):
            if any(a <= m.start() < b for a, b in emails):
                continue
            urls.append((m.start(), m.end()))
            self._url(ctx, found, m.group(), m.start(), m.end())
        if _SPACED.search(wide):  # letters spaced out: "w w w . j d . c o m"
            keep: list[int] = []
            for m in d.URL.finditer(wide.replace(" ", "")):
                if not keep:
                    keep = [i for i, ch in enumerate(wide) if ch != " "]
                a, b = keep[m.start()], keep[m.end() - 1] + 1
                if not any(x < b and a < y for x, y in urls + emails):
                    self._url(ctx, found, m.group(), a, b)
        for m in d.TOKEN.finditer(wide):
            if d.mixed_token(ctx.text[m.start() : m.end()]):
                found.append(_Finding(cat.THIRD_PARTY_LINK, m.start(), m.end(), "token"))

    def _url(self, ctx: _Ctx, found: list[_Finding], url: str, a: int, b: int) -> None:
        if d.on_domains(d.host_of(url), self.domains):
            return
        if not ctx.cancelled(ctx.compact_index(a), a, b):
            found.append(_Finding(cat.THIRD_PARTY_LINK, a, b, "url"))

    def _store(self, ctx: _Ctx, found: list[_Finding]) -> None:
        stores = [h for h in ctx.kind("store") if not ctx.allowed(h.start, h.end)]
        if not stores or ctx.kind("return"):
            return
        s = ctx.v.compact
        for h in stores:
            lo, hi = max(0, h.start - 30), min(len(s), h.end + 30)
            m = d.ADDRESS.search(s, lo, hi)
            if m is None:
                continue
            a, b = min(h.start, m.start()), max(h.end, m.end())
            o_s, o_e = ctx.orig(a, b)
            if not ctx.cancelled(a, o_s, o_e):
                found.append(_Finding(cat.THIRD_PARTY_CONTACT, o_s, o_e, "store_address"))
                return

    def _fraud(self, ctx: _Ctx, found: list[_Finding]) -> None:
        money = [h for h in ctx.kind("money") if not ctx.allowed(h.start, h.end)]
        if not money:
            return
        for off in ctx.kind("offplat"):
            if ctx.allowed(off.start, off.end):
                continue
            for mo in money:
                if abs(mo.start - off.start) > 16:
                    continue
                a, b = min(mo.start, off.start), max(mo.end, off.end)
                o_s, o_e = ctx.orig(a, b)
                if not ctx.clean_between(o_s, o_e, d.SENTENCE_END):
                    continue
                if ctx.cancelled(a, o_s, o_e) or ctx.negated(off.start):
                    continue
                found.append(_Finding(cat.FRAUD, o_s, o_e, "offplatform_payment"))
                return

    def _extortion(self, ctx: _Ctx, found: list[_Finding]) -> None:
        for t in ctx.kind("threat"):
            for r in ctx.kind("review"):
                if abs(r.start - t.start) <= 30:
                    a, b = min(r.start, t.start), max(r.end, t.end)
                    self._add(ctx, found, cat.EXTORTION, a, b, "review_threat")
                    return

    def _repeats(self, ctx: _Ctx, found: list[_Finding], sender: str, to: str | None) -> None:
        promo = bool(ctx.kind("promo")) or any(
            f.category in _ADVERT_CATEGORIES and f.detector != "phone" for f in found
        )
        s = ctx.v.compact
        if not promo or len(s) < self.config.spam_min_chars:
            return
        if self._spam.observe(sender, s, to):
            found.append(_Finding(cat.SPAM, 0, len(ctx.text), "repeat"))

    # ------------------------------------------------------------------ policy

    def _decide(self, found: list[_Finding], role: str, text: str | None = None) -> Verdict:
        if not found:
            return _new_verdict(Verdict, (A.ALLOW, (), (), (), text, (), (), ()))
        cfg = self.config
        seen: set[tuple[str, int, int]] = set()
        ev: list[Evidence] = []
        acts: list[ModerationAction] = []
        allowed: list[Evidence] = []
        for f in sorted(found, key=lambda f: (f.start, f.end, _ORDER[f.category])):
            key = (f.category, f.start, f.end)
            if key in seen:
                continue
            seen.add(key)
            action = cfg.action_for(f.category, role, f.detector)
            if f.doubtful and _RANK[action] > _RANK[cfg.doubtful_action]:
                action = cfg.doubtful_action
            match = f.match if f.match is not None else (text or "")[f.start : f.end]
            e = Evidence(f.category, f.start, f.end, match, f.detector)
            if action == A.ALLOW:
                allowed.append(e)
            else:
                ev.append(e)
                acts.append(action)
        if not ev:
            return Verdict(A.ALLOW, text=text, allowed=tuple(allowed))
        action = max(acts, key=_RANK.__getitem__)
        cats = tuple(sorted({e.category for e in ev}, key=_ORDER.__getitem__))
        clauses = tuple(dict.fromkeys(cat.CLAUSES[c] for c in cats))
        spans = _merge((e.start, e.end) for e in ev if e.end > e.start)
        shown: str | None = None
        if text is not None and action != A.BLOCK:
            masked = _merge((e.start, e.end) for e, a in zip(ev, acts, strict=True) if a == A.MASK)
            shown = _mask(text, masked)
        return Verdict(action, cats, clauses, spans, shown, tuple(ev), tuple(allowed), tuple(acts))


_SOFTWARE_EXT = (".exe", ".msi", ".apk", ".ipa", ".dmg", ".bat", ".cmd", ".sh", ".jar",
                 ".zip", ".rar", ".7z", ".tar", ".gz", ".dll", ".scr", ".vbs", ".ps1")  # fmt: skip

#: Could the wide view hold a link, an e-mail or a token? (A TLD or label after a dot is a
#: letter, so prices like 9.9 stay on the fast path.)
_WIDE_GUARD = re.compile(r"(?:[.@。点]|dot)\s*[a-z]|[¥$€£₤₳₴₵₰(][a-z0-9]{8}|://")
#: Findings that make a message an advert for the repeated-advertising window (a buyer's own
#: phone number does not).
_ADVERT_CATEGORIES = frozenset(
    {cat.THIRD_PARTY_LINK, cat.THIRD_PARTY_AD, cat.THIRD_PARTY_CONTACT, cat.SPAM}
)
_SPACED = re.compile(r"(?:[a-z0-9.] ){3}")
_DIGITS5 = d.DIGITS5.search
_MOBILE = d.MOBILE.search
_LANDLINE = d.LANDLINE.search
_new_verdict = tuple.__new__


def _ascii_alone(v: Views, h: Hit) -> bool:
    """An ASCII cue ('vx', 'sb', 'q') must not be part of a longer word ('new xbox', 'usb')."""
    o_s, o_e = v.span(h.start, h.end)
    w = v.wide
    before = w[o_s - 1] if o_s > 0 else " "
    after = w[o_e] if o_e < len(w) else " "
    return before not in _ASCII_LETTERS and after not in _ASCII_LETTERS


def _merge(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return tuple((s, e) for s, e in out)


def _mask(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    if not spans:
        return text
    chars = list(text)
    for s, e in spans:
        for i in range(s, e):
            if not chars[i].isspace():
                chars[i] = "*"
    return "".join(chars)
