"""Engine behaviour: normalisation, detectors, context, policy, spans, masking, extension."""

from __future__ import annotations

from pathlib import Path

import pytest

from feige.domain import ModerationAction as A
from feige.moderation import CLAUSES, ModerationConfig, Moderator, Verdict
from feige.moderation.normalize import normalize_term, views


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("①⑴⒈❶➀➊⓵", "1111111"),
        ("㈠㊀〇一二三四五六七八九", "110123456789"),
        ("壹贰叁肆伍陆柒捌玖", "123456789"),
        ("¹²³₄₅", "12345"),
        ("ＷｅＣｈａｔ", "wechat"),
        ("𝐰𝐞𝐢Ⓧ🅘🄽", "weixin"),
        ("wéixìn", "weixin"),
        ("聯繫", "联系"),
        ("微🌟信-號", "微信号"),
        ("微微微信信信", "微信"),
        ("1888", "1888"),
    ],
)
def test_normalisation(raw: str, expected: str) -> None:
    assert normalize_term(raw) == expected


def test_offset_map_points_at_original() -> None:
    text = "加 我 薇🌟信：ａｂｃ＿１２３ 哈哈哈哈"
    v = views(text)
    i = v.compact.index("abc123")
    s, e = v.span(i, i + len("abc123"))
    assert text[s:e] == "ａｂｃ＿１２３"
    j = v.compact.index("哈")
    assert v.span(j, j + 1) == (len(text) - 4, len(text))


def test_interface_example(mod: Moderator) -> None:
    v = mod.check_text("加我薇信 abc123", role="agent")
    assert v.to_json("m1") == {
        "id": "m1",
        "action": "block",
        "categories": ["third_party.contact"],
        "clauses": ["2.2.3"],
        "text": None,
        "spans": [[2, 11]],
    }
    assert v.evidence[0].match == "薇信 abc123"
    assert v.evidence[0].detector == "im_id"


def test_clean_message_is_allowed_as_is(mod: Moderator) -> None:
    text = "亲，这款T恤有M码和L码，今天下单明天发货"
    v = mod.check_text(text, "agent")
    assert v == Verdict(A.ALLOW, text=text)
    assert v.to_json(1)["categories"] == [] and v.to_json(1)["text"] == text


@pytest.mark.parametrize(
    ("text", "category", "detector"),
    [
        ("电话：０２１－６２３４５６７８", "third_party.contact", "phone"),
        ("打我手机一三九一二三四五六七八", "third_party.contact", "phone"),
        ("加企鹅 壹贰叁肆伍陆柒捌玖", "third_party.contact", "im_id"),
        ("发到我邮箱 abc123 at qq dot com", "third_party.contact", "email"),
        ("我们实体店在北京市朝阳区建国路88号，欢迎到店", "third_party.contact", "store_address"),
        ("去 taobao . com 搜我们店", "third_party.link", "url"),
        ("复制这条信息￥AbC123xYz9￥打开", "third_party.link", "token"),
        ("卡号 6222 0212 3456 7890 128 工商银行", "third_party.payment", "bank_card"),
        ("zfb：xiaomei_88", "third_party.payment", "pay_account"),
        ("定金私下转给我，便宜50", "fraud", "offplatform_payment"),
        ("差评不改，别怪我不客气", "extortion", "review_threat"),
    ],
)
def test_structured_detectors(mod: Moderator, text: str, category: str, detector: str) -> None:
    v = mod.check_text(text, "agent")
    assert v.action == A.BLOCK
    assert category in v.categories
    assert CLAUSES[category] in v.clauses
    assert any(e.category == category and e.detector == detector for e in v.evidence)
    for e in v.evidence:
        assert text[e.start : e.end] == e.match


@pytest.mark.parametrize(
    "text",
    [
        "不要加微信，平台交易更有保障",
        "请勿线下转账，谨防诈骗",
        "平台退款不收手续费",
        "凡是让你加微信的都是骗子",
        "预售商品先付定金，尾款在平台支付",
        "订单号：13812345678，帮我看看到哪了",
        "快递单号 SF1234567890123",
        "我用工行信用卡付的，订单号 4200 0012 3456 7890 128",
        "商品链接 https://www.feige.example/item/123",
        "新款 xbox 手柄有吗",
    ],
)
def test_context_passes(mod: Moderator, text: str) -> None:
    assert mod.check_text(text, "agent").action == A.ALLOW


def test_luhn_decides_without_a_strong_cue(mod: Moderator) -> None:
    assert mod.check_text("转账到建行 6222021234567890128", "agent").action == A.BLOCK
    assert mod.check_text("转账到建行 6222021234567890127", "agent").action == A.ALLOW
    doubtful = mod.check_text("卡号 6222021234567890127", "agent")
    assert doubtful.action == A.REVIEW  # strong cue, bad checksum: a reviewer decides


def test_policy_by_role(mod: Moderator) -> None:
    own_phone = "我的电话 13812345678，放快递柜就行"
    buyer = mod.check_text(own_phone, "buyer")
    assert buyer.action == A.ALLOW and buyer.allowed[0].detector == "phone"
    assert mod.check_text(own_phone, "agent").action == A.BLOCK
    for robot in ("robot", "robot_assist", "system"):
        assert mod.check_text(own_phone, robot).action == A.BLOCK
    masked = mod.check_text("我的微信 lisi_1990 你加我一下", "buyer")
    assert masked.action == A.MASK
    assert masked.text == "我的** ********* 你加我一下"
    assert masked.spans == ((2, 14),)


def test_review_keeps_text_and_masks_mask_spans() -> None:
    cfg = ModerationConfig(extra_terms={"misuse": ("?自动回复神器",)})
    v = Moderator(cfg).check_text("自动回复神器了解下，我的微信 lisi_1990", "buyer")
    assert v.action == A.REVIEW
    assert v.categories == ("third_party.contact", "misuse")
    assert v.text is not None and "lisi" not in v.text and v.text.startswith("自动回复神器")


def test_block_has_no_text(mod: Moderator) -> None:
    v = mod.check_text("你个傻逼", "buyer")
    assert v.action == A.BLOCK and v.text is None and v.categories == ("abuse",)


def test_operator_lexicons_and_allow_list(tmp_path: Path) -> None:
    (tmp_path / "abuse.txt").write_text("# shop-specific\n蠢材\n", encoding="utf-8")
    extra_allow = tmp_path / "more"
    extra_allow.mkdir()
    (extra_allow / "allow.txt").write_text("傻逼兮兮的小狗玩偶\n", encoding="utf-8")
    mod = Moderator(ModerationConfig(lexicon_paths=(tmp_path, extra_allow / "allow.txt")))
    assert mod.check_text("你这个蠢 材", "buyer").categories == ("abuse",)
    assert mod.check_text("傻逼兮兮的小狗玩偶还有吗", "buyer").action == A.ALLOW
    assert mod.check_text("傻逼", "buyer").action == A.BLOCK


def test_platform_domains_setting() -> None:
    text = "看这里 https://m.mall.example/item/9"
    assert Moderator().check_text(text, "agent").action == A.BLOCK
    mod = Moderator(ModerationConfig().with_domains("mall.example"))
    assert mod.check_text(text, "agent").action == A.ALLOW


def test_policy_table_is_configurable() -> None:
    cfg = ModerationConfig()
    policy = dict(cfg.policy)
    policy[("abuse", "buyer")] = A.REVIEW
    v = Moderator(ModerationConfig(policy=policy)).check_text("你个傻逼", "buyer")
    assert v.action == A.REVIEW and v.text == "你个傻逼"


def test_repeated_ads_from_one_sender() -> None:
    mod = Moderator()
    ads = [
        "限时特价！全场五折，点击进店领取优惠券，先到先得",
        "限时特价!!全场五折,点击进店领取优惠券,先到先得哦",
        "【限时特价】全场五折，点击进店领取优惠券，先到先得～",
    ]
    verdicts = [
        mod.check_text(t, "agent", sender="s1", recipient=f"b{i}") for i, t in enumerate(ads)
    ]
    assert [v.action for v in verdicts[:2]] == [A.ALLOW, A.ALLOW]
    assert verdicts[2].action == A.BLOCK and verdicts[2].categories == ("spam",)
    # another sender has its own history; greetings never count
    assert mod.check_text(ads[0], "agent", sender="s2").action == A.ALLOW
    for _ in range(5):
        assert mod.check_text("您好，请问有什么可以帮您？", "agent", sender="s3").action == A.ALLOW


def test_the_same_advert_pasted_again_is_a_repeat() -> None:
    """A pasted advert's remembered shingles match its cluster without a Jaccard count."""
    mod = Moderator()
    ad = "限时特价！全场五折，点击进店领取优惠券，先到先得"
    actions = [mod.check_text(ad, "agent", sender="s1", recipient=f"b{i}").action for i in range(3)]
    assert actions == [A.ALLOW, A.ALLOW, A.BLOCK]


def test_a_delivery_word_excuses_a_number_only_in_its_own_sentence() -> None:
    """The receiving number of a delivery is the buyer's own; a sentence end (。 ! or a line
    break, not a comma) cuts the number off from the delivery word before it."""
    mod = Moderator()
    for text, blocked in [
        ("收货电话 13812345678", False),
        ("收货地址改好了，电话 13812345678", False),
        ("收货地址改好了。电话 13812345678", True),
        ("收货地址改好了!电话 13812345678", True),
        ("收货地址改好了\n电话 13812345678", True),
    ]:
        v = mod.check_text(text, "agent")
        assert (v.action == A.BLOCK) is blocked, text
        assert ("phone" in [e.detector for e in v.evidence]) is blocked, text


def test_same_recipient_is_not_many_recipients() -> None:
    mod = Moderator()
    ad = "限时特价！全场五折，点击进店领取优惠券，先到先得"
    for _ in range(4):
        v = mod.check_text(ad, "agent", sender="s1", recipient="b1")
    assert v.action == A.ALLOW


def test_describe_languages(mod: Moderator) -> None:
    v = mod.check_text("加我薇信 abc123", "agent")
    assert "第 2.2.3 条" in v.describe() and "拦截" in v.describe()
    assert "clause 2.2.3" in v.describe("en") and "blocked" in v.describe("en")


def test_empty_and_odd_input(mod: Moderator) -> None:
    assert mod.check_text("", "buyer").action == A.ALLOW
    for text in ["\U000e0041" * 3, "🇨🇳" * 10, "\u200b" * 50, "a" * 5000, "1" * 40]:
        v = mod.check_text(text, "agent")
        for s, e in v.spans:
            assert 0 <= s < e <= len(text)


def test_a_text_known_up_to_its_digits_gets_the_verdict_of_a_fresh_engine() -> None:
    """The skeleton memo (the text with its digits read as 0) skips the fast path's questions
    whose answers do not depend on the digits' values; a phone number, a digit lexicon
    entry (1星, 12315), a mobile backwards and 一 written 1 are asked again."""
    cached = Moderator(ModerationConfig(platform_domains=("feige.example",)))
    fresh = Moderator(ModerationConfig(platform_domains=("feige.example",), clean_cache=0))
    pairs = [
        ("订单号 260112345678901234，麻烦查一下", "订单号 139123456781，麻烦查一下"),
        ("到手价 ¥299.5，包邮", "到手价 ¥13812345678，包邮"),
        ("这个给2星吧", "这个给1星吧"),
        ("我打了 22315 没人接", "我打了 12315 没人接"),
        ("编号 87654321832 的那款", "编号 87654321831 的那款"),
        ("去另2家店看看", "去另1家店看看"),
        ("尺码 M 加2下", "尺码 M 加1下"),
        ("身高 175 体重 60", "身高 138 体重 12345678"),
    ]
    for first, second in pairs:
        for role in ("buyer", "agent"):
            for text in (first, second):
                a, b = cached.check_text(text, role), fresh.check_text(text, role)
                assert (a.action, a.categories, a.spans) == (b.action, b.categories, b.spans), text


def test_skeleton_lanes_and_slow_path_layouts_match_a_fresh_engine() -> None:
    """Round 5: a settled or quiet skeleton answers without asking its digits again, one
    asked of the text looks for phone shapes and entries of digits (12315) in the text, and a
    slow-path text reuses the offset map, hits and shape answer of its skeleton. Each group
    below shares a skeleton; the later texts differ only in digits that change the answer."""
    cached = Moderator(ModerationConfig(platform_domains=("feige.example",)))
    fresh = Moderator(ModerationConfig(platform_domains=("feige.example",), clean_cache=0))
    groups = [
        # quiet: no phone-length run, no digit place
        ["退款已原路退回，25 元请注意查收", "退款已原路退回，99 元请注意查收"],
        # asked of the text: a phone-length run that is a mobile number in the second
        ["周末愉快，祝您生活愉快 20245678901", "周末愉快，祝您生活愉快 13812345678"],
        # asked of the text: a product link with an item number (a phone-length run, 12315)
        [
            "商品链接 https://www.feige.example/item/20245678901",
            "商品链接 https://www.feige.example/item/13812345678",
            "商品链接 https://www.feige.example/item/87654321831",
            "商品链接 https://www.feige.example/item/12315678901",
        ],
        [
            "商品链接 https://www.feige.example/item/2024567890",
            "商品链接 https://www.feige.example/item/4001234567",
        ],
        ["订单号 2024567890 的货到了吗", "订单号 1231567890 的货到了吗"],
        # asked of the compact view: a separator joins the digits (取件码 12-3-15…)
        ["取件码 22-4-56789", "取件码 12-3-15999", "取件码 13-8-12345"],
        # the slow path's layout: a phone number given again in the same words
        [
            "我的电话 13812345678，放快递柜就行",
            "我的电话 87654321831，放快递柜就行",  # a mobile only backwards
            "我的电话 13912345678，放快递柜就行",
            "我的电话 13654321831，放快递柜就行",
            "我的电话 12315123456，放快递柜就行",
            "我的电话 02012345678，放快递柜就行",
            "我的电话 23812345678，放快递柜就行",
        ],
    ]
    for group in groups:
        for role in ("buyer", "agent"):
            for i, text in enumerate(group):
                a = cached.check_text(text, role, f"s{i}", None, f"s{i}")
                b = fresh.check_text(text, role, f"s{i}", None, f"s{i}")
                assert a == b, text
                assert cached.check_text(text, role) == fresh.check_text(text, role), text
