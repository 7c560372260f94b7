"""The workbench as the README shows it: a busy afternoon of one agent, set up through the API
with a server clock that can be moved back, so each buyer has waited a different time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import OpenWindow
from tests.browser.workbench_helpers import consumer, member, open_workbench, session_item
from tests.integration.harness import Server, fresh_database_url

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


class MovableClock:
    """The server's clock, ``offset`` seconds from now: messages written "minutes ago"."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


CLOCK = MovableClock()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("web")
    server = Server(folder, fresh_database_url(folder), clock=CLOCK)
    server.start()
    yield server
    server.stop()


def test_the_workbench_screenshot(open_window: OpenWindow, web_server: Server) -> None:
    owner, agent_api = member(web_server, "shop1_owner"), member(web_server, "shop1_agent1")
    owner.ok("PATCH", f"/api/shop/members/{agent_api.id}", json={"capacity": 4})
    agent_api.ok("POST", "/api/agent/status", json={"status": "online"})
    people = [
        consumer(web_server, "buyer1"),
        consumer(web_server, "c-chen", "陈小姐"),
        consumer(web_server, "c-zhou", "周先生"),
        consumer(web_server, "c-lin", "林同学"),
        consumer(web_server, "c-wu", "吴女士"),
    ]
    wang, chen, zhou, lin, wu = people

    def at(seconds_ago: float) -> None:
        CLOCK.offset = -seconds_ago

    def answer(session_id: int, text: str) -> None:
        agent_api.write(text, session_id=session_id)

    try:
        at(430)
        chen_id = chen.write("你好，上周买的羽绒服可以换大一码吗？", entry="order")["session_id"]
        at(400)
        card = {"kind": "product_card", "product_id": "P10086", "title": "纯棉宽松衬衫 男女同款"}
        card["price"] = "129.00"
        wang_id = wang.write("你好，这件衬衫有黑色 L 码吗？", entry="product", entry_card=card)
        wang_id = wang_id["session_id"]
        at(380)
        answer(wang_id, "亲，黑色 L 码有现货的，今天 16 点前下单当天发货～")
        at(300)
        wang.write("好的，我 175 cm、70 kg，L 码合适吗？", session_id=wang_id)
        at(285)
        answer(wang_id, "按您的身高体重，L 码是合适的，喜欢宽松一点可以选 XL。")
        at(200)
        order = {"order_no": "FG20261129104512", "title": "纯棉宽松衬衫 黑色 L", "amount": "129.00"}
        order["status"] = "待发货"
        wang.ok(
            "POST",
            "/api/messages",
            json={"client_id": "shot-order", "kind": "order_card", "content": order}
            | {"session_id": wang_id},
        )
        at(190)
        wang.write("刚下单了，能帮我备注一下用顺丰吗？", session_id=wang_id)
        at(150)
        zhou.write("请问这款耳机支持降噪吗？", entry="product")
        at(70)
        lin.write("在吗？优惠券怎么用不了", entry="direct")
        at(20)
        wu.write("我想咨询一下发票的问题", entry="order")  # the agent is full: queued
        CLOCK.offset = 0

        agent = open_window()
        page = agent.page
        open_workbench(page, "shop1_agent1")
        page.get_by_text("以后再说").click()
        page.get_by_test_id("section-queued").wait_for()
        session_item(page, wang_id).click()
        page.get_by_test_id("messages").get_by_text("刚下单了，能帮我备注一下用顺丰吗？").wait_for()
        page.get_by_test_id("earlier-sessions").wait_for()
        page.get_by_test_id("order_card").first.wait_for()
        # Opened, the session is read, even when its messages arrived after the click.
        page.locator(f'[data-testid="session-{wang_id}"][data-unread="0"]').wait_for()
        page.get_by_test_id("composer-input").fill("好的亲，已为您备注顺丰发货，")
        assert (
            session_item(page, chen_id).get_by_test_id("waiting-timer").get_attribute("data-level")
            == "4"
        )
        page.evaluate("document.fonts.ready")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "workbench.png"))
        assert agent.errors == []
    finally:
        for person in (*people, owner, agent_api):
            person.close()
