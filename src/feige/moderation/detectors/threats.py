"""Threats and coercion by their structure, whatever the words (2.2.4, 2.2.6, 2.2.9; 4.2.1
malicious claims).

A lexicon lists threats one phrase at a time ("砍死你", "我知道你住哪"); the shapes here name
what a threat is made of:

* **harm** -- a violent verb aimed at the other person or their property: verb then target
  (``捅了你``, ``打断你的腿``), wrecking verbs only against property (``烧了你仓库``: a phone
  that ``炸了`` or ``烧了`` is a complaint), ``把`` + target + verb (``把你店砸了``), going to
  their place to wreck it (``去你店里砸``), a life or blood threatened (``要你命``,
  ``让你见血``), a weapon brought to them (``带刀去找你``); verbs with an everyday sense
  (收拾, 教训, 堵 …) only right after a speaker or a threat frame (我, 老子, 找人, 信不信,
  小心 …). A match may not cross a clause boundary (the compact view has no punctuation:
  ``洗了1次就废了，你们…`` is two clauses);
* **stalking** -- knowing where the person lives or where the family is, coming to their
  door (``打听到你家住址``, ``找上门``, ``去你家门口堵你``);
* **coercion** -- a condition (不…就, 不然, 否则, 除非, 敢…就 …) tying a demand to a
  consequence that is not the sender's to use: exposure (曝光, 发网上, 人肉, 发你单位),
  harassment (天天打你电话, 来店里闹, 找人上门), harm; or, with a demand for money or a
  review (退款, 赔, 返现; 好评, 删差评), a bad review or complaint as leverage, or service
  withheld (别想退款, 售后不管). ``再不发货我就取消订单`` and ``解决不了我会如实评价`` hold no
  such consequence and pass.

Harm is ``porn_vulgar_violence`` (2.2.6); stalking too; coercion is ``extortion`` (2.2.9; a
buyer's goes to review by the default policy). All read the compact view (separators gone,
Chinese numerals as digits: 一 reads 1), so the patterns are written in that form.
"""

from __future__ import annotations

import re

from feige.moderation import categories as cat
from feige.moderation.detectors.context import (
    CLAUSE_END,
    SENTENCE_END,
    DetectionContext,
    Finding,
)

#: The person addressed, their family or their shop.
_YOU = r"(?:你们|你|妳)"
_THEIR = (
    _YOU + r"(?:的|们的|家的?|全家|1家|家里|们家|们店|们公司|老婆|老公|孩子|儿子|女儿|"
    r"爸|妈|父母|家人|老板|店|公司|仓库|门面|门店|铺子|车|房子|厂|腿|手|头|脸)?"
)
#: Violent verbs that mean harm whatever precedes them.
_PLAIN = (
    r"砍|捅|剁|掐死|勒死|毒死|撞死|淹死|烧死|砸死|炸死|整死|搞死|弄死|打死|弄残|打残|"
    r"打废|弄废|宰了|杀了|(?<!秒)(?<!抹)杀|做掉|干掉|(?:弄|整|搞|打|砍|揍)不死"
)
#: Words that also mean something else (打断 interrupts; a thing 废了 is broken): only
#: with a body part, or the person alone.
_BODY = r"(?:狗)?(?:腿|手|胳膊|脚|骨头|牙|脖子|肋骨)"
_LIMB = r"(?:打断|打折|掰断)" + _YOU + r"(?:的|们的)?" + _BODY + r"|废了你(?!们)"
_RESULT = r"(?:了|死|残|断|烂|掉|废|伤|瘸|瞎)?"
#: Wrecking verbs: harm only against property (a phone that 炸了 is a complaint).
_WRECK = r"砸|(?<!发)烧|炸|泼|拆|掀|放火|点火"
_PROPERTY = r"(?:店|门面|门店|仓库|铺子|招牌|车|房子|家|摊|厂|公司|柜台)"
_WEAPON = r"(?:菜刀|砍刀|尖刀|刀子|刀|斧头|斧子|棍子|棒球棍|铁棍|钢管|砖头|枪)"
#: Everyday verbs that threaten only right after someone who means it.
_FRAMED = r"揍|扁|收拾|教训|堵|蹲|埋"
_FRAME = r"(?:我|老子|俺|找人|叫人|带人|喊人|兄弟|信不信|迟早|早晚|小心|看我|1刀|1拳|1脚)"

_HARM = re.compile(
    "|".join(
        (
            # verb then target: 捅了你, 砍死你们, 打断你的腿 (not 砍你们的价)
            r"(?:" + _PLAIN + r")" + _RESULT + _THEIR + r"(?!.{0,3}?价)",
            _LIMB,
            # wrecking the target's property: 烧了你仓库, 砸了你们店
            r"(?:" + _WRECK + r")(?:了|烂|掉|光)?" + _YOU + r"(?:的|们的|家的?)?" + _PROPERTY,
            # 把 + target + verb: 把你店砸了, 把你门面砸烂, 把你腿打断 (not 把你的包裹拆了)
            r"把"
            + _THEIR
            + r".{0,3}?(?:"
            + "|".join((_PLAIN, _FRAMED, r"砸|(?<!发)烧|炸|放火|点火|打断|打折|废"))
            + ")",
            # to their place to wreck it: 去你店里砸, 到你家放火
            r"(?:去|到|上|来)" + _YOU + r"(?:们|的|家的?)?" + _PROPERTY + r"(?:里|去|上|门口)?"
            r".{0,3}?(?:" + _WRECK + r")",
            # after a speaker: 我找人收拾你, 小心我揍你
            _FRAME + r".{0,2}?(?:" + _FRAMED + r")" + _RESULT + _YOU,
            # a weapon brought to the person: 带刀去找你, 拿着棍子来堵你
            r"(?:拿|带|提|抄|揣|握)(?:着|上|了|1)?(?:把|根|个)?" + _WEAPON + r".{0,4}?"
            r"(?:找|砍|捅|堵|收拾|等|弄)" + _YOU,
            # acid, petrol, paint thrown at the person
            r"(?:硫酸|汽油|油漆|大粪|粪水|开水|热油)(?:泼|浇)" + _YOU,
            # a life or blood: 要你命, 取你狗命, 让你见血, 你死定了, 活腻了
            r"(?:要|取)" + _YOU + r"(?:的|狗|小)?命|让" + _YOU + r"(?:见血|躺着|横着|住院|残)"
            r"|" + _YOU + r"(?:死定了|活腻了|活不过|活不长)|血溅",
        )
    )
)
#: Knowing or finding where the person lives, or coming to their door.
_STALK = re.compile(
    r"(?:知道|查到|打听到|摸清|搞到)(?:了)?你(?:的|家的?)?.{0,2}?"
    r"(?:住哪|住在|住址|家在|家住|家地址|单位在|孩子|老婆|老公|家人|父母)"
    r"|找上门|上门(?:找|堵|收拾)你|(?:去|到)你(?:家|单位|公司)(?:门口)?(?:找|堵|蹲)你"
)

#: The condition that ties a demand to a consequence.
_CONDITION = re.compile(r"不(?!错|好意思|用|客气|过)|没|敢|再|要是|如果|若|否则|不然|要不|除非")
#: Consequences never the sender's to use: exposure and harassment.
_EXPOSE = re.compile(
    r"曝光|人肉|(?:把|将)" + _YOU + r".{0,6}?(?:发|挂|贴)(?:到|在)?"
    r"(?:网上|抖音|微博|朋友圈|群|你(?:的|们)?(?:单位|公司))"
    r"|(?:发|寄|告诉|通知)(?:到)?你(?:的|们)?(?:单位|公司|领导|家人|老婆|老公|父母|孩子)"
    r"|(?:地址|电话|信息|照片|聊天记录)(?:发|挂|贴)(?:到|在)?(?:网上|抖音|微博|朋友圈|群)"
)
_HARASS = re.compile(
    r"(?:天天|每天|1直|24小时|轮流)(?:打|骚扰|找|堵|发)你(?!.{0,6}(?:没人|不接|打不通|不回|没回))"
    r"|骚扰你|打爆你|(?:来|去|到)(?:你们?)?(?:店|家|公司|单位|门口)(?:里)?(?:闹|堵|坐着)"
    r"|找人(?:收拾|弄|打|揍|堵|教训|上门|来找|找你|来闹)|上门(?:闹|找|堵|讨)"
)
#: A bad review or a complaint: fair on its own, coercion when it buys money.
_REVIEW_LEVER = re.compile(r"差评|1星|中评|投诉|举报|12315|消协")
#: Service withheld: coercion when it buys a review.
_SERVICE_LEVER = re.compile(
    r"(?:别想|不给|不予|不)(?:退款|退货|售后|发货|处理|补发)|售后(?:1概|都|就)?不管"
)
_MONEY = re.compile(r"退款|退钱|退[0-9]|双倍|赔|补偿|返现|给钱|红包|好处费")
_REVIEW = re.compile(r"好评|删(?:掉|了)?差评|差评删|删评|改评|追评|撤(?:销|回)?(?:投诉|举报)")
_NOT_BEFORE = re.compile(r"[没别]|不(?!然)")  # 不然 is a condition, not a negation
_NOT_AFTER = re.compile(r"^.{0,3}(?:不会|不给|不打|不想|不至于)")


#: 砍 + (target) + a count of 刀: "give a cut", the bargaining of 拼多多's 砍一刀
#: ("老板能砍你一刀吗", "帮我砍两刀") -- a request, where a threat has a speaker who means it
#: (我要砍你一刀).
_CUT_COUNT = re.compile(r"砍(?:了)?(?:" + _YOU + r"|我|他|她)?(?:1|几|两|最后1|0)?刀")
_CUT_REQUEST = re.compile(
    r"能|可以|可不可以|帮|求|吗|呗|吧|1下|助力|拼多多|pdd|砍价|链接|差|好友|点"
)
_CUT_FRAME = re.compile(
    r"(?:我|老子|俺|找人|叫人|带人|信不信|小心|看我|迟早|早晚)"
    r"(?:要|会|就|去|非|得|1定|现在|马上|迟早|早晚|拿刀)?$"
)


def _bargain(s: str, a: int, sentence_end: int) -> bool:
    """Is the harm match at ``a`` the 砍一刀 of bargaining? A count of 刀 right after 砍, a
    request or bargaining word in the sentence, and no speaker threatening right before."""
    if s[a] != "砍" or not _CUT_COUNT.match(s, a):
        return False
    if _CUT_FRAME.search(s, max(0, a - 6), a):
        return False
    return _CUT_REQUEST.search(s, 0, sentence_end) is not None


def _clean_match(
    ctx: DetectionContext, rx: re.Pattern[str], s: str, harm: bool = False
) -> tuple[int, int] | None:
    """The first match of ``rx`` in the compact view within one clause of the original that
    the message does not deny (我不会骚扰你的); for harm, not the 砍一刀 of bargaining."""
    for m in rx.finditer(s):
        a, b = m.span()
        if b <= a or ctx.allowed(a, b):
            continue
        o_s, o_e = ctx.original_span(a, b)
        if not ctx.clean_between(o_s, o_e, CLAUSE_END) or ctx.denied(a, b):
            continue
        if harm and _bargain(s, a, _sentence_end(ctx, b)):
            continue
        return a, b
    return None


def _sentence_end(ctx: DetectionContext, b: int) -> int:
    """Compact index where the sentence holding compact char ``b - 1`` ends."""
    v = ctx.views
    text = v.text
    for i in range(b, len(v.compact)):
        if any(ch in SENTENCE_END for ch in text[v.ends[i - 1] : v.starts[i]]):
            return i
    return len(v.compact)


def _lever(ctx: DetectionContext, s: str) -> tuple[int, int] | None:
    """A review or complaint held over money, or service held over a review."""
    if _MONEY.search(s) is not None:
        for m in _REVIEW_LEVER.finditer(s):
            a, b = m.span()
            if _NOT_BEFORE.search(s, max(0, a - 3), a) or _NOT_AFTER.match(s[b : b + 6]):
                continue  # 我不会给差评, 差评我是不会给的
            return a, b
    if _REVIEW.search(s) is not None:
        withheld = _SERVICE_LEVER.search(s)
        if withheld is not None:
            return withheld.span()
    return None


def find_threats(ctx: DetectionContext, found: list[Finding]) -> None:
    """Harm and stalking (``porn_vulgar_violence``), coercion (``extortion``)."""
    s = ctx.views.compact
    harm = _clean_match(ctx, _HARM, s, harm=True) or _clean_match(ctx, _STALK, s)
    if harm is not None:
        o_s, o_e = ctx.original_span(*harm)
        found.append(Finding(cat.PORN_VULGAR_VIOLENCE, o_s, o_e, "threat"))
    condition = _CONDITION.search(s)
    if condition is None:
        return
    # Denied consequences (请不要曝光, 我不会骚扰你的) were skipped by _clean_match.
    consequence = _clean_match(ctx, _EXPOSE, s) or _clean_match(ctx, _HARASS, s) or harm
    if consequence is None:
        consequence = _lever(ctx, s)
    if consequence is None:
        return
    a, b = consequence
    lo, hi = min(condition.start(), a), max(condition.end(), b)
    o_s, o_e = ctx.original_span(lo, hi)
    found.append(Finding(cat.EXTORTION, o_s, o_e, "coercion"))
