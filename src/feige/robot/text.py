"""How a question is read: normalisation, words (jieba), concepts, character n-grams, pinyin.

Four views of one text, each a list of tokens:

* ``words`` — jieba's segmentation with filler words removed ("请问", "亲", "呢" …), plus the
  concept tags of ``meaning.CONCEPTS`` found in the text (``#remote`` for "拉萨");
* ``chars`` — character unigrams and bigrams of the compact text: robust to segmentation
  mistakes and to short questions ("包邮?");
* ``pinyin`` — toneless pinyin syllables and syllable bigrams: a typo that sounds the same
  ("发或" for "发货", "尺吗" for "尺码") reads the same.

The analyzer is built once (jieba's dictionary and the phrase table load then); reading a text
afterwards touches no file.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

import ahocorasick_rs
import jieba
from pypinyin import Style, lazy_pinyin

#: Words that carry no question: greetings, particles, pronouns and politeness.
STOPWORDS = frozenset(
    """
    的 了 着 过 吗 呢 吧 啊 呀 哦 噢 喔 嘛 么 啦 咯 呗 哈 嗯 哎
    诶 唉 哇 耶 哟 滴 捏 咩 亲 亲亲 您好 你好 在吗 在不在 请问 问下
    问一下 想问 想问下 我想 想 问 请 麻烦 谢谢 谢了 客服 老板 掌柜 店家
    小姐姐 小哥哥 美女 帅哥 宝 宝宝 你们 你 您 我 我们 他 她 它 这个
    那个 这 那 这边 那边 一下 一个 个 是 是不是 有没有 能不能 可不可以
    会不会 要不要 就 都 也 还 又 和 跟 与 及 或 或者 而且 但 但是
    所以 因为 然后 如果 啥 什么样 怎么办 该 应该 可以 能 会 要 得 地
    把 被 让 给 对 在 从 到 为 为了 以 很 太 挺 比较 好 好的 哈哈
    嘿嘿 呵呵 哈哈哈 嗯嗯 噢噢 ok 好吧 东西 下 上 里 中 吖 嗷 了吗
    没 有
    """.split()  # noqa: SIM905
) | frozenset(
    # The frame of a question rather than its topic: hedges, time fillers, "can you", "how",
    # question words. Measured on the train split (tests.robot.cv, docs/robot.md#accuracy).
    """
    一般 大概 大约 目前 现在 刚 刚刚 已经 能否 是否 行吗 行不行 可以吗 好吗 弄 帮 帮忙
    帮我 一下 请问一下 知道 不知道 告诉 告诉我 看看 看下 需要 多 怎么 怎样 如何 咋
    什么 啥 哪个 哪些 几个 多少
    """.split()  # noqa: SIM905
)

_PARTICLES = "亲呢吗啊呀哦噢喔吧嘛么啦咯呗哈嗯哎诶唉哇哟吖嗷"
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u4e00-\u9fff]")

logging.getLogger("jieba").setLevel(logging.WARNING)
jieba.setLogLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class Reading:
    """One text in the four views the retriever matches on."""

    compact: str
    words: tuple[str, ...]
    concepts: frozenset[str]
    chars: tuple[str, ...]
    pinyin: tuple[str, ...]

    @property
    def lexical(self) -> tuple[str, ...]:
        """Words and concept tags together: the view BM25 indexes."""
        return (*self.words, *sorted(self.concepts))


def normalize(text: str) -> str:
    """NFKC, lower case, punctuation and spaces removed."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).lower())


class Analyzer:
    """Reads texts into the four views; one per robot (it owns a jieba tokenizer)."""

    def __init__(self, concepts: Mapping[str, tuple[str, ...]], use_concepts: bool = True):
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        self.use_concepts = use_concepts
        tags: dict[str, set[str]] = {}
        for concept, surfaces in concepts.items():
            for phrase in surfaces:
                key = normalize(phrase)
                if key:
                    tags.setdefault(key, set()).add(concept)
        phrases = list(tags)
        for key in phrases:
            if len(key) > 1:
                self._tokenizer.add_word(key, freq=2000)
        self._concepts_of = [frozenset(tags[key]) for key in phrases]
        self._matcher = ahocorasick_rs.AhoCorasick(
            phrases, matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_LONGEST
        )
        self._pinyin_cache: dict[str, str] = {}
        # The same phrases by sound, so a homophone typo keeps its concept ("尺吗" still asks
        # #size): phrases of two or more Chinese characters only (one syllable is too vague),
        # and only for a text in which no phrase is found as written (``read``).
        sounds: dict[str, set[str]] = {}
        for key in phrases:
            if len(key) > 1 and all(_CJK.match(c) for c in key):
                sound = " " + " ".join(self._syllable(c) for c in key) + " "
                sounds.setdefault(sound, set()).update(tags[key])
        self._sounds = list(sounds)
        self._concepts_of_sound = [frozenset(sounds[k]) for k in self._sounds]
        self._sound_matcher = ahocorasick_rs.AhoCorasick(self._sounds) if self._sounds else None

    def concepts(self, compact: str) -> frozenset[str]:
        if not self.use_concepts or not compact:
            return frozenset()
        found: set[str] = set()
        for i, _, _ in self._matcher.find_matches_as_indexes(compact):
            found |= self._concepts_of[i]
        return frozenset(found)

    def sounded_concepts(self, syllables: list[str]) -> frozenset[str]:
        """Concepts whose phrase sounds like a run of the text's syllables."""
        if not self.use_concepts or self._sound_matcher is None or len(syllables) < 2:
            return frozenset()
        found: set[str] = set()
        text = " " + " ".join(syllables) + " "
        for i, _, _ in self._sound_matcher.find_matches_as_indexes(text, overlapping=True):
            found |= self._concepts_of_sound[i]
        return frozenset(found)

    def read(self, text: str) -> Reading:
        compact = normalize(text)
        words = tuple(
            w for w in self._tokenizer.lcut(compact, HMM=True) if w not in STOPWORDS and w.strip()
        )
        core = compact.strip(_PARTICLES) or compact
        chars = (*core, *(core[i : i + 2] for i in range(len(core) - 1)))
        syllables = [self._syllable(c) for c in core if _CJK.match(c)]
        pinyin = (*syllables, *(f"{a}_{b}" for a, b in pairwise(syllables)))
        return Reading(
            compact=compact,
            words=words,
            concepts=self.concepts(compact) or self.sounded_concepts(syllables),
            chars=tuple(chars),
            pinyin=tuple(pinyin),
        )

    def _syllable(self, char: str) -> str:
        """Toneless pinyin of one character, cached (pypinyin is slow per call)."""
        got = self._pinyin_cache.get(char)
        if got is None:
            syllables = lazy_pinyin(char, style=Style.NORMAL, errors="ignore")
            got = syllables[0] if syllables else char
            # Finals that buyers' input methods confuse are folded: zh/z, ch/c, sh/s, -ng/-n.
            got = re.sub(r"^([zcs])h", r"\1", got)
            got = re.sub(r"([ei])ng$", r"\1n", got)
            self._pinyin_cache[char] = got
        return got
