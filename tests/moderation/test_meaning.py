"""The meaning classifier (classifier.py, models/abuse.tsv.gz): loaded from the package,
flags abuse and threats no lexicon entry names, leaves ordinary complaints alone."""

from __future__ import annotations

import pytest

from feige.domain import ModerationAction as A
from feige.moderation import ModerationConfig, Moderator
from feige.moderation.classifier import CLASSES, MeaningModel
from feige.moderation.normalize import normalize_term


def test_packaged_model_loads() -> None:
    model = MeaningModel.load()
    assert model.classes == CLASSES
    assert len(model.grams) > 1000 and model.triggers > 50
    p = model.probabilities(normalize_term("你脑子是不是有问题"))
    assert abs(sum(p) - 1.0) < 1e-6


@pytest.mark.parametrize(
    "text", ["你脑子是不是有问题", "蠢得跟猪一样", "你算什么东西", "你就是个废物"]
)
def test_insults_without_lexicon_words(mod: Moderator, text: str) -> None:
    v = mod.check_text(text, "buyer")
    assert v.action != A.ALLOW and "abuse" in v.categories, v


@pytest.mark.parametrize(
    "text",
    [
        "质量太差了，我要退货",
        "快递太慢了气死我了",
        "如果解决不了我会如实评价",
        "这价格杀疯了吧",
        "狗狗的衣服有大号吗",
        "亲，您给个好评吧，谢谢",
    ],
)
def test_complaints_pass(mod: Moderator, text: str) -> None:
    assert mod.check_text(text, "buyer").action == A.ALLOW


def test_model_can_be_switched_off() -> None:
    mod = Moderator(ModerationConfig(meaning_model=False))
    assert mod.meaning is None
    assert mod.check_text("你脑子是不是有问题", "buyer").action == A.ALLOW


def test_unsure_findings_go_to_review() -> None:
    mod = Moderator(ModerationConfig(meaning_sure=1.01))
    v = mod.check_text("你脑子是不是有问题", "buyer")
    assert v.action == A.REVIEW and v.evidence[0].detector == "classifier"


@pytest.mark.parametrize("text", ["客服2", "客服12", "小王", "A店3"])
def test_short_names_are_not_scored(mod: Moderator, text: str) -> None:
    """An agent's display name is checked as shop text; a few characters are no evidence."""
    assert mod.check_text(text, "agent").action == A.ALLOW


@pytest.mark.parametrize("text", ["傻", "骗子", "死你"])
def test_fewer_letters_than_the_minimum_are_not_scored(text: str) -> None:
    """Scored, these would be flagged; with fewer than ``MIN_LETTERS`` letters they are not
    scored at all (however short the text, and whatever its first characters are)."""
    model = MeaningModel.load()
    compact = normalize_term(text)
    assert max(model.probabilities(compact)[1:]) >= model.threshold
    assert model.classify(compact) is None
