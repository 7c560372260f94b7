"""The moderation engine: one pure object, built once, that checks every message.

``check_text`` takes a fast path for clean messages (two ``str.translate`` calls, one
Aho–Corasick pass and two small regular expressions); only a message with a possible finding
gets its offset map and the structured detectors (``feige.moderation.detectors``). The
engine then decides: the policy turns findings into one verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable

import ahocorasick_rs

from feige.domain import ModerationAction
from feige.moderation import categories as cat
from feige.moderation.classifier import MeaningModel
from feige.moderation.config import BUYER, ModerationConfig, policy_role
from feige.moderation.detectors import (
    contact,
    links,
    negation,
    payment,
    scams,
    shapes,
    solicit,
    terms,
    threats,
)
from feige.moderation.detectors.context import DetectionContext, Finding, stands_alone
from feige.moderation.detectors.spam import (
    ADVERT_CATEGORIES,
    SpamHistory,
    find_repeated_advert,
)
from feige.moderation.image import ImageScan, file_kind, scan, software_by_name
from feige.moderation.lexicon import ACTIVE, NUMERIC, PROMO, Hit, Lexicon
from feige.moderation.normalize import Views, collapse, tables, views
from feige.moderation.ocr import TextReader
from feige.moderation.verdict import Evidence, Verdict, mask, merge_spans
from feige.moderation.window import SplitWindow, is_fragment

_SEVERITY = {
    ModerationAction.ALLOW: 0,
    ModerationAction.MASK: 1,
    ModerationAction.REVIEW: 2,
    ModerationAction.BLOCK: 3,
}
_CATEGORY_ORDER = {c: i for i, c in enumerate(cat.CATEGORIES)}
#: Categories the meaning classifier knows: it runs when no detector found one of them.
_MEANING = frozenset({cat.ABUSE, cat.PORN_VULGAR_VIOLENCE, cat.EXTORTION, cat.MISUSE, cat.FRAUD})
_DIVERTING = frozenset(
    {cat.THIRD_PARTY_LINK, cat.THIRD_PARTY_CONTACT, cat.THIRD_PARTY_PAYMENT, cat.THIRD_PARTY_AD}
)
_ALLOW = ModerationAction.ALLOW
_ALLOW_EMPTY = Verdict(_ALLOW, text="")

#: Could the wide view hold a link, an e-mail or a token? (A TLD or label after a dot is a
#: letter, so prices like 9.9 stay on the fast path.) The alternation
#: ``(?:[.@。点]|dot)[\s\])}】）]*[a-z]|[¥$€£₤₳₴₵₰(][a-z0-9]{8}|://`` written with one
#: character class first and each alternative's own first character looked behind: Python's
#: regex engine tries an alternation that starts with classes at every position (a call of
#: its matcher each), while a pattern that starts with one class is skipped ahead in C to
#: where a match can start. The same matches (checked on the bench's and the verdict
#: bench's texts); the other patterns below are written the same way.
_MAYBE_LINK = re.compile(
    r"[.@。点d¥$€£₤₳₴₵₰(:](?:(?<=[.@。点])[\s\])}】）]*[a-z]|(?<=d)ot[\s\])}】）]*[a-z]"
    r"|(?<=[¥$€£₤₳₴₵₰(])[a-z0-9]{8}|(?<=:)//)"
)
_find_digits5 = contact.DIGITS5.search
_match_mobile = contact.MOBILE.match
_match_landline = contact.LANDLINE.match
#: A whole run of 10-15 digits: the only place a mobile or landline number can be (both
#: patterns take a whole run). Starts with a character class, so the search skips ahead in
#: C; the two patterns are then tried at the start of each such run only.
_find_phone_run = contact.PHONE_RUN.search
_maybe_shape = shapes.maybe_shape


def _digits_to_zero(text: str) -> str:
    """The text with every ASCII digit read as 0: what the fast path's answer depends on,
    apart from the numbers themselves (see ``Moderator._skeletons``, keyed by its UTF-8,
    ``_skeleton_of``; this str is for the shape gate of a new layout). Nine ``str.replace``
    calls (each a scan in C, the text itself when the digit is absent): a regular
    expression's substitution costs a search per digit (about 0.3 µs each, several µs for an
    order number), and ``str.translate`` misses its table on every other character."""
    return (
        text.replace("1", "0")
        .replace("2", "0")
        .replace("3", "0")
        .replace("4", "0")
        .replace("5", "0")
        .replace("6", "0")
        .replace("7", "0")
        .replace("8", "0")
        .replace("9", "0")
    )


#: Every ASCII digit as 0, in UTF-8 (``_skeleton_of``).
_ZERO_DIGIT_BYTES = bytes.maketrans(b"123456789", b"000000000")


def _skeleton_of(text: str) -> bytes:
    """The key of a text's skeleton in ``Moderator._skeletons`` and ``_layouts``:
    ``_digits_to_zero(text)`` in UTF-8 (surrogates passed, so texts with the same skeleton
    and only they share a key). An ASCII byte is never part of another character's
    encoding, so one ``bytes.translate`` of the encoded text reads its digits as 0: about
    half the cost of the nine ``str.replace`` calls, and the key is never decoded."""
    return text.encode("utf-8", "surrogatepass").translate(_ZERO_DIGIT_BYTES)


def _skeleton_automaton(patterns: list[str]) -> Callable[[bytes], list[tuple[int, int, int]]]:
    """Where one of ``patterns`` (each with its digits read as 0) is in a skeleton key
    (``_skeleton_of``): an automaton of the patterns in the same UTF-8, so a match is one of
    the pattern in the skeleton (a character's first byte is never another's continuation),
    and the key is asked without a str of it."""
    return ahocorasick_rs.BytesAhoCorasick(
        list(dict.fromkeys(p.encode("utf-8", "surrogatepass") for p in patterns)),
        matchkind=ahocorasick_rs.MATCHKIND_STANDARD,
    ).find_matches_as_indexes


#: The shapes whose gate reads a digit's value, not only where digits are: a mobile number
#: written backwards, and a 1 that reads 一 (另1家店, 加1下). Asked again of a known skeleton.
#: (``[0-9](?<![0-9][0-9])[0-9]{8}[3-9]1(?![0-9])|[另别]1[个家]店|另外那?1家|加1下``, one
#: class first.)
_find_digit_valued_shape = re.compile(
    r"[0-9另别加](?:(?<=[0-9])(?<![0-9][0-9])[0-9]{8}[3-9]1(?![0-9])|(?<=[另别])1[个家]店"
    r"|(?<=另)外那?1家|(?<=加)1下)"
).search
#: Where a digit stands for a shape that reads a 1 (``_find_digit_valued_shape``), in a
#: skeleton (every ASCII digit read as 0): ``[另别][0-9][个家]店|另外那?[0-9]家|加[0-9]下``.
#: Where a known skeleton could still hide a digit-valued answer, whatever its digits are,
#: is one of these, a run of digits as long as a phone number can be (10-15: a landline
#: with its area code, a mobile, with 86, 086 or 0086: ``_find_phone_run``) or a lexicon
#: pattern with a digit (the engine adds them, each with its digits read as 0, and asks an
#: Aho–Corasick automaton of them about the compact view with its digits read as 0: a
#: pattern's digits match any digits exactly there). A skeleton without any is *settled*
#: (see ``Moderator._skeletons``).
_SHAPE_DIGIT_SKELETONS = (
    "另0个店", "另0家店", "别0个店", "别0家店", "另外0家", "另外那0家", "加0下"
)  # fmt: skip
_find_ascii_digit = re.compile(r"[0-9]").search
#: A mobile number written backwards, at the start of a run (``_find_digit_valued_shape``).
_match_backwards_mobile = re.compile(r"[0-9]{9}[3-9]1(?![0-9])").match
_find_digit_runs = re.compile(r"[0-9][0-9]*").findall
#: Where a digit's value decides a shape from the text around it (the places of
#: ``_SHAPE_DIGIT_SKELETONS`` with any digit), one class first.
_find_shape_digit_place = re.compile(
    r"[另别加](?:(?<=[另别])[0-9][个家]店|(?<=另)外那?[0-9]家|(?<=加)[0-9]下)"
).search
#: A mobile number written backwards (the shape gate's only digit-valued question besides
#: the 1s of ``_find_shape_digit_place``).
_find_backwards_mobile = re.compile(r"[0-9](?<![0-9][0-9])[0-9]{8}[3-9]1(?![0-9])").search
#: How a known skeleton's texts are answered (``Moderator._skeletons``).
_ASK_COMPACT, _SETTLED, _ASK_TEXT = 0, 1, 2
#: Builds a Verdict (or an Evidence) from a full tuple of fields, skipping NamedTuple's
#: keyword handling: the allow verdict of the fast path is built for most messages.
_new_tuple = tuple.__new__


def _finding_order(f: Finding) -> tuple[int, int, int]:
    """The order ``_decide`` reads findings in: by span, then by category."""
    return f.start, f.end, _CATEGORY_ORDER[f.category]


class Moderator:
    """Checks text, images and files against rules 2.2.3–2.2.10 (docs/rules.md).

    Built once from a :class:`ModerationConfig`; ``check_*`` do no I/O. The only state is the
    bounded per-sender spam window.
    """

    def __init__(self, config: ModerationConfig | None = None) -> None:
        self.config = config or ModerationConfig()
        self.domains = tuple(dm.lower().strip(".") for dm in self.config.platform_domains)
        #: A link to one of those domains or a subdomain, with its path (the wide view).
        self._own_link = (
            re.compile(
                r"(?:https?://|(?<![a-z0-9.\-@/]))(?:[a-z0-9-]+\.)*(?:"
                + "|".join(re.escape(d) for d in self.domains)
                + r")(?![a-z0-9\-]|\.[a-z0-9])(?:[/?#:][a-z0-9._~%/?#:=&+\-]*)?"
            )
            if self.domains
            else None
        )
        self.lexicon = Lexicon(
            self.config.lexicon_paths, self.config.extra_terms, self.config.homophones
        )
        normal_tables = tables()
        self._to_compact = normal_tables.original_to_compact
        self._to_wide = normal_tables.wide
        self._find_link_char = re.compile(
            "[" + "".join(sorted(re.escape(ch) for ch in normal_tables.link_chars)) + "]"
        ).search
        self._find_active_cues = self.lexicon.active_patterns.find_matches_as_indexes
        self._find_fast = self.lexicon.fast_patterns.find_matches_as_indexes
        self._fast_masks = self.lexicon.fast_masks
        self._fast_masks_digit_free = self.lexicon.fast_masks_digit_free
        self._find_digit_cues = self.lexicon.digit_patterns.find_matches_as_indexes
        self._digit_masks = self.lexicon.digit_masks
        #: Skeletons (the text with its ASCII digits read as 0) of texts the fast path allowed
        #: -> the lexicon's answers from patterns without digits. Everything the fast path
        #: asks -- words, links, shapes, the classifier (it reads digit runs as one 0) --
        #: depends on where the digits are, not on their values, except: patterns holding
        #: a digit (asked again), whether a number is a phone (asked again) and a mobile
        #: written backwards (asked again). A text whose skeleton is known skips the rest:
        #: chat that differs only in order numbers, prices and dates. Off when a platform
        #: domain holds a digit (the own-link check reads digits there). Each entry:
        #: (those answers, settled, quiet, a possible piece). *Settled*: none of those
        #: questions can have another answer for a text of the skeleton -- the text has no
        #: ASCII digit, or no
        #: lexicon pattern with a digit can match where its digits are
        #: (``Lexicon.digit_skeletons``) and no run of digits is as long as a phone number, nor
        #: a digit where a digit-valued shape wants one (``_SHAPE_DIGIT_SKELETONS``); the answer
        #: is then the skeleton's. *Quiet*: settled, and not an advert for the spam window --
        #: nothing needs the compact view, which is then not built (``check_text``); a
        #: possible piece of a split contact goes to the split-message window, which reads
        #: texts. Whether a text is an advert or a possible piece is the same for every text
        #: of a skeleton (its compact view's length, letters and places of digits are). The
        #: flags are computed once per skeleton.
        #: *Asked of the text*: not settled only because of a run of digits as long as a
        #: phone number or a lexicon pattern of digits alone (12315), and every run of
        #: digits in the compact view is one in the text (no full-width digit, numeral or
        #: separator in or next to one): those questions are then asked of the text itself
        #: (``_text_holds_no_number``), without the compact view.
        self._skeletons: dict[bytes, tuple[int, int, bool, bool]] = {}
        #: Where a digit can change an answer of a skeleton, asked of its compact view with
        #: every ASCII digit read as 0 (see ``_SHAPE_DIGIT_SKELETONS``); the second without
        #: the lexicon's patterns of digits alone.
        self._find_digit_place_skeleton = _skeleton_automaton(
            [*_SHAPE_DIGIT_SKELETONS, *self.lexicon.digit_skeletons]
        )
        self._find_word_place_skeleton = _skeleton_automaton(
            [*_SHAPE_DIGIT_SKELETONS, *self.lexicon.mixed_digit_skeletons]
        )
        self._digits_only = self.lexicon.digits_only
        #: Skeletons of texts the slow path read -> the offset map and the lexicon's hits,
        #: kept when no lexicon pattern with an ASCII digit matched, and used for a text
        #: where none matches either: the same for every text of the skeleton then (a digit
        #: is one character in every view, and no pattern without a digit matches one), so
        #: a buyer giving another phone number in the same words skips both. Bounded like
        #: the others.
        #: Each with the skeleton's answer to the shape gate (see ``_run_detectors``).
        self._layouts: dict[bytes, tuple[list[int], list[int], tuple[Hit, ...], bool | None]] = {}
        self._find_digit_patterns = self.lexicon.patterns_with_digits.find_matches_as_indexes
        self._skeletons_on = bool(self.config.clean_cache) and not any(
            c.isdigit() for d in self.domains for c in d
        )
        self._spam_history = SpamHistory(
            self.config.spam_window,
            self.config.spam_max_senders,
            self.config.spam_similarity,
            self.config.spam_repeats,
        )
        #: Texts the stateless checks found clean -> (compact view, an advert for the spam
        #: window, can be a piece of a split contact, the allow verdict); texts of the slow
        #: path -> (compact view, an advert for the spam window, findings, verdict per
        #: policy role). Both bounded.
        self._clean: dict[str, tuple[str, bool, bool, Verdict]] = {}
        self._findings: dict[str, tuple[str, bool, tuple[Finding, ...], dict[str, Verdict]]] = {}
        #: The meaning classifier (abuse, threats, extortion … without a lexicon word).
        self.meaning: MeaningModel | None = (
            MeaningModel.load(threshold=self.config.meaning_threshold)
            if self.config.meaning_model
            else None
        )
        #: Recent pieces per (session, sender): contacts split across messages.
        self._window = SplitWindow(
            self.config.split_pieces, self.config.split_max_chars, self.config.split_max_keys
        )
        self._forget_pieces = self._window.forget
        #: Text in images (OCR), built on first use.
        self.text_reader = (
            TextReader(self.config.ocr_budget_s, self.config.ocr_max_side)
            if self.config.ocr
            else None
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
        session: object | None = None,
        ref: Hashable = None,
    ) -> Verdict:
        """Verdict for one text message. ``sender`` enables the repeated-advertising check;
        ``recipient`` (optional) lets it count distinct recipients; ``session`` (any hashable
        id) reads the message together with the sender's previous short pieces in that
        session, so a contact sent in pieces is caught on the piece that completes it;
        ``ref`` (any hashable, e.g. the client's message id) is kept with a piece and given
        back in ``Verdict.piece_refs`` by the message that completes it."""
        if not text:
            return _ALLOW_EMPTY
        known = self._clean.get(text)
        if known is None:
            seen = self._findings.get(text)  # the detectors' findings from before
            if seen is not None:
                verdict = self._found_before(seen, text, policy_role(role), sender, recipient)
                if session is None:
                    return verdict
                return self._check_in_window(verdict, text, seen[0], role, (session, sender), ref)
            skeleton: bytes | None = None
            plain: tuple[int, int, bool, bool] | None = None
            if self._skeletons_on:
                skeleton = _skeleton_of(text)
                plain = self._skeletons.get(skeleton)
                if plain is not None and (
                    plain[1] == _SETTLED
                    or (plain[1] == _ASK_TEXT and self._text_holds_no_number(text))
                ):  # allowed as the skeleton's texts are
                    fragment = plain[3]  # the same for every text of the skeleton
                    if plain[2]:  # quiet: nothing more to know
                        verdict = _new_tuple(
                            Verdict, (_ALLOW, (), (), (), text, (), (), (), (), ())
                        )
                        clean = self._clean
                        if len(clean) >= self.config.clean_cache:
                            clean.clear()
                        clean[text] = ("", False, fragment, verdict)  # no window reads the view
                        if session is None:
                            return verdict
                        if fragment:  # a possible piece: the window reads texts, not views
                            return self._check_in_window(
                                verdict, text, "", role, (session, sender), ref, True
                            )
                        self._forget_pieces((session, sender), None)  # a sentence ends it
                        return verdict
                    # An advert for the spam window, which reads the compact view: remembered
                    # as a clean text, then on as one (the fast path would only ask again).
                    compact = collapse(text.translate(self._to_compact))
                    known = self._remember_clean(text, compact, bool(plain[0] & PROMO), fragment)
            if known is None:
                compact = collapse(text.translate(self._to_compact))
                verdict = self._check_compact(
                    text, compact, role, sender, recipient, skeleton, plain
                )
                if session is None:
                    return verdict
                known = self._clean.get(text)  # a clean text has just been remembered
                if known is None or known[2] or verdict[0] is not _ALLOW:
                    return self._check_in_window(
                        verdict,
                        text,
                        compact,
                        role,
                        (session, sender),
                        ref,
                        None if known is None else (known[2] or None),
                    )
                self._forget_pieces((session, sender), None)  # a sentence ends the window
                return verdict
        # Clean before, for any role: only the windows are left, and what they need of the
        # text (its compact view, an advertising word, whether it can be a piece, its allow
        # verdict) is known.
        compact, promo, fragment, verdict = known
        if promo and sender is not None and self._spam_history.observe(sender, compact, recipient):
            verdict = self._decide(
                [Finding(cat.SPAM, 0, len(text), "repeat")], policy_role(role), text
            )
        if session is None:
            return verdict
        if not fragment and verdict[0] is _ALLOW:  # a sentence ends the sender's window
            self._forget_pieces((session, sender), None)
            return verdict
        return self._check_in_window(
            verdict, text, compact, role, (session, sender), ref, fragment or None
        )

    def _check_compact(
        self,
        text: str,
        compact: str,
        role: str,
        sender: str | None,
        recipient: str | None,
        skeleton: bytes | None = None,
        known: tuple[int, int, bool, bool] | None = None,
    ) -> Verdict:
        """One message alone. ``skeleton``: the text's, when the caller has it, with ``known``,
        its entry in ``_skeletons`` (None: no entry), which the caller found not settled for
        this text."""
        if self._skeletons_on:
            settled = False
            if skeleton is None:
                skeleton = _skeleton_of(text)
                known = self._skeletons.get(skeleton)
                settled = known is not None and (
                    known[1] == _SETTLED
                    or (known[1] == _ASK_TEXT and self._text_holds_no_number(text))
                )
            if known is not None:  # the same text up to its digits was allowed before
                cues = known[0]
                if not settled:  # ask again what the digits' values decide
                    digit_masks = self._digit_masks
                    for i, _s, _e in self._find_digit_cues(compact, overlapping=True):
                        cues |= digit_masks[i]
                if settled or (
                    not cues & ACTIVE
                    and not self._numbers(compact, cues)
                    and ("1" not in compact or _find_digit_valued_shape(compact) is None)
                ):
                    return self._allow_unless_repeated(
                        text, compact, role, sender, recipient, bool(cues & PROMO), False
                    )
        cues = 0  # what the lexicon sees: ACTIVE, PROMO, NUMERIC bits (one scan)
        masks = self._fast_masks
        matches = self._find_fast(compact, overlapping=True)
        for i, _s, _e in matches:
            cues |= masks[i]
        has_active_cue = cues & ACTIVE
        wide: str | None = None
        maybe_link = self._find_link_char(text) is not None or "dot" in compact
        if maybe_link:  # a character that may start a link: is one there, off the platform?
            wide = text.translate(self._to_wide)
            maybe_link = self._maybe_foreign_link(wide)
        # Numbers, if any, are order, tracking or model numbers (no phone shape, no cue).
        if (
            not has_active_cue
            and not maybe_link
            and not self._numbers(compact, cues)
            and not _maybe_shape(compact)
        ):
            remember: tuple[bytes, int] | None = None
            if skeleton is not None:  # remembered if the classifier lets it through
                free = self._fast_masks_digit_free
                skeleton_cues = 0
                for i, _s, _e in matches:
                    skeleton_cues |= free[i]
                remember = (skeleton, skeleton_cues)
            return self._allow_unless_repeated(
                text, compact, role, sender, recipient, bool(cues & PROMO), True, remember
            )
        if wide is None:
            wide = text.translate(self._to_wide)
        return self._run_detectors(
            text, wide, maybe_link, policy_role(role), sender, recipient, compact, skeleton
        )

    def _text_holds_no_number(self, text: str) -> bool:
        """For a skeleton asked of the text (see ``_skeletons``): no lexicon pattern of
        digits, no mobile or landline number and no mobile written backwards in the text,
        whose runs of digits are those of its compact view."""
        for pattern in self._digits_only:
            if pattern in text:
                return False
        run = _find_phone_run(text)
        while run is not None:
            start = run.start()
            if (
                _match_mobile(text, start)
                or _match_landline(text, start)
                or _match_backwards_mobile(text, start)
            ):
                return False
            run = _find_phone_run(text, run.end())
        return True

    @staticmethod
    def _numbers(compact: str, cues: int) -> bool:
        """A number that could be a phone or a card: five digits in a row, and a phone,
        bank or payment word, or the shape of a mobile or landline number."""
        if cues & NUMERIC:
            return _find_digits5(compact) is not None
        run = _find_phone_run(compact)  # a phone number is five digits in a row and more
        while run is not None:
            start = run.start()
            if _match_mobile(compact, start) or _match_landline(compact, start):
                return True
            run = _find_phone_run(compact, run.end())
        return False

    def _maybe_foreign_link(self, wide: str) -> bool:
        """Could the wide view hold a link, e-mail or token that is not the platform's own?
        Links to the platform's domains (``https://www.feige.example/item/1``) are read
        through here, so a shop's own product link stays on the fast path."""
        if _MAYBE_LINK.search(wide) is None:
            return False
        own = self._own_link
        return own is None or _MAYBE_LINK.search(own.sub(" ", wide)) is not None

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
        return scan(data, self.config.qr_try_harder, self.config.max_image_pixels, self.text_reader)

    def judge_image(self, found: ImageScan, role: str = BUYER) -> Verdict:
        """The verdict for a scan already made (:meth:`scan_image`): the policy only, no
        decoding, so it costs microseconds."""
        role = policy_role(role)
        if found.software:
            return self._decide(
                [Finding(cat.MISUSE, 0, 0, "file", match=found.software)], role, None
            )
        if not found.ok:
            return self._decide(
                [Finding(cat.MISUSE, 0, 0, "unreadable_image", True, found.error)], role, None
            )
        findings = [Finding(cat.THIRD_PARTY_QR_CODE, 0, 0, "qr", match=c) for c in found.codes]
        for code in found.codes:
            if payment.is_payment_link(code):
                findings.append(Finding(cat.THIRD_PARTY_PAYMENT, 0, 0, "qr_payment", match=code))
        if found.text:  # the picture's text, judged as a message of the same sender
            seen = self.check_text(found.text, role)
            for e, a in zip(seen.evidence, seen.actions, strict=True):
                doubtful = a is ModerationAction.REVIEW
                findings.append(Finding(e.category, 0, 0, "image_text", doubtful, e.match))
        verdict = self._decide(findings, role, None)
        if verdict.action is ModerationAction.MASK:  # pixels are not masked: not delivered
            block = ModerationAction.BLOCK
            actions = tuple(block if a is ModerationAction.MASK else a for a in verdict.actions)
            return verdict._replace(action=block, actions=actions)
        return verdict

    def check_file(self, data: bytes, name: str = "", role: str = BUYER) -> Verdict:
        """Verdict for a file: executables and software archives are ``misuse`` (2.2.10);
        images are checked like :meth:`check_image`."""
        if file_kind(data) is None and not software_by_name(name):
            return self.check_image(data, role)
        what = file_kind(data) or name.lower().rsplit(".", 1)[-1]
        return self._decide([Finding(cat.MISUSE, 0, 0, "file", match=what)], policy_role(role))

    def forget_sender(self, sender: str) -> None:
        """Drop a sender's spam window (e.g. after a reviewer dismissed a spam record)."""
        self._spam_history.forget(sender)

    # ------------------------------------------------------------------ the two paths

    def _allow_unless_repeated(
        self,
        text: str,
        compact: str,
        role: str,
        sender: str | None,
        recipient: str | None,
        promo_word: bool,
        classify: bool = True,
        skeleton: tuple[bytes, int] | None = None,
    ) -> Verdict:
        """Fast path: nothing to find, so allow, unless the meaning classifier objects or it
        is the sender's repeated advert. What the windows need of the text is remembered
        with it, and ``skeleton`` (the text's skeleton and the lexicon's digit-free answers)
        when the classifier lets it through. ``classify=False``: the skeleton was allowed
        before, so the classifier's answer (it reads digit runs as one 0) is known."""
        if classify and self.meaning is not None:
            result = self._read_meaning(compact, text)  # gated: most cost one small scan
            if result is not None:
                return self._decide([self._meaning_finding(result, text)], policy_role(role), text)
        cfg = self.config
        fragment = is_fragment(compact, cfg.split_max_chars)
        _compact, promo, _fragment, allow = self._remember_clean(
            text, compact, promo_word, fragment
        )
        if cfg.clean_cache and skeleton is not None:
            if len(self._skeletons) >= cfg.clean_cache:
                self._skeletons.clear()
            how = _SETTLED
            if _find_ascii_digit(compact) is not None:
                zeroed = _skeleton_of(compact)
                if _find_phone_run(compact) is not None or self._find_digit_place_skeleton(zeroed):
                    how = (
                        _ASK_TEXT
                        if not self._find_word_place_skeleton(zeroed)
                        and _find_digit_runs(compact) == _find_digit_runs(text)
                        else _ASK_COMPACT
                    )
            quiet = how != _ASK_COMPACT and not promo
            self._skeletons[skeleton[0]] = (skeleton[1], how, quiet, fragment)
        if promo and sender is not None and self._spam_history.observe(sender, compact, recipient):
            return self._decide(
                [Finding(cat.SPAM, 0, len(text), "repeat")], policy_role(role), text
            )
        return allow

    def _remember_clean(
        self, text: str, compact: str, promo_word: bool, fragment: bool
    ) -> tuple[str, bool, bool, Verdict]:
        """A clean text's entry in ``_clean`` (its compact view, an advert for the spam
        window, a possible piece, its allow verdict), remembered when the cache is on."""
        cfg = self.config
        promo = promo_word and len(compact) >= cfg.spam_min_chars
        allow: Verdict = _new_tuple(Verdict, (_ALLOW, (), (), (), text, (), (), (), (), ()))
        entry = (compact, promo, fragment, allow)
        if cfg.clean_cache:
            if len(self._clean) >= cfg.clean_cache:
                self._clean.clear()  # bounded; refills with what is said now
            self._clean[text] = entry
        return entry

    def _run_detectors(
        self,
        text: str,
        wide: str,
        maybe_link: bool,
        role: str,
        sender: str | None,
        recipient: str | None,
        compact: str | None = None,
        skeleton: bytes | None = None,
    ) -> Verdict:
        """Slow path: the offset map, then only the detectors whose cues are present. What
        the detectors find does not depend on the sender, so it is remembered per text (a
        pasted advert, a repeated question with an order number); the spam window and the
        policy still run for every message. ``compact`` and ``skeleton``: the text's, when
        the fast path has them (the offset map and the lexicon's hits are then remembered
        per skeleton, see ``_layouts``)."""
        known = self._findings.get(text)
        if known is not None:
            return self._found_before(known, text, role, sender, recipient)
        layout = None if skeleton is None else self._layouts.get(skeleton)
        if layout is not None and compact and self._find_digit_patterns(compact):
            layout = None  # a pattern with a digit is here: its hits are this text's own
        if layout is not None:
            v = Views(text, wide, compact or "", layout[0], layout[1])
            hits = list(layout[2])
            shape = layout[3]
            if shape is None:
                shape = _maybe_shape(v.compact)
            elif not shape:  # the skeleton's answer, unless a mobile is written backwards
                shape = _find_backwards_mobile(v.compact) is not None
        else:
            v = views(text, wide)
            hits = [
                h
                for h in self.lexicon.hits(self.lexicon.matches(v.compact))
                if not h.tag.ascii or stands_alone(v, h)
            ]
            if (
                skeleton is not None
                and v.compact == compact
                and not self._find_digit_patterns(compact)
            ):
                if len(self._layouts) >= self.config.clean_cache:
                    self._layouts.clear()
                # The shape gate of any text of the skeleton: the one of its text with every
                # digit read as 0, or a mobile written backwards -- unless a digit stands
                # where a shape reads a 1 (另1家店, 加1下): then asked of each text.
                skeleton_shape = (
                    None
                    if _find_shape_digit_place(compact) is not None
                    else _maybe_shape(_digits_to_zero(compact))
                )
                self._layouts[skeleton] = (v.starts, v.ends, tuple(hits), skeleton_shape)
                shape = _maybe_shape(v.compact)
            else:
                shape = _maybe_shape(v.compact)
        ctx = DetectionContext(v, hits, self.config)
        found: list[Finding] = []
        kinds = ctx.by_kind
        digits = _find_digits5(v.compact) is not None
        if "term" in kinds:
            terms.find_terms(ctx, found)
        if "im" in kinds:
            contact.find_im_contacts(ctx, found)
        if digits or "phone" in kinds:
            contact.find_phones(ctx, found)
        if digits:
            payment.find_bank_cards(ctx, found)
        if "pay" in kinds:
            payment.find_pay_accounts(ctx, found)
        if maybe_link:
            links.find_links(ctx, found, self.domains)
        if "store" in kinds:
            contact.find_store_addresses(ctx, found)
        if shape:
            shapes.find_disguised_numbers(ctx, found)
            shapes.find_accounts(ctx, found)
            shapes.find_diversion(ctx, found)
        if "money" in kinds and "offplat" in kinds:
            scams.find_offplatform_payment(ctx, found)
        if "threat" in kinds and "review" in kinds:
            scams.find_review_threats(ctx, found)
        if "harm" in kinds:
            threats.find_threats(ctx, found)
        if "sex" in kinds:
            solicit.find_solicitation(ctx, found)
        # The classifier reads what no detector named: not a message already found to
        # divert the buyer (a link, an id) or holding a meaning category.
        if self.meaning is not None and not any(
            f.category in _MEANING or (f.category in _DIVERTING and f.detector != "phone")
            for f in found
        ):
            compact = v.compact
            for a in ctx.hits_of("allow"):  # allow-listed phrases are declared innocent
                compact = compact[: a.start] + " " * (a.end - a.start) + compact[a.end :]
            self._classify(compact, text, found, v)
        if self.config.clean_cache:
            if len(self._findings) >= self.config.clean_cache:
                self._findings.clear()
            advert = bool(ctx.hits_of("promo")) or any(
                f.category in ADVERT_CATEGORIES and f.detector != "phone" for f in found
            )
            advert = advert and len(v.compact) >= self.config.spam_min_chars
            self._findings[text] = (v.compact, advert, tuple(found), {})
        if sender is not None:
            find_repeated_advert(ctx, found, self._spam_history, sender, recipient)
        return self._decide(found, role, text)

    def _found_before(
        self,
        known: tuple[str, bool, tuple[Finding, ...], dict[str, Verdict]],
        text: str,
        role: str,
        sender: str | None,
        recipient: str | None,
    ) -> Verdict:
        """A text the detectors read before: its findings again, the spam window, and the
        policy's verdict (remembered per policy role, unless the spam window adds to it)."""
        compact, advert, stateless, decided = known
        if advert and sender is not None and self._spam_history.observe(sender, compact, recipient):
            return self._decide([*stateless, Finding(cat.SPAM, 0, len(text), "repeat")], role, text)
        verdict = decided.get(role)
        if verdict is None:
            verdict = decided[role] = self._decide(list(stateless), role, text)
        return verdict

    def _classify(self, compact: str, text: str, found: list[Finding], v: Views) -> None:
        """The meaning classifier's finding for the whole message, if any."""
        result = self._read_meaning(compact, text, v)
        if result is not None:
            found.append(self._meaning_finding(result, text))

    def _read_meaning(
        self, compact: str, text: str, v: Views | None = None
    ) -> tuple[str, float] | None:
        """The classifier's answer; when it objects and the message holds a negation, it is
        asked again without what the message denies ("我没有骂你", "你别骚扰我了")."""
        assert self.meaning is not None
        result = self.meaning.classify(compact)
        if result is None or negation.may_deny(compact) is None:
            return result
        if v is None:
            v = views(text)
        denials = negation.scopes(v)
        if not denials:
            return result
        return self.meaning.classify(negation.without_denied(v, denials, compact))

    def _meaning_finding(self, result: tuple[str, float], text: str) -> Finding:
        """The classifier's finding: the category's action when it is sure, review below."""
        category, p = result
        sure = p >= self.config.meaning_sure
        return Finding(category, 0, len(text), "classifier", not sure, f"{p:.2f}")

    # ------------------------------------------------------------------ split messages

    def _check_in_window(
        self,
        alone: Verdict,
        text: str,
        compact: str,
        role: str,
        key: tuple[object, object],
        ref: Hashable,
        fragment: bool | None = None,
    ) -> Verdict:
        """Read the message after the sender's previous short pieces in the session. A
        violation that only the joined text shows is acted on here, on the piece that
        completes it: spans are clipped to this message and the earlier pieces are named in
        ``Verdict.pieces`` (and their refs in ``Verdict.piece_refs``) for the record.
        ``fragment=True``: the text is known to be a possible piece (a clean text's entry)."""
        window = self._window
        if alone.action is not _ALLOW or alone.allowed:
            window.clear(key)
            return alone
        limit = self.config.split_max_chars
        if fragment is None:
            fragment = is_fragment(compact, limit) or (
                len(compact) <= limit and bool(self._find_active_cues(compact))
            )
        pieces = window.recent(key) if fragment else None
        if not pieces:  # the first piece, or a sentence that ends the window
            window.push(key, text, fragment, ref)
            return alone
        joined_text = " ".join([*(t for t, _r in pieces), text])
        offset = len(joined_text) - len(text)
        joined = self._check_compact(
            joined_text, collapse(joined_text.translate(self._to_compact)), role, None, None
        )
        crossing = [
            (e, a)
            for e, a in zip(joined.evidence, joined.actions, strict=True)
            if e.start < offset < e.end
        ]
        if not crossing:
            window.push(key, text, fragment, ref)
            return alone
        window.clear(key)
        found = [
            Finding(e.category, max(0, e.start - offset), e.end - offset, e.detector, match=e.match)
            for e, _a in crossing
        ]
        verdict = self._decide(found, policy_role(role), text)
        return verdict._replace(
            pieces=tuple(t for t, _r in pieces), piece_refs=tuple(r for _t, r in pieces)
        )

    # ------------------------------------------------------------------ the decision

    def _decide(self, found: list[Finding], role: str, text: str | None = None) -> Verdict:
        """Each finding's action from the policy (doubtful ones capped); the strictest wins;
        mask-level spans are masked in what a delivered message shows."""
        if not found:
            return _new_tuple(Verdict, (_ALLOW, (), (), (), text, (), (), (), (), ()))
        cfg = self.config
        seen: set[tuple[str, int, int]] = set()
        evidence: list[Evidence] = []
        actions: list[ModerationAction] = []
        allowed: list[Evidence] = []
        for f in sorted(found, key=_finding_order) if len(found) > 1 else found:
            key = (f.category, f.start, f.end)
            if key in seen:
                continue
            seen.add(key)
            action = cfg.action_for(f.category, role, f.detector)
            if f.doubtful and _SEVERITY[action] > _SEVERITY[cfg.doubtful_action]:
                action = cfg.doubtful_action
            match = f.match if f.match is not None else (text or "")[f.start : f.end]
            e: Evidence = _new_tuple(Evidence, (f.category, f.start, f.end, match, f.detector))
            if action == ModerationAction.ALLOW:
                allowed.append(e)
            else:
                evidence.append(e)
                actions.append(action)
        if not evidence:
            return _new_tuple(Verdict, (_ALLOW, (), (), (), text, (), tuple(allowed), (), (), ()))
        action = max(actions, key=_SEVERITY.__getitem__)
        categories = tuple(sorted({e.category for e in evidence}, key=_CATEGORY_ORDER.__getitem__))
        clauses = tuple(dict.fromkeys(cat.CLAUSES[c] for c in categories))
        spans = merge_spans((e.start, e.end) for e in evidence if e.end > e.start)
        shown: str | None = None
        if text is not None and action != ModerationAction.BLOCK:
            masked = merge_spans(
                (e.start, e.end)
                for e, a in zip(evidence, actions, strict=True)
                if a == ModerationAction.MASK
            )
            shown = mask(text, masked)
        return _new_tuple(
            Verdict,
            (
                action,
                categories,
                clauses,
                spans,
                shown,
                tuple(evidence),
                tuple(allowed),
                tuple(actions),
                (),
                (),
            ),
        )
