"""The full-auto robot's decision on one buyer message (docs/robot-modes.md, "Full-auto"):
hand-over first (a person asked for, the shop's interception words, anger), then an answer
above the threshold, else an unanswered question."""

from __future__ import annotations

import pytest

from feige.robot import AnswerContext, KnowledgeEntry, Robot
from feige.robot.defaults import merge
from feige.robot.full_auto import angry, decide, intercepted


@pytest.fixture(scope="module")
def robot() -> Robot:
    price = KnowledgeEntry("这个多少钱", "{商品标题} 现价 {商品价格} 元", similar=("多少钱",))
    return Robot(merge([price]))


@pytest.mark.parametrize("text", ["转人工", "人工", "找客服", "我要人工客服", "不要机器人了"])
def test_asking_for_a_person_hands_over(robot: Robot, text: str) -> None:
    turn = decide(robot, text)
    assert (turn.kind, turn.reason) == ("handover", "requested")


def test_interception_words_are_the_shops_own_or_the_defaults(robot: Robot) -> None:
    assert decide(robot, "我要投诉你们").reason == "intercepted"
    assert decide(robot, "我要投诉你们").detail == "投诉"
    own = decide(robot, "你们退 款太慢了", interception_words=["退款太慢"])
    assert (own.reason, own.detail) == ("intercepted", "退款太慢")  # compact text
    assert decide(robot, "我要投诉你们", interception_words=[]).reason != "intercepted"
    assert intercepted("找12315", ["12315"]) == "12315"
    assert intercepted("hello", ["", " "]) is None


@pytest.mark.parametrize(
    ("text", "word"),
    [("气死我了怎么还不发货", "气死"), ("什么破玩意儿", "什么破"), ("到底发不发!!!", "!!!"),
     ("还不发货！！！", "!!!"), ("你这答非所问啊", "答非所问")],
)  # fmt: skip
def test_anger_hands_over(robot: Robot, text: str, word: str) -> None:
    assert angry(text) == word
    turn = decide(robot, text)
    assert (turn.kind, turn.reason, turn.detail) == ("handover", "anger", word)


@pytest.mark.parametrize("text", ["怎么退货", "多久发货！", "请问有货吗", "可以便宜点吗"])
def test_calm_questions_are_not_anger(text: str) -> None:
    assert angry(text) is None


def test_answers_above_the_threshold_and_misses_below(robot: Robot) -> None:
    answer = decide(robot, "下单后几天能发货呀")
    assert answer.kind == "answer" and answer.question == "多久发货"
    assert answer.text is not None and "48小时" in answer.text
    for text in ("今天天气怎么样", "讲个笑话", None, "  "):
        assert decide(robot, text).kind == "miss"


def test_an_answer_the_session_cannot_fill_is_a_miss(robot: Robot) -> None:
    assert decide(robot, "这个多少钱").kind == "miss"
    context = AnswerContext(product_title="蓝牙耳机", product_price="199")
    filled = decide(robot, "这个多少钱", context)
    assert (filled.kind, filled.text) == ("answer", "蓝牙耳机 现价 199 元")
