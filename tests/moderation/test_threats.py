"""Threats and coercion by their structure (detectors/threats.py): a harm verb against the
person or their property, stalking, a condition tying a demand to exposure, harassment or
leverage -- and the everyday senses of the same words, which pass."""

from __future__ import annotations

import pytest

from feige.domain import ModerationAction as A
from feige.moderation import ModerationConfig, Moderator


@pytest.fixture(scope="module")
def plain() -> Moderator:
    """Without the classifier: what the detector finds by itself."""
    return Moderator(ModerationConfig(meaning_model=False))


def _detectors(mod: Moderator, text: str, role: str = "buyer") -> set[str]:
    return {e.detector for e in mod.check_text(text, role).evidence}


@pytest.mark.parametrize(
    "text",
    [
        "再逼我，我就捅了你",  # verb then target
        "老子迟早砍死你们",
        "惹急了我打断你的腿",
        "我要烧了你的仓库",  # wrecking property
        "明天就砸了你们店",
        "我叫人把你铺子砸了",  # 把 + target + verb
        "等着，我去你们店里泼油漆",  # going to their place
        "信不信我找人收拾你",  # after a speaker
        "小心我揍你",
        "我拿硫酸泼你",
        "再骗人要你狗命",  # a life
        "我打听到你家住址了",  # stalking
        "过两天我就去你家门口堵你",
    ],
)
def test_harm_is_violence(plain: Moderator, text: str) -> None:
    v = plain.check_text(text, "buyer")
    assert v.action == A.BLOCK and "porn_vulgar_violence" in v.categories, v
    assert "threat" in _detectors(plain, text)


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("不给退款我就曝光你们", "buyer"),  # exposure
        ("再不赔钱，我天天打你电话", "buyer"),  # harassment
        ("赔我八百块，不然差评加投诉", "buyer"),  # a review held over money
        ("不改成好评，售后一概不管", "agent"),  # service held over a review
        ("敢给差评就把你的照片发到网上", "agent"),
    ],
)
def test_coercion_is_extortion(plain: Moderator, text: str, role: str) -> None:
    v = plain.check_text(text, role)
    assert "extortion" in v.categories and v.action != A.ALLOW, v
    assert "coercion" in _detectors(plain, text, role)


@pytest.mark.parametrize(
    "text",
    [
        "充电宝炸了你们管不管",  # a battery, not a threat
        "手机烧了你们给换吗",
        "洗了一次就废了，你们这质量",  # two clauses
        "帮我砍一刀",
        "秒杀你们还有吗",
        "孩子发烧了你们能快点发货吗",
        "打死我也想不到这么快",
        "再不发货我就取消订单了",  # a condition without coercion
        "不处理的话我只能申请平台介入",
        "如果解决不了我会如实评价",
        "我不会给差评的，能退款吗",
        "我每天打你们电话都没人接",
        "知道你们的退货地址了",
        "能安排上门安装吗",
        "我把你的地址发给快递了，放心",
        "我们会修理你的手机",
        "我们把你的包裹拆了看一下",
        "不好意思打断你们",
        "用了两天就废了你们也不管",
        "小心别泼你身上",
    ],
)
def test_everyday_senses_pass(plain: Moderator, text: str) -> None:
    assert plain.check_text(text, "buyer").action == A.ALLOW, text


def test_a_negated_consequence_is_no_coercion(plain: Moderator) -> None:
    """(The lexicon's 骚扰你 is another matter: extortion terms are not negatable.)"""
    assert "coercion" not in _detectors(plain, "我们不会曝光你的，不退款也可以商量", "agent")
