# ruff: noqa: E501
"""Writes ``tests/moderation/chat_corpus.jsonl``: shopping-chat cases by family, with splits.

    .venv/bin/python -m tests.moderation.make_chat_corpus

Each violation family (a way of writing a contact, a link, an insult …) fills its own carrier
sentences with its own values, so every row says which family it belongs to. Splits:

* ``train``   -- what the engine and the classifier are tuned and trained on;
* ``heldout`` -- about a fifth of the rows of the *same* families, picked at random by a
  seeded hash, never looked at while tuning;
* ``family``  -- whole families (app nicknames, digit disguises, link styles, insults,
  threats …) that appear in no training row: how the engine does on evasions nobody listed.

Clean rows are ordinary chat built to tempt false positives (order, tracking, model numbers,
prices, sizes, the shop's own links, the buyer's own phone and address for delivery, product
names that contain an app's nickname). The file is generated, reviewed and committed; the
generator is kept so that a change is a diff of both.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path

OUT = Path(__file__).with_name("chat_corpus.jsonl")
rnd = random.Random(20261130)

CONTACT = "third_party.contact"
LINK = "third_party.link"
PAY = "third_party.payment"
AD = "third_party.ad"
ABUSE = "abuse"
PORN = "porn_vulgar_violence"
SPAM = "spam"
FRAUD = "fraud"
EXTORT = "extortion"
MISUSE = "misuse"
POLITICAL = "political"


def _ids() -> str:
    stem = rnd.choice(["lily", "tb_shop", "xiaomei", "kefu", "dawei", "meimei", "hao_jia",
                       "sunny", "a_ming", "yanyan", "shop_vip", "zhangsan"])  # fmt: skip
    return stem + str(rnd.randint(10, 9999))


def _mobile() -> str:
    return rnd.choice(["138", "139", "150", "186", "177", "199", "135", "158"]) + "".join(
        rnd.choice("0123456789") for _ in range(8)
    )


def _qq() -> str:
    return str(rnd.randint(10_000_000, 2_999_999_999))


# --- ways to write a number (each a family) ------------------------------------------------

EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
CN = "零一二三四五六七八九"


def cn_big(n: int) -> str:
    """A number spelled out with 亿/万/千/百/十 (一百三十八亿一千二百三十四万五千六百七十八)."""
    units = ["", "十", "百", "千"]

    def four(x: int) -> str:
        out, zero = "", False
        for i in range(3, -1, -1):
            d = x // 10**i % 10
            if d:
                if zero and out:
                    out += "零"
                out += CN[d] + units[i]
                zero = False
            else:
                zero = True
        return out

    parts = [(n // 10**8, "亿"), (n // 10**4 % 10**4, "万"), (n % 10**4, "")]
    out = ""
    for value, unit in parts:
        if value:
            if out and value < 1000:
                out += "零"
            out += four(value) + unit
    return out


DIGIT_STYLES: dict[str, Callable[[str], str]] = {
    "letters_between_groups": lambda d: f"{d[:3]}x{d[3:7]}x{d[7:]}",
    "letters_between_groups2": lambda d: f"{d[:3]}a{d[3:7]}b{d[7:]}",
    "cn_letters_between": lambda d: f"{d[:3]}杠{d[3:7]}杠{d[7:]}",
    "english_words": lambda d: " ".join(EN[int(c)] for c in d),
    "english_words_grouped": lambda d: (
        "-".join(EN[int(c)] for c in d[:3])
        + " "
        + "-".join(EN[int(c)] for c in d[3:7])
        + " "
        + "-".join(EN[int(c)] for c in d[7:])
    ),
    "cn_big_number": lambda d: cn_big(int(d)),
    "reversed": lambda d: d[::-1],
    "reversed_spaced": lambda d: " ".join([d[::-1][:4], d[::-1][4:8], d[::-1][8:]]),
    "mixed_cn_en": lambda d: "".join(
        (EN[int(c)] + " ") if i % 2 else CN[int(c)] for i, c in enumerate(d)
    ),
    "dot_between": lambda d: ".".join(d[i : i + 2] for i in range(0, 11, 2)),
    "letter_o_l": lambda d: d.replace("0", "o").replace("1", "l"),
}
DIGIT_FAMILY_HELDOUT = {"cn_letters_between", "english_words_grouped", "reversed_spaced",
                        "mixed_cn_en", "letter_o_l"}  # fmt: skip

PHONE_CARRIERS = [
    ("agent", "亲，有事打我电话 {n}，比平台回复快"),
    ("agent", "加急的话直接call我 {n}"),
    ("agent", "联系方式：{n}，下单前先问我"),
    ("agent", "我号码 {n}，微信同号"),
    ("agent", "售后不走平台，打{n}找我就行"),
    ("buyer", "你私下打给我吧 {n}，平台太麻烦"),
    ("agent", "亲 这个价格平台上不好改，电话{n}细聊"),
    ("agent", "{n} 这个是我私人号，存一下"),
]
PHONE_CARRIERS_HELD = [
    ("agent", "以后直接找我，{n}，别在这里说"),
    ("agent", "手机{n}，打不通就发短信"),
    ("buyer", "老板留个号吧，我的是 {n}，咱们外面聊"),
]

# --- app nicknames (each nickname its own family) -------------------------------------------

NICKS = {
    # WeChat
    "卫星": "wechat", "绿泡泡": "wechat", "💚": "wechat", "V❤": "wechat", "薇❤": "wechat",
    "威辛": "wechat", "vx号": "wechat", "绿色软件": "wechat", "🟢泡泡": "wechat",
    "微❤信": "wechat", "徽⭐信": "wechat", "wei xin": "wechat", "VX": "wechat",
    # QQ
    "扣扣": "qq", "企鹅": "qq", "🐧": "qq", "扣": "qq", "qq号": "qq", "抠抠": "qq",
    # DingTalk, Weibo, 小红书, 抖音, Telegram
    "dd": "ding", "钉": "ding", "钉钉号": "ding", "围脖": "weibo", "wb": "weibo",
    "小红书": "xhs", "红薯": "xhs", "🍠": "xhs", "抖音号": "douyin", "dy": "douyin",
    "抖Y": "douyin", "飞机": "telegram", "纸飞机": "telegram", "tg": "telegram",
}  # fmt: skip
NICK_FAMILY_HELDOUT = {"绿色软件", "🟢泡泡", "徽⭐信", "wei xin", "抠抠", "🐧", "钉钉号",
                       "wb", "红薯", "抖Y", "纸飞机"}  # fmt: skip

NICK_CARRIERS = [
    ("agent", "加我{k}：{id}，有更多优惠"),
    ("agent", "亲，{k} {id} 来这边聊，便宜"),
    ("agent", "我{k}是{id}，拍之前先加一下"),
    ("agent", "+{k} {id} 私聊发你内部价"),
    ("buyer", "老板你{k}多少？我的是{id}"),
    ("agent", "{k}搜 {id} 就能找到我"),
    ("agent", "售后问题{k}找我：{id}"),
    ("agent", "方便的话{k}联系 {id}，回得快"),
]
NICK_CARRIERS_HELD = [
    ("agent", "这里不方便说，{k}上找{id}"),
    ("agent", "亲可以加{k} {id}，群里天天有福利"),
    ("buyer", "我{k} {id}，你加我一下"),
]

# --- defanged links (each style a family) ---------------------------------------------------

DOMAINS = ["cheapbags", "haohuo88", "tmall-vip", "outlet-zone", "mybuy", "dazhe365"]
LINK_STYLES: dict[str, Callable[[str], str]] = {
    "hxxp": lambda d: f"hxxps://www.{d}.com/item/123",
    "bracket_dot": lambda d: f"www[.]{d}[.]com",
    "paren_dot": lambda d: f"{d}(.)cn",
    "cn_dian": lambda d: f"{d}点com",
    "zero_for_o": lambda d: f"{d}.c0m",
    "spaced_letters": lambda d: " ".join(d) + " . c o m",
    "dot_word": lambda d: f"{d} dot net",
    "cn_dian_spaced": lambda d: f"www 点 {d} 点 cn",
    "curly_dot": lambda d: f"{d}{{.}}top",
    "hxxp_bracket": lambda d: f"hxxp://{d}[.]shop",
    "fullwidth_dot_c0m": lambda d: f"{d}。c0m",
    "dot_in_chinese_brackets": lambda d: f"{d}【.】net",
}
LINK_FAMILY_HELDOUT = {"curly_dot", "hxxp_bracket", "fullwidth_dot_c0m",
                       "dot_in_chinese_brackets"}  # fmt: skip
LINK_CARRIERS = [
    ("agent", "亲，去 {u} 买更便宜"),
    ("agent", "官网 {u} 下单送赠品"),
    ("agent", "链接发你了：{u}"),
    ("buyer", "这个网站 {u} 上卖得便宜多了，你们能不能便宜点"),
    ("agent", "复制到浏览器打开 {u}"),
    ("agent", "活动页 {u}，自己看"),
]

# --- diversion to other shops and platforms -------------------------------------------------

AD_FAMILIES: dict[str, list[str]] = {
    "tb_search": ["tb搜「{s}」同款更便宜", "这款在tb搜{s}就有，便宜二十", "t宝搜{s}，我们店也在那"],
    "mou_bao": ["某宝上我们也有店，搜{s}", "去某宝拍吧，这边手续费高", "某宝同款，搜{s}"],
    "mou_yu": ["某鱼上有二手的，搜{s}", "去小黄鱼买，我挂着呢"],
    "pdd": ["pdd搜{s}，比这便宜", "拼夕夕上同款，搜{s}"],
    "other_shop": ["我们另一个店更便宜，搜{s}", "我们家还有个小号店，东西一样价格低",
                   "去我们旗下另外那家店拍，能便宜15"],
    "dy_shop": ["dy搜{s}，直播间更便宜", "抖音直播间搜{s}，有福利价"],
    "jd_dog": ["狗东上我们也有店，搜{s}", "jd搜{s}，我们的自营"],
    "xhs_shop": ["xhs搜{s}，那边有优惠券", "小红书店铺搜{s}，那边便宜"],
}  # fmt: skip
AD_FAMILY_HELDOUT = {"pdd", "jd_dog", "xhs_shop"}
SHOPNAMES = ["好物小铺", "潮流女装馆", "阿杰数码", "萌宠之家", "居家好物"]

# --- meaning families (lexicon is only a start) --------------------------------------------

MEANING: dict[str, tuple[str, str, list[str]]] = {
    "profanity_sb": (ABUSE, "buyer", ["你是不是傻逼", "煞笔客服", "傻13吧你", "沙雕店家",
                                     "sb玩意儿", "你个傻x", "傻 逼 客 服", "傻b吧你们"]),
    "profanity_mother": (ABUSE, "buyer", ["操你妈的", "艹你妈", "cnm", "你妈死了",
                                         "草泥马的客服", "nmsl", "去你妈的", "你妈的什么破店"]),
    "insult_no_profanity": (ABUSE, "buyer", ["你脑子是不是有问题", "你是猪吧，听不懂人话",
                                            "什么玩意儿，废物客服", "狗客服，滚", "你就是个废物",
                                            "你这种人活着干什么", "蠢得跟猪一样", "你算什么东西"]),
    "insult_agent": (ABUSE, "agent", ["你个穷鬼买不起就别问", "爱买不买，穷逼", "你脑子有病吧",
                                     "没钱就滚", "你是不是有毛病，说了多少遍了"]),
    "insult_disguised": (ABUSE, "buyer", ["s.b客服", "傻🐶客服", "你个zz", "弱zhi吧",
                                         "脑瘫客服", "你是个der吧"]),
    "curse_death": (ABUSE, "buyer", ["祝你全家死光", "你怎么不去死", "出门被车撞死",
                                    "死全家的奸商", "早点死吧你"]),
    "threat_person": (PORN, "buyer", ["信不信我弄死你", "我要砍死你", "小心我打断你的腿",
                                     "出门小心点，我找人收拾你", "我一刀捅了你",
                                     "再这样我就杀了你"]),
    "threat_property": (PORN, "buyer", ["我去你店里砸了", "一把火烧了你仓库",
                                       "我带人把你店砸了", "等着，我去把你门面砸烂"]),
    "extortion_buyer": (EXTORT, "agent", ["不给好评就把你地址发网上", "改好评，不然我天天打你电话",
                                         "你敢给差评我就找人上门"]),
    "extortion_refund": (EXTORT, "buyer", ["不退款就给差评，还要投诉到你关店",
                                          "赔我五百，不然一直投诉你们",
                                          "不给补偿就全网曝光你家", "不返现我就给一星差评",
                                          "给我退三百，否则差评加投诉"]),
    "extortion_review_seller": (EXTORT, "agent", ["删差评返你20，不删就别想退款",
                                                 "你不改评价，售后一概不管",
                                                 "差评不删，我就把你买的东西发你单位"]),
    "defamation_shop": (MISUSE, "agent", ["隔壁那家店卖的全是假货，骗子", "xx旗舰店都是翻新机，别去",
                                         "那个牌子都是三无产品，吃了会出事", "别家都是骗子，就我们是真的"]),
    "defamation_platform": (MISUSE, "buyer", ["这个平台就是骗钱的", "平台和商家串通一气坑人",
                                             "平台客服全是骗子"]),
    "porn_solicit": (PORN, "agent", ["有特殊服务，懂的来", "约吗，一晚八百", "小姐姐陪聊，私我",
                                    "看片资源加我", "上门服务，全套", "兼职妹妹，可约"]),
    "porn_vulgar": (PORN, "buyer", ["你胸大吗", "陪我睡一晚就给好评", "发张裸照看看"]),
    "fraud_fee": (FRAUD, "agent", ["退款要先交50元手续费", "理赔需要先付保证金",
                                  "您的订单异常，点链接填银行卡解冻", "刷单返利，一单赚30"]),
    "fraud_private": (FRAUD, "agent", ["定金转我私人账户，发货快", "尾款直接转我支付宝吧",
                                      "私下转账可以打九折"]),
    "threat_stalk": (PORN, "buyer", ["我知道你住哪，晚上等着", "我已经查到你家地址了，你完了",
                                    "下班路上小心点", "我会找到你的，到时候别哭", "你家孩子在哪上学我都知道"]),
    "threat_harm": (PORN, "buyer", ["我要让你见血", "老子剁了你的手", "找几个兄弟来废了你",
                                   "我拿刀过去找你", "弄不死你我跟你姓"]),
    "porn_ads": (PORN, "agent", ["成人视频，私聊看", "同城交友，约炮私我", "原味内衣出售，懂的来",
                                "裸聊一次五十", "福利视频，先付后看"]),
    "abuse_regional": (ABUSE, "buyer", ["河南人就是骗子", "你们这种乡巴佬懂什么", "你个死胖子客服",
                                       "残疾人就别出来丢人了"]),
    "extortion_threat_public": (EXTORT, "buyer", ["不赔钱就发抖音曝光你们", "我要找记者曝光你们黑店，除非退双倍",
                                                 "三天内不给说法就天天来店里闹"]),
    "political": (POLITICAL, "agent", ["打倒共产党", "法轮大法好", "台独万岁"]),
    "spam_course": (SPAM, "agent", ["0基础学电商，月入过万，报名私我", "刷单兼职日结，宝妈学生可做",
                                   "好评返现5元，截图给我"]),
}  # fmt: skip
MEANING_FAMILY_HELDOUT = {"insult_agent", "curse_death", "threat_property", "threat_stalk",
                          "extortion_review_seller", "defamation_platform", "porn_vulgar"}  # fmt: skip
TAILS = ["", "", "！", "。", "，听到没", "，呵呵", "！！！", "，懂？"]

# --- split across messages -------------------------------------------------------------------

SPLITS = [
    ("agent", lambda: (lambda n: [n[:3], n[3:7], n[7:]])(_mobile()), CONTACT, "phone_3_pieces"),
    ("agent", lambda: (lambda n: [n[:5], n[5:]])(_mobile()), CONTACT, "phone_2_pieces"),
    ("agent", lambda: ["微", "信", "号 " + _ids()], CONTACT, "wechat_char_by_char"),
    ("agent", lambda: ["加我v", _ids()], CONTACT, "cue_then_id"),
    ("agent", lambda: ["q", "q " + _qq()], CONTACT, "qq_pieces"),
    ("buyer", lambda: ["我的微信", _ids(), "加我"], CONTACT, "buyer_wechat_pieces"),
    ("agent", lambda: ["去 www", "cheapbags", ".com 下单"], LINK, "link_pieces"),
]

# --- clean chat that tempts ------------------------------------------------------------------

PRODUCTS = ["连衣裙", "蓝牙耳机", "卫星天线", "企鹅玩偶", "绿色泡泡袖上衣", "钉子套装", "扣子",
            "抖音同款发夹", "小红书爆款面膜", "飞机模型", "微信读书卡", "qq糖", "V领毛衣",
            "dd熊挂件", "充电宝", "运动鞋"]  # fmt: skip


def _clean() -> Iterator[tuple[str, str, str]]:
    """(family, role, text) of ordinary chat."""
    for _ in range(24):
        yield "order_number", "buyer", rnd.choice([
            "订单号 {o} 怎么还没发货", "帮我查下订单{o}", "{o} 这个单能改地址吗",
            "我的单号是{o}，麻烦催一下"]).format(o="".join(rnd.choice("0123456789")
                                                         for _ in range(18)))  # fmt: skip
    for _ in range(20):
        tr = rnd.choice(["SF", "YT", "JT", "ZTO", "JD"]) + "".join(
            rnd.choice("0123456789") for _ in range(rnd.choice([12, 13, 15]))
        )
        yield "tracking", rnd.choice(["agent", "buyer"]), rnd.choice([
            "快递单号 {t}，请查收", "已发货，运单号{t}", "物流 {t} 一直不动",
            "亲，您的包裹 {t} 今天派送"]).format(t=tr)  # fmt: skip
    for _ in range(24):
        yield "price_size", rnd.choice(["agent", "buyer"]), rnd.choice([
            "{p} 现在 ¥{x}.9，两件 {y} 元", "身高175体重{w}斤穿什么码", "{p} 有 38 码吗",
            "腰围2尺{w2}选哪个码", "满{m}减{r}，到手{x}元", "亲，{p}尺码 S/M/L/XL 都有",
            "{p}多少钱？{x}能卖吗", "10.{x2}日前下单送运费险",
        ]).format(p=rnd.choice(PRODUCTS), x=rnd.randint(19, 999), y=rnd.randint(100, 999),
                  w=rnd.randint(90, 180), w2=rnd.randint(1, 9), m=rnd.choice([199, 299]),
                  r=rnd.choice([20, 30]), x2=rnd.randint(1, 31))  # fmt: skip
    for _ in range(16):
        yield "shop_link", "agent", rnd.choice([
            "商品链接 https://www.feige.example/item/{n}", "店铺首页 shop.example/s/{n} 看看",
            "点这里领券 https://feige.example/coupon/{n}", "这款在店里 https://shop.example/p/{n}",
        ]).format(n=rnd.randint(1000, 99999))  # fmt: skip
    for _ in range(22):
        yield "buyer_own_delivery", "buyer", rnd.choice([
            "收货人张伟，电话{m}，地址北京市朝阳区建国路88号", "麻烦改一下收件电话 {m}",
            "快递到了打我电话 {m}，放门卫也行", "收货地址改成上海市浦东新区世纪大道100号，手机{m}",
            "我换号了，新的收货手机号是{m}", "寄到杭州市西湖区文三路 90 号，联系人李女士 {m}",
        ]).format(m=_mobile())  # fmt: skip
    for _ in range(12):
        yield "return_address", "agent", rnd.choice([
            "退货地址：广州市白云区石井街12号仓库，收件人王先生 {m}",
            "寄回到 深圳市宝安区西乡大道 300 号，电话 {m}，备注订单号",
        ]).format(m=_mobile())  # fmt: skip
    for _ in range(60):
        yield "nickname_words", rnd.choice(["agent", "buyer"]), rnd.choice([
            "{p} 还有货吗", "{p} 有几种颜色", "我在小红书上看到你们家的{p}", "抖音上刷到的{p}，是这款吗",
            "{p}质量怎么样，会不会掉色", "想买个{p}送朋友，能包装吗", "可以用微信支付吗",
            "用支付宝付款可以吗", "下单时选微信支付就行", "qq音乐会员卡有吗", "飞机托运能带{p}吗",
            "钉钉打卡机有卖吗", "卫星导航支架是{p}配套的吗", "绿泡泡袖的那款还有S码吗",
            "企鹅图案的那个{p}", "上周在抖音直播间买过一次",
        ]).format(p=rnd.choice(PRODUCTS))  # fmt: skip
    for _ in range(120):
        yield "complaint_clean", "buyer", rnd.choice([
            "质量太差了，我要退货", "东西和图片差别太大，有点失望", "客服回复太慢了，等了半小时",
            "包装都破了，能不能补偿一下", "说好的赠品没收到", "如果解决不了我会如实评价",
            "这次体验不太好，希望改进", "不满意的话可以七天无理由退吗", "快递太慢了气死我了",
            "我已经申请退款了，麻烦尽快处理", "这个价格有点贵，能便宜点吗", "笑死我了，这也太可爱了",
            "这价格杀疯了吧", "你们家东西真的绝了", "我真的会谢，又发错颜色", "真的服了，第三次发错了",
            "破防了，等了一周还没到", "垃圾袋有卖吗", "蠢萌的小狗玩偶还有吗", "杀虫剂可以寄吗",
            "太狠了这个折扣", "打死我也想不到这么快就到了", "要是不行我就申请平台介入",
            "再不发货我就取消订单了", "我想投诉快递员，态度很差", "差评我是不会给的，放心",
            "东西还行，就是物流慢", "亲，您给个好评吧，谢谢", "给您补发一个，别生气哈",
            "您可以申请售后，平台会处理的",
        ])  # fmt: skip
    for _ in range(20):
        yield "codes_models", rnd.choice(["agent", "buyer"]), rnd.choice([
            "型号 {md}，支持七天无理由", "取件码 {c}，在菜鸟驿站", "验证码是{c}吗，我没收到",
            "发票抬头写公司，税号 91310000{c}{c}", "序列号 SN{n}{n}", "IMEI 86{n}{n}{c}",
            "货号 {md}-{c}", "工单号 {n}{n} 已提交",
        ]).format(md=rnd.choice(["WH-1000XM5", "A2890", "KD-55X85K", "RTX4060", "iPhone15"]),
                  c=rnd.randint(1000, 9999), n=rnd.randint(100000, 999999))  # fmt: skip
    for _ in range(20):
        yield "numbers_in_talk", rnd.choice(["agent", "buyer"]), rnd.choice([
            "一共三件，一百三十八块", "十二点以前下单今天发", "买了两千三百多的东西",
            "一三八那个尺码还有吗", "我家门牌号 1308，别送错了", "重量大概一点五公斤",
            "one size fits all 均码", "three pieces please 三件", "二零二六年十一月的生产日期",
            "尺寸是 38x24x12 厘米", "电池 5000mAh，支持 65W 快充", "屏幕 2560x1440 分辨率",
            "规格 6x8 寸相框", "保质期 18 个月", "库存还有 1234 件",
        ])  # fmt: skip
    for _ in range(150):
        yield "strong_words_clean", "buyer", rnd.choice([
            "气死我了，快递又晚了", "这质量也太坑了吧", "太垃圾了这个包装，全压坏了", "我要疯了，尺码又不对",
            "天哪，颜色好丑", "你们发货也太慢了吧", "真的无语，客服一直不回", "差评！包装太差",
            "这东西是假的吧，跟专柜不一样", "我很生气，第二次发错货了", "退货，太失望了", "辣鸡快递",
            "怎么这么久还没到，急死了", "把我的钱退回来", "我要投诉这个快递员", "给我个解释",
            "你们到底管不管", "别敷衍我，赶紧处理", "能不能快点", "我不想要了，退款吧",
            "搞什么啊，又是坏的", "我朋友说你们家东西不错", "猪肉脯还有货吗", "狗狗的衣服有大号吗",
            "这个杀菌效果怎么样", "死皮剪好用吗", "刀具可以寄吗", "枪色的那款有吗",
            "黑色的有没有", "女款和男款有区别吗", "老人用会不会太复杂", "小孩子能用吗",
            "打火机能发快递吗", "这个菜刀锋利吗", "火锅底料辣不辣", "鸡爪是熟的吗",
            "你们店的东西太好了，爱死了", "笨蛋如我也学会了，说明书很清楚", "这款绝了，必须好评", "烦死了，快递又改时间",
        ])  # fmt: skip
    for _ in range(150):
        yield "after_sales", rnd.choice(["agent", "buyer"]), rnd.choice([
            "亲，麻烦拍一下商品问题的照片", "您好，退货地址已经发到订单里了", "换货的话需要先寄回来哦",
            "亲，补偿您5元优惠券可以吗", "这边给您申请了仅退款", "运费我们来承担，放心",
            "请问是哪里有问题呢", "亲，质检报告可以发给您看", "好的，已经登记，24小时内回复",
            "不好意思让您久等了", "麻烦提供一下订单截图", "这个需要联系品牌售后哦，在平台上提交工单",
            "亲，您的评价对我们很重要", "如果满意麻烦给个五星好评", "我们会改进的，谢谢反馈",
            "我收到的是碎的，要求换新", "能不能先发新的再退旧的", "退款多久到账", "运费险怎么理赔",
            "发票能补开吗", "我要开增值税专票", "保修期多长", "坏了可以免费修吗",
            "今天能发出吗，明天要用", "周末发货吗", "有没有现货", "可以指定快递吗",
            "我在新疆，能发吗", "偏远地区要加运费吗", "到付可以吗",
        ])  # fmt: skip
    for _ in range(16):
        yield "platform_words", rnd.choice(["agent", "buyer"]), rnd.choice([
            "平台有运费险的，放心", "请通过平台下单，不要私下交易", "不要加任何人微信，谨防诈骗",
            "亲，我们只在本店销售，不在其他平台", "请不要相信站外链接", "有问题直接在这里问我就行",
            "平台规定不能留联系方式哦", "淘宝上的同款不是我们家的", "不接受私下转账，请拍下付款",
        ])  # fmt: skip


#: Clean families held out whole, like the violation families: unseen ordinary talk.
CLEAN_FAMILY_HELDOUT = {"clean:codes_models", "clean:numbers_in_talk", "clean:after_sales"}


# --- written for training only (round 2): threats and coercion, and their near misses -------
#
# The classifier learned threats from a few dozen lines and COLD has none. These rows are
# written for training (``split`` always ``train``), in the kinds of the *training* families
# only -- violence against the person, buyers' coercion over money --, so that the held-out
# families (threats to property, stalking, a merchant's review coercion, sexual harassment)
# stay unseen. The clean rows are the near misses: complaints with a condition, everyday
# senses of violent words (砍价, 秒杀, 炸了 of a battery, 发烧, 收拾东西).

WRITTEN: dict[str, tuple[str, str, list[str]]] = {
    "threat_violence": (PORN, "buyer", [
        "再敢骗我，我就拿棍子敲断你的手", "信不信我开车撞你", "老子一拳打爆你的狗头",
        "我拿砖头砸你脑袋", "再啰嗦一句我剁了你", "晚上别让我碰到你，见一次打一次",
        "我会带刀去找你", "等我逮到你，打得你满地找牙", "我一脚踹死你",
        "骗子，我要杀你全家", "我让人卸你一条胳膊", "哪天让我遇到你，非弄残你不可",
        "我拿硫酸泼你", "你这种奸商迟早被人捅死", "我找了几个社会上的朋友，过两天来收拾你",
        "你最好别出门，出门我就揍你", "我弟是混的，一句话就能让你躺进医院", "我要打断你的狗腿",
        "老子拿刀砍了你这个骗子", "我会让你付出血的代价", "我这就去买把刀，你等着",
        "有种你出来，看我不打死你", "我现在就过去揍你一顿", "再发错一次，我弄死你们这帮人",
        "你等着挨揍吧", "我要把你打进医院", "惹毛了我，我一刀一个", "再骗人我让你们客服全都见血",
        "我认识道上的人，废你一只手很简单", "你再嘴硬，我让你断手断脚",
        "把你揍成猪头信不信", "我会拿刀架在你脖子上问你退不退",
    ]),
    "coercion_buyer": (EXTORT, "buyer", [
        "不赔我一千块，我就天天给你们打差评", "给我补偿两百，不然我每家店都去投诉你",
        "不退双倍就找人来你们店门口闹", "赔钱，否则我让你们店铺上热搜曝光",
        "要么退全款再赔三百，要么等着差评和举报", "不给我返现五十，我就写最难听的差评",
        "这单不免单的话，我就一直投诉到你关门", "不给我个红包，差评马上就到",
        "不赔钱我就把你们的聊天记录发到网上", "今天不退钱，我就找人天天来你们店里闹",
        "除非给我赔五百，不然差评加投诉一起来", "不给补偿我就去消协举报，还要曝光你们",
        "你们不赔，我就在抖音上天天骂你们", "三百块补偿，少一分都不行，不然投诉到你们倒闭",
        "不多赔点钱，我就带人去你们公司闹", "给我退一半的钱，不然全网曝光你们",
    ]),
}  # fmt: skip
WRITTEN_CLEAN = [
    "能再砍点价吗",
    "帮我砍一刀呗",
    "秒杀价还有吗",
    "秒杀的时候能叠加优惠券吗",
    "充电宝用了两天就炸了，你们怎么处理",
    "手机屏幕摔碎了能修吗",
    "孩子发烧了，这个体温计准吗",
    "烧烤架有没有大号的",
    "炸鸡锅好清洗吗",
    "路上堵车了，快递会晚点吗",
    "我在收拾东西，晚点再聊",
    "我收拾了一下，发现少了一个配件",
    "这个锤子砸核桃好用吗",
    "刀具套装有没有送磨刀石",
    "灭火器可以寄吗",
    "杀菌喷雾还有货吗",
    "再不发货我就申请退款了",
    "如果三天内不到货，我就取消订单",
    "要是还是坏的，我只能申请平台介入",
    "不处理的话我会如实评价的",
    "东西不行我就退货，没别的意思",
    "不满意的话能退吗，我不想给差评",
    "我不会给差评的，你们放心处理",
    "赔偿按平台规则来就行，我不多要",
    "麻烦给个说法，不然我只能找平台客服",
    "你们的仓库在哪里发货",
    "你们店在哪个城市",
    "你们公司能开专票吗",
    "我知道你们的退货地址了，明天寄",
    "快递员说要上门取件",
    "能安排上门安装吗",
    "我找人帮我看了，确实是质量问题",
    "打死我也不信这是正品价",
    "这个价格太狠了，我直接下单",
    "笑死，这个包装也太可爱了",
    "真的要被你们气死了，又发错了",
    "你们客服每天几点上班",
    "我每天打你们电话都没人接",
    "我已经投诉了快递员，和你们没关系",
    "好评已经给了，谢谢亲",
    "亲，满意的话麻烦给个五星好评哦",
    "追评的时候能带图吗",
    "我把你的地址发给快递了，放心",
    "朋友圈看到你们家的新款，好看",
    "我发到朋友圈推荐给朋友了",
    "你们门店的玻璃杯还有吗",
    "我去你们实体店看过，挺好的",
    "拆开发现少了一个螺丝",
    "拆了包装还能退吗",
    "刀头可以单独买吗",
]

# --- written in round 3: verdicts that were wrong, each with its family ---------------------
#
# Denials: a negation takes the act it names out of the speaker's intent (我不会骚扰你的 went to
# review); the 砍一刀 of 拼多多 is bargaining (老板能砍你一刀吗 was blocked as a threat). With
# them, the threats that only look denied (别逼我…, 信不信…, an oath after the act) stay threats.

NEAR_MISS_FAMILIES: dict[str, list[str]] = {
    "negation": [
        "我不会骚扰你的", "放心，我不会骚扰你的", "我没有骂你，只是着急", "你别骚扰我了，我不买了",
        "我不骚扰你了，等你消息", "我们不卖黄片这种东西", "我从来没有威胁过你",
        "不要曝光我的信息，谢谢", "我不会天天打你电话的，就问一下", "我没说要砍你价，原价就行",
        "我不是要骂你，是快递太慢", "别误会，我没想投诉你",
    ],
    "bargain_meme": [
        "老板能砍你一刀吗", "帮我砍一刀呗，就差一点了", "拼多多砍一刀，帮帮忙",
        "能帮我砍两刀吗", "亲，可以砍一刀吗，差0.1元", "老板帮我点一下砍一刀的链接",
    ],
}  # fmt: skip
WRITTEN_THREATS_DESPITE_NEGATION = [
    "别逼我砍你", "信不信我砍你一刀", "不弄死你我不姓王", "有种出来，看我不打死你",
    "你别让我找到你，找到就弄死你",
]  # fmt: skip


def written_rows(row: Callable[..., dict[str, object]]) -> Iterator[dict[str, object]]:
    """The written rows, all ``train``."""
    for fam, (category, role, lines) in WRITTEN.items():
        for line in lines:
            out = row(line, role, [category], f"written:{fam}", False)
            out["split"] = "train"
            yield out
    for line in WRITTEN_CLEAN:
        out = row(line, "buyer", [], "clean:written_near_miss", False)
        out["split"] = "train"
        yield out
    for fam, lines in NEAR_MISS_FAMILIES.items():
        for line in lines:
            out = row(line, "buyer", [], f"clean:{fam}", False)
            out["split"] = "train"
            yield out
    for line in WRITTEN_THREATS_DESPITE_NEGATION:
        out = row(line, "buyer", [PORN], "written:threat_despite_negation", False)
        out["split"] = "train"
        yield out


def _split_of(key: str, family_held: bool, share: int = 52) -> str:
    """``share``/256 of the rows of a family go to ``heldout``, by a hash of the text."""
    if family_held:
        return "family"
    return "heldout" if hashlib.sha256(key.encode()).digest()[0] < share else "train"


def rows() -> Iterator[dict[str, object]]:
    n = 0

    def row(text: str | list[str], role: str, label: list[str], family: str, held: bool,
            **extra: object) -> dict[str, object]:  # fmt: skip
        nonlocal n
        n += 1
        key = json.dumps(text, ensure_ascii=False)
        out: dict[str, object] = {"id": f"c{n:04d}"}
        out["turns" if isinstance(text, list) else "text"] = text
        share = 52 if label else 100  # clean rows: more held out, to measure false positives
        out.update(
            role=role, label=label, family=family, split=_split_of(key, held, share), **extra
        )
        return out

    for style, fn in DIGIT_STYLES.items():
        held = style in DIGIT_FAMILY_HELDOUT
        for role, carrier in PHONE_CARRIERS + PHONE_CARRIERS_HELD:
            if rnd.random() < 0.6:
                yield row(carrier.format(n=fn(_mobile())), role, [CONTACT], f"digits:{style}",
                          held)  # fmt: skip
    for nick in NICKS:
        held = nick in NICK_FAMILY_HELDOUT
        for role, carrier in rnd.sample(NICK_CARRIERS + NICK_CARRIERS_HELD, 6):
            ident = _qq() if NICKS[nick] == "qq" and rnd.random() < 0.6 else _ids()
            yield row(carrier.format(k=nick, id=ident), role, [CONTACT], f"nick:{nick}", held)
    for style, fn in LINK_STYLES.items():
        held = style in LINK_FAMILY_HELDOUT
        for role, carrier in LINK_CARRIERS:
            yield row(carrier.format(u=fn(rnd.choice(DOMAINS))), role, [LINK], f"link:{style}",
                      held)  # fmt: skip
    for fam, lines in AD_FAMILIES.items():
        held = fam in AD_FAMILY_HELDOUT
        for line in lines:
            for _ in range(2):
                yield row(line.format(s=rnd.choice(SHOPNAMES)), "agent", [AD], f"ad:{fam}", held)
    for fam, (category, role, lines) in MEANING.items():
        held = fam in MEANING_FAMILY_HELDOUT
        for line in lines:
            yield row(line + rnd.choice(TAILS), role, [category], f"meaning:{fam}", held)
            if not held or rnd.random() < 0.5:
                yield row(rnd.choice(["亲，", "喂，", "我说，", ""]) + line, role, [category],
                          f"meaning:{fam}", held)  # fmt: skip
    # Pictures of text (rendered by corpus_eval.render, read by OCR).
    for content, label, fam in [
        ("wechat: lisa2024", [CONTACT], "image_text:contact"),
        ("加微信 meimei8821 领券", [CONTACT], "image_text:contact"),
        ("电话 139 8765 4321", [CONTACT], "image_text:contact"),
        ("扫码关注 www.haohuo88.com", [LINK], "image_text:link"),
        ("淘宝搜 好物小铺 更便宜", [AD], "image_text:ad"),
        ("order 12345", [], "image_text:clean"),
        ("尺码表 S M L XL", [], "image_text:clean"),
        ("订单号 260112345678901234", [], "image_text:clean"),
        ("感谢您的购买 五星好评", [], "image_text:clean"),
    ]:
        out = row(content, "agent", label, fam, False)
        del out["text"]
        out["image_kind"] = "text"
        out["content"] = content
        yield out
    for role, make, category, fam in SPLITS:
        for _ in range(5):
            yield row(make(), role, [category], f"split:{fam}", False)
    seen: set[str] = set()
    for fam, role, text in _clean():
        if text in seen:
            continue
        seen.add(text)
        yield row(text, role, [], f"clean:{fam}", f"clean:{fam}" in CLEAN_FAMILY_HELDOUT)
    # Clean chat spread over messages: pieces that must not join into a violation.
    for _ in range(20):
        yield row(rnd.choice([
            ["订单号", "".join(rnd.choice("0123456789") for _ in range(18))],
            ["好的", "谢谢亲"], ["多少钱", "¥129"], ["身高175", "体重140", "穿什么码"],
            ["收货电话", _mobile()], ["我的手机号", _mobile(), "顺丰到付"],
        ]), "buyer", [], "clean:split_pieces", False)  # fmt: skip
    yield from written_rows(row)  # last: the rows above stay as they were generated


def main() -> None:
    out, texts = [], set()
    for r in rows():
        key = json.dumps(r.get("text", r.get("turns", r.get("content"))), ensure_ascii=False)
        if key not in texts:  # the same line twice would count twice
            texts.add(key)
            out.append(r)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), "utf-8")
    from collections import Counter

    print(len(out), Counter(str(r["split"]) for r in out),
          Counter(bool(r["label"]) for r in out))  # fmt: skip


if __name__ == "__main__":
    main()
