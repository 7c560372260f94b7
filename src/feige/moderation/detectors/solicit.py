"""Sexual services offered or sold, by their structure (2.2.6).

The lexicon names the blunt words (约炮, 裸聊, 特殊服务); offers are usually veiled: a word for
intimacy or for what is sold (陪聊, 包夜, 原味, 全套, 私房) or a person offered (小姐姐,
学生妹, 兼职妹妹), together with a covert call (私我, 懂的来, 可约, 一晚 …, 出售). Either half
alone is ordinary shop talk (内衣出售, 私我改价, 小姐姐你好, 上门安装); the two in one message
are an offer. Reads the compact view; a message holding a ``cue.sex`` word takes the slow
path, where this runs.
"""

from __future__ import annotations

import re

from feige.moderation import categories as cat
from feige.moderation.detectors.context import DetectionContext, Finding

#: Intimacy or sexual goods: an offer when a covert call goes with them.
_SERVICE = re.compile(
    r"陪聊|陪睡|陪夜|陪床|陪你睡|包夜|过夜|全套|大保健|原味|私房照?|裸|一夜情|约炮|色色|涩涩"
    r"|小电影|成人|快餐|上门服务|特殊服务|福利视频|福利资源|擦边"
)
#: A person offered: an offer only with a call that is sexual by itself.
_PERSON = re.compile(r"小姐姐|小妹妹|妹妹|学生妹|少妇|嫩模|外围|兼职女|美女|萝莉|模特")
#: The covert call.
_CALL = re.compile(
    r"私我|私聊|私信|懂的|懂得|都懂|可约|约吗|约不约|1晚|1次|1夜|1小时|先付|加我|滴滴|戳我"
    r"|出售|有偿|价格私|面议|来玩|上门|包夜|陪"
)
#: Calls that make a person offered an offer (小姐姐私我 is not enough: 私我改价).
_STRONG_CALL = re.compile(r"懂的|懂得|都懂|可约|约吗|约不约|1晚|1夜|包夜|上门|陪|有偿")


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
