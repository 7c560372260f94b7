"""What the full-auto robot does with one buyer message (docs/robot-modes.md, "Full-auto"):
answer it, hand the buyer to a person, or stay silent (an unanswered question). Pure.

Hand-over comes first, in this order: the buyer asks for a person ("转人工", "人工",
"找客服" …: the robot's hand-over phrases), the message holds one of the shop's
interception words (投诉, 12315 … by default; a shop sets its own), or the buyer is angry
(a small anger lexicon, below). Otherwise the robot answers from the knowledge base when its
confidence reaches the threshold; below it, or for what it cannot read (an image, a card),
the question is unanswered, and the caller counts it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from feige.robot.entries import AnswerContext, fill_answer
from feige.robot.retriever import INTERCEPTION_WORDS, Robot
from feige.robot.text import normalize

#: Why a session went to a human (the ``handover`` event's ``reason``).
REQUESTED = "requested"  # the buyer asked in words ("转人工" …)
BUTTON = "button"  # the buyer pressed the chat window's 转人工 button
INTERCEPTED = "intercepted"  # one of the shop's interception words
UNANSWERED = "unanswered"  # questions in a row the robot could not answer
ANGER = "anger"  # the buyer is angry
MODE_CHANGED = "mode_changed"  # the shop left full-auto while the robot served the session
REASONS = (REQUESTED, BUTTON, INTERCEPTED, UNANSWERED, ANGER, MODE_CHANGED)

#: Words and phrases of an angry buyer (checked on the compact text, like the hand-over
#: phrases). Insults the compliance engine blocks never reach the robot: a blocked message
#: is not delivered (docs/rules.md 2.2.3–2.2.10).
ANGER_WORDS = (
    "气死", "生气", "愤怒", "火大", "恼火", "烦死", "受够了", "忍无可忍", "太过分", "过分了",
    "垃圾", "什么破", "破玩意", "坑人", "坑爹", "骗人", "骗钱", "黑店", "无良", "太差劲",
    "差劲", "恶心", "无语", "搞什么", "有病", "神经病", "脑子有病", "妈的", "他妈", "tmd",
    "nmd", "wtf", "别敷衍", "敷衍我", "机器人听不懂", "答非所问", "听不懂人话",
)  # fmt: skip

# Three or more exclamation marks in a row ("！！！", "!!!") read as shouting.
_SHOUTING = re.compile(r"[!！]{3,}")


@dataclass(frozen=True, slots=True)
class Turn:
    """The robot's decision on one buyer message.

    ``kind``: ``answer`` (``text`` to send, ``question`` the matched entry), ``handover``
    (``reason``, ``detail``: the word that triggered it) or ``miss`` (unanswered)."""

    kind: str
    text: str | None = None
    question: str | None = None
    confidence: float = 0.0
    reason: str | None = None
    detail: str | None = None


def _words(words: Sequence[str]) -> tuple[str, ...]:
    return tuple(w for w in (normalize(x) for x in words) if w)


def angry(text: str) -> str | None:
    """The anger word (or ``!!!``) the text holds, else None."""
    if _SHOUTING.search(unicodedata.normalize("NFKC", text)):
        return "!!!"
    compact = normalize(text)
    return next((w for w in ANGER_WORDS if w in compact), None)


def intercepted(text: str, words: Sequence[str]) -> str | None:
    """The first interception word the text holds, else None."""
    compact = normalize(text)
    return next((w for w in _words(words) if w in compact), None)


def decide(
    robot: Robot,
    text: str | None,
    context: AnswerContext | None = None,
    interception_words: Sequence[str] | None = None,
) -> Turn:
    """The robot's turn for one buyer message; ``text`` None: a message it cannot read
    (image, card). ``interception_words`` None: the platform's defaults."""
    if text is None or not text.strip():
        return Turn("miss")
    if robot.handover_reason(text) == "handover":
        return Turn("handover", reason=REQUESTED, confidence=1.0)
    words = INTERCEPTION_WORDS if interception_words is None else interception_words
    word = intercepted(text, words)
    if word is not None:
        return Turn("handover", reason=INTERCEPTED, detail=word, confidence=1.0)
    mood = angry(text)
    if mood is not None:
        return Turn("handover", reason=ANGER, detail=mood, confidence=1.0)
    ranked = robot.candidates(text, limit=2)
    if not ranked:
        return Turn("miss")
    best = ranked[0]
    if best.confidence < robot.config.threshold:
        return Turn("miss", question=best.entry.question, confidence=best.confidence)
    answer = fill_answer(best.entry.answer, context)
    if answer is None:  # the session lacks a value the answer needs: never half a sentence
        return Turn("miss", question=best.entry.question, confidence=best.confidence)
    return Turn("answer", text=answer, question=best.entry.question, confidence=best.confidence)
