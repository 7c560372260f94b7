"""Spam (2.2.7) beyond lexicon terms: near-duplicate advertising from one sender, found by a
per-sender window of character shingles.

Only messages that look promotional enter the window, so ordinary chat costs nothing. Exact
Jaccard over 3-gram sets is cheaper than MinHash for windows of a few dozen messages.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from feige.moderation import categories as cat
from feige.moderation.detectors.context import DetectionContext, Finding

#: Findings that make a message an advert for the window (a buyer's own phone number does
#: not).
ADVERT_CATEGORIES = frozenset(
    {cat.THIRD_PARTY_LINK, cat.THIRD_PARTY_AD, cat.THIRD_PARTY_CONTACT, cat.SPAM}
)

#: Texts whose shingles are remembered (see ``SpamHistory._grams``).
_GRAMS_KEPT = 4096


def shingles(compact: str, n: int = 3) -> frozenset[str]:
    if len(compact) <= n:
        return frozenset((compact,))
    return frozenset([compact[i : i + n] for i in range(len(compact) - n + 1)])


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


@dataclass(slots=True)
class _Cluster:
    """Near-duplicates seen from one sender: one representative, a count, the recipients."""

    grams: frozenset[str]
    count: int
    recipients: set[str | None]


class SpamHistory:
    """In-memory, bounded: ``window`` clusters per sender, ``max_senders`` senders (LRU).

    A repeated advert joins its cluster, so a spammer's window stays one entry long and each
    check compares against few representatives.
    """

    def __init__(self, window: int, max_senders: int, similarity: float, repeats: int) -> None:
        self.window = window
        self.max_senders = max_senders
        self.similarity = similarity
        self.repeats = repeats
        self._by_sender: OrderedDict[str, deque[_Cluster]] = OrderedDict()
        #: Shingles per compact text (bounded, cleared when full): a pasted advert is
        #: observed again and again, and its shingles are the costly part.
        self._grams: dict[str, frozenset[str]] = {}

    def observe(self, sender: str, compact: str, recipient: str | None = None) -> bool:
        """Remember this message; True when it is the ``repeats``-th near-duplicate (to as
        many distinct recipients when recipients are known)."""
        grams = self._grams.get(compact)
        if grams is None:
            if len(self._grams) >= _GRAMS_KEPT:
                self._grams.clear()
            grams = self._grams[compact] = shingles(compact)
        seen = self._by_sender.get(sender)
        if seen is None:
            seen = deque(maxlen=self.window)
            self._by_sender[sender] = seen
            if len(self._by_sender) > self.max_senders:
                self._by_sender.popitem(last=False)
        else:
            self._by_sender.move_to_end(sender)
        n, t = len(grams), self.similarity
        same = t <= 1.0  # a repeated text's remembered shingles: similarity 1 without a count
        for cluster in reversed(seen):
            other = cluster.grams
            m = len(other)
            # |A∩B|/|A∪B| <= min/max of the sizes: skip pairs that cannot reach the threshold.
            if (other is grams and same) or (
                (n >= t * m if n <= m else m >= t * n) and jaccard(grams, other) >= t
            ):
                cluster.count += 1
                cluster.recipients.add(recipient)
                if seen[-1] is not cluster:  # most often it is the latest already
                    seen.remove(cluster)
                    seen.append(cluster)
                if None in cluster.recipients:
                    return cluster.count >= self.repeats
                return len(cluster.recipients) >= self.repeats
        seen.append(_Cluster(grams, 1, {recipient}))
        return self.repeats <= 1

    def forget(self, sender: str) -> None:
        self._by_sender.pop(sender, None)

    def __len__(self) -> int:
        return len(self._by_sender)


def find_repeated_advert(
    ctx: DetectionContext,
    found: list[Finding],
    history: SpamHistory,
    sender: str,
    recipient: str | None,
) -> None:
    """The message is an advert (a promotion word, or a finding of an advertising kind other
    than a phone number) and the sender's window holds enough near-duplicates of it."""
    promo = bool(ctx.hits_of("promo")) or any(
        f.category in ADVERT_CATEGORIES and f.detector != "phone" for f in found
    )
    s = ctx.views.compact
    if not promo or len(s) < ctx.config.spam_min_chars:
        return
    if history.observe(sender, s, recipient):
        found.append(Finding(cat.SPAM, 0, len(ctx.text), "repeat"))
