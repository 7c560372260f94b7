"""Configuration of the moderation engine: defaults from docs/rules.md, all overridable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from feige.domain import ModerationAction
from feige.moderation import categories as cat

#: The two policy roles. Robots and system messages speak for the shop, so they are "agent".
BUYER = "buyer"
AGENT = "agent"


def policy_role(role: str) -> str:
    """Map a sender role (docs/rules.md §2.1) to a policy role."""
    return BUYER if str(role) == BUYER else AGENT


def _default_policy() -> Mapping[tuple[str, str], ModerationAction]:
    """category x role -> action. The shop diverting buyers, fraud, political, porn, extortion,
    abuse: block. A buyer's contact details or links are masked (they protect the buyer too);
    doubtful categories for buyers go to review."""
    table: dict[tuple[str, str], ModerationAction] = {}
    for category in cat.CATEGORIES:
        table[(category, AGENT)] = ModerationAction.BLOCK
        table[(category, BUYER)] = ModerationAction.BLOCK
    table[(cat.MISUSE, AGENT)] = ModerationAction.REVIEW
    table.update(
        {
            (cat.THIRD_PARTY_CONTACT, BUYER): ModerationAction.MASK,
            (cat.THIRD_PARTY_LINK, BUYER): ModerationAction.MASK,
            (cat.THIRD_PARTY_PAYMENT, BUYER): ModerationAction.MASK,
            (cat.THIRD_PARTY_AD, BUYER): ModerationAction.REVIEW,
            (cat.EXTORTION, BUYER): ModerationAction.REVIEW,
            (cat.MISUSE, BUYER): ModerationAction.REVIEW,
        }
    )
    return MappingProxyType(table)


def _default_detector_policy() -> Mapping[tuple[str, str], ModerationAction]:
    """Overrides by detector x role, applied before the category table. A buyer gives its own
    phone number to the shop it buys from (docs/rules.md 2.2.3–2.2.10); executables and software
    archives are blocked outright."""
    return MappingProxyType(
        {
            ("phone", BUYER): ModerationAction.ALLOW,
            ("file", BUYER): ModerationAction.BLOCK,
            ("file", AGENT): ModerationAction.BLOCK,
        }
    )


@dataclass(frozen=True)
class ModerationConfig:
    """Everything the engine needs; built once, then shared by every check."""

    #: The platform's own domains: links to them and their subdomains are allowed.
    platform_domains: tuple[str, ...] = ("feige.example", "shop.example")
    #: (category, policy role) -> action.
    policy: Mapping[tuple[str, str], ModerationAction] = field(default_factory=_default_policy)
    #: (detector, policy role) -> action; wins over ``policy``.
    detector_policy: Mapping[tuple[str, str], ModerationAction] = field(
        default_factory=_default_detector_policy
    )
    #: Action for a hit marked doubtful (``?term`` in a lexicon) when the table says block.
    doubtful_action: ModerationAction = ModerationAction.REVIEW
    #: Extra lexicon directories or files (same file names as the packaged ones).
    lexicon_paths: tuple[str | Path, ...] = ()
    #: Extra terms by file stem (category, ``cue.*`` or ``allow``), e.g. {"abuse": ("…",)}.
    extra_terms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Also match one-character pinyin homophones of ``~`` cue words (薇信, 威信, …).
    homophones: bool = True
    #: Max characters between an IM cue and the id after it (compact view).
    im_gap: int = 4
    #: Max characters between a negation and the hit it cancels (compact view).
    negation_gap: int = 8
    #: Max distance between a bank/pay cue and a card number (compact view).
    card_cue_window: int = 12
    #: Spam: messages remembered per sender, senders remembered, similarity and repeat count.
    spam_window: int = 20
    spam_max_senders: int = 10_000
    spam_similarity: float = 0.7
    spam_repeats: int = 3
    spam_min_chars: int = 8
    #: The meaning classifier (models/abuse.tsv.gz): on or off, the probability from which it
    #: flags a message (None: the model's own), and from which its finding takes the
    #: category's action (below: review).
    meaning_model: bool = True
    meaning_threshold: float | None = None
    meaning_sure: float = 0.8
    #: Texts remembered as clean by the stateless checks (lexicon, detectors, classifier):
    #: chat repeats itself (greetings, quick replies), and a repeat then costs a lookup. The
    #: spam and split-message windows still see every message. 0 turns it off.
    clean_cache: int = 20_000
    #: Split messages: pieces read together per (session, sender) (the last one included),
    #: longest piece kept (compact characters), (session, sender) keys remembered.
    split_pieces: int = 3
    split_max_chars: int = 16
    split_max_keys: int = 50_000
    #: Images: try harder (inverted, blurred, sharpened, rescaled) when the first read fails.
    qr_try_harder: bool = True
    max_image_pixels: int = 40_000_000
    #: Text in images (OCR): on or off, the time budget per image, the longer side read at.
    ocr: bool = True
    ocr_budget_s: float = 2.0
    ocr_max_side: int = 960

    def action_for(self, category: str, role: str, detector: str = "") -> ModerationAction:
        """The policy action for one hit."""
        key = (detector, role)
        if detector and key in self.detector_policy:
            return self.detector_policy[key]
        return self.policy.get((category, role), ModerationAction.BLOCK)

    def with_domains(self, *domains: str) -> ModerationConfig:
        """A copy with more platform domains (``--allow-domain``)."""
        from dataclasses import replace

        extra = tuple(d.strip().lower().strip(".") for d in domains if d.strip())
        return replace(self, platform_domains=self.platform_domains + extra)
