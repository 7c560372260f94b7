"""Round 3: denials (detectors/negation.py), the 砍一刀 of bargaining, offers of sexual
services (detectors/solicit.py) and accounts traded (我的是 …) -- each a family, with the
near misses that must pass."""

from __future__ import annotations

import pytest

from feige.domain import ModerationAction as A
from feige.moderation import ModerationConfig, Moderator


@pytest.fixture(scope="module")
def plain() -> Moderator:
    """Without the classifier: what the detectors find by themselves."""
    return Moderator(ModerationConfig(meaning_model=False))


@pytest.mark.parametrize(
    "text",
    [
        "我不会骚扰你的",
        "放心，我绝对不会骚扰你",
        "我不骚扰你了",
        "我们不卖黄片",
        "请不要曝光我的信息",
        "我不会砍你的，放心",
        "我没有骂你",
        "你别骚扰我了",
    ],
)
def test_a_denied_act_passes(mod: Moderator, text: str) -> None:
    assert mod.check_text(text, "buyer").action is A.ALLOW, text


@pytest.mark.parametrize(
    "text",
    [
        "别逼我砍你",  # the causative ends the denial: 砍你 is said
        "信不信我砍你一刀",  # A-不-A is a question
        "不弄死你我不姓王",  # an oath after the denied act
        "看我不打死你",  # a dare
        "你再不退款我就天天骚扰你",  # 就 ends the denial
        "不给好评就把你地址发网上",
    ],
)
def test_a_threat_that_only_looks_denied_stays(plain: Moderator, text: str) -> None:
    assert plain.check_text(text, "buyer").action is not A.ALLOW, text


def test_insults_built_on_a_negation_stay(mod: Moderator) -> None:
    assert mod.check_text("不要脸的客服", "buyer").action is not A.ALLOW
    assert mod.check_text("你怎么不去死", "buyer").action is not A.ALLOW


@pytest.mark.parametrize(
    "text", ["老板能砍你一刀吗", "帮我砍两刀呗", "拼多多砍一刀，帮帮忙", "可以砍你一刀吗，差一点"]
)
def test_the_bargaining_cut_passes(mod: Moderator, text: str) -> None:
    assert mod.check_text(text, "buyer").action is A.ALLOW, text


@pytest.mark.parametrize("text", ["我要砍你一刀", "老子砍你一刀", "信不信我砍你两刀"])
def test_a_cut_from_a_speaker_who_means_it_is_a_threat(plain: Moderator, text: str) -> None:
    assert plain.check_text(text, "buyer").action is A.BLOCK, text


@pytest.mark.parametrize(
    "text", ["小姐姐陪聊，私我", "原味丝袜出售，懂的来", "学生妹可约", "包夜一晚八百，加我"]
)
def test_an_offer_of_sexual_services(plain: Moderator, text: str) -> None:
    v = plain.check_text(text, "agent")
    assert "porn_vulgar_violence" in v.categories, text
    assert any(e.detector == "solicitation" for e in v.evidence)


@pytest.mark.parametrize(
    "text",
    [
        "内衣都有货，尺码齐全",
        "小姐姐你好，请问有什么可以帮您",
        "能安排上门安装吗",
        "模特身高175穿M码",
    ],
)
def test_either_half_of_an_offer_alone_passes(mod: Moderator, text: str) -> None:
    assert mod.check_text(text, "agent").action is A.ALLOW, text


@pytest.mark.parametrize(
    "text",
    ["老板你扣多少？我的是1625927087", "你的🐧是多少，我的是28764512", "留个号吧，我的是 87654321"],
)
def test_an_account_given_in_exchange(plain: Moderator, text: str) -> None:
    assert "third_party.contact" in plain.check_text(text, "buyer").categories, text


@pytest.mark.parametrize(
    "text", ["你尺码多少？我的是170", "你订单号多少？我的是123456789", "运费多少？我的是12000"]
)
def test_numbers_traded_about_an_order_pass(mod: Moderator, text: str) -> None:
    assert mod.check_text(text, "buyer").action is A.ALLOW, text


@pytest.mark.parametrize(
    "text",
    [
        "原味瓜子出售，一次买两斤送一斤",
        "成人款有货，私聊发你尺码表",
        "我妹妹明天上门取件",
        "私房菜调料包出售",
        "床单全套出售，私聊",
    ],
)
def test_everyday_senses_of_the_offer_words_pass(mod: Moderator, text: str) -> None:
    assert "porn_vulgar_violence" not in mod.check_text(text, "agent").categories, text
