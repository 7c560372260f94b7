"""Sexual services offered or sold, by their structure (2.2.6).

The lexicon names the blunt words (约炮, 裸聊, 特殊服务); offers are usually veiled: a word for
intimacy or for what is sold (陪聊, 包夜, 原味内衣, 私房照) or a person offered (小姐姐,
学生妹, 兼职妹妹), together with a covert call (私我, 懂的来, 可约, 一晚 …, 出售). Either half
alone is ordinary shop talk (内衣出售, 私我改价, 小姐姐你好); the two in one message are an
offer. Reads the compact view; a message holding a ``cue.sex`` word takes the slow
path, where this runs.
"""

from __future__ import annotations

import re

from feige.moderation import categories as cat
from feige.moderation.detectors.context import DetectionContext, Finding

#: Intimacy or sexual goods: an offer when a covert call goes with them. Each is written so
#: that its everyday senses stay out: 原味 only of clothing (原味瓜子 is a flavour), 成人 only
#: of media (成人款, 成人用品 are products), 私房 only of photos (私房菜).
_SERVICE = re.compile(
    r"陪聊|陪睡|陪夜|陪床|陪你睡|包夜|大保健|原味(?:内衣|内裤|丝袜|袜|衣物|贴身|小裤)|私房照"
    r"|裸(?:聊|照|体|舞|露)|1夜情|约炮|色色|涩涩|小电影|成人(?:视频|电影|资源|网站|直播)"
    r"|特殊服务|全套服务|福利视频|福利资源|擦边"
)
#: A person offered: an offer only with a call that is sexual by itself.
_PERSON = re.compile(r"小姐姐|小妹妹|妹妹|学生妹|少妇|嫩模|外围|兼职女|美女")
#: The covert call.
_CALL = re.compile(
    r"私我|私聊|私信|懂的|懂得|都懂|可约|约吗|约不约|1晚|1次|1夜|1小时|先付|加我|滴滴|戳我"
    r"|出售|有偿|价格私|面议|来玩|包夜|陪"
)
#: Calls that make a person offered an offer (小姐姐私我 is not enough: 私我改价; nor is 上门:
#: 我妹妹上门取件).
_STRONG_CALL = re.compile(r"懂的|懂得|都懂|可约|约吗|约不约|1晚|1夜|包夜|有偿|陪聊|陪睡|陪夜")


def find_solicitation(ctx: DetectionContext, found: list[Finding]) -> None:
    """A sexual service or good, or a person, offered with a covert call."""
    s = ctx.views.compact
    for rx, call in ((_SERVICE, _CALL), (_PERSON, _STRONG_CALL)):
        for m in rx.finditer(s):
            a, b = m.span()
            if ctx.allowed(a, b) or ctx.denied(a, b):
                continue
            c = call.search(s, b) or call.search(s, 0, a)
            if c is None:
                continue
            lo, hi = min(a, c.start()), max(b, c.end())
            o_s, o_e = ctx.original_span(lo, hi)
            found.append(Finding(cat.PORN_VULGAR_VIOLENCE, o_s, o_e, "solicitation"))
            return
