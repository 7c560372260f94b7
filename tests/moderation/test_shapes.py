"""Shape detectors (detectors/shapes.py, links.py): contacts and links by how they are
written, not by a list of names; and the ordinary numbers and words they must leave alone."""

from __future__ import annotations

import pytest

from feige.domain import ModerationAction as A
from feige.moderation import Moderator
from feige.moderation.detectors.shapes import cn_number


@pytest.mark.parametrize(
    ("text", "detector"),
    [
        ("有事打 138x1234x5678", "cut_number"),
        ("电话 139杠8765杠4321 找我", "cut_number"),
        ("call me one three eight one two three four five six seven eight", "number_words"),
        ("号码 一three 八one 二three 四five 六seven 八", "number_words"),
        ("一百三十八亿一千二百三十四万五千六百七十八 打我", "chinese_number"),
        ("反过来读 87654321831", "reversed_number"),
        ("l38l234567o 找我", "letter_digits"),
        ("加我绿泡泡 lisa2024 发你内部价", "account"),
        ("我的是 tbshop5841", "account"),
        ("扣搜 96988788 就能找到我", "account"),
    ],
)
def test_disguised_contacts(mod: Moderator, text: str, detector: str) -> None:
    v = mod.check_text(text, "agent")
    assert v.action == A.BLOCK, v
    assert any(e.detector == detector for e in v.evidence), v.evidence


@pytest.mark.parametrize(
    "text",
    [
        "hxxps://www.cheapbags.com/item/1",
        "www[.]haohuo88[.]com",
        "去 mybuy(.)cn 看看",
        "dazhe365点com 下单",
        "outlet.c0m 更便宜",
        "haohuo{.}top",
        "cheap【.】net",
    ],
)
def test_defanged_links(mod: Moderator, text: str) -> None:
    assert mod.check_text(text, "agent").categories == ("third_party.link",)


@pytest.mark.parametrize(
    "text",
    ["tb搜好物小铺，便宜二十", "某宝上我们也有店", "我们另一个店更便宜", "dy搜店名直播间更便宜"],
)
def test_diversion(mod: Moderator, text: str) -> None:
    assert "third_party.ad" in mod.check_text(text, "agent").categories


@pytest.mark.parametrize(
    "text",
    [
        "身高175体重140斤穿什么码",
        "尺寸是 38x24x12 厘米",
        "订单号 123456789012345678 帮我查下",
        "快递单号 SF1234567890123",
        "库存还有 12345 件",
        "帮我搜一下 RTX4060 的型号",
        "一共三件，一百三十八块",
        "one size fits all 均码",
        "在app搜一下就有",
        "卫星导航支架还有吗",
        "亲，企鹅玩偶尺码 S/M/L/XL 都有",
        "店铺首页 https://shop.example/s/123",
    ],
)
def test_ordinary_numbers_and_words_pass(mod: Moderator, text: str) -> None:
    assert mod.check_text(text, "agent").action == A.ALLOW, mod.check_text(text, "agent")


def test_chinese_numbers_parse() -> None:
    assert cn_number("1百3十8亿1千2百3十4万5千6百7十8") == 13812345678
    assert cn_number("1千01十") == 1010  # 一千零一十
    assert cn_number("12万") is None  # numerals in a row are not a spelled-out number
