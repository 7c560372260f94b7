"""The chat window and the shop (docs/web.md, "The chat header", "Blocking a shop"): the
shop's name and presence, the live queue position, blocking and unblocking the shop, and an
image as the very first message; the shop's side driven over REST and the socket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.chat_helpers import Agent, open_chat, type_and_send, wait_for_text
from tests.browser.conftest import OpenWindow
from tests.integration.harness import Server, png

TIMEOUT = 15_000
SHOP1 = 1


@pytest.fixture(scope="module")
def agent(web_server: Server) -> Iterator[Agent]:
    """Shop 1's agent 小红, online with room for one buyer at a time: the next ones queue."""
    owner = Agent(web_server, "shop1_owner")
    person = Agent(web_server, "shop1_agent1")
    owner.ok("PATCH", f"/api/shop/members/{person.id}", {"capacity": 1})
    person.online().connect()
    yield person
    person.close_socket()


def rest_buyer(server: Server, external_id: str) -> httpx.Client:
    """A consumer who chats over REST only (no browser)."""
    answer = httpx.post(
        f"{server.base_url}/api/auth/demo-consumer", json={"external_id": external_id}
    )
    answer.raise_for_status()
    token = answer.json()["token"]
    return httpx.Client(
        base_url=server.base_url, headers={"authorization": f"Bearer {token}"}, timeout=10
    )


def first_text(buyer: httpx.Client, text: str) -> int:
    body = {"client_id": f"c{time.monotonic_ns()}", "kind": "text", "content": {"text": text}}
    answer = buyer.post("/api/messages", json={**body, "shop_id": SHOP1})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["session_id"])


def test_the_header_names_the_shop_and_the_queue_position_follows_the_queue(
    open_window: OpenWindow, agent: Agent, web_server: Server
) -> None:
    served, ahead = rest_buyer(web_server, "shop-served"), rest_buyer(web_server, "shop-ahead")
    served_session = first_text(served, "在吗")  # the agent's one seat
    first_text(ahead, "你好")  # first in the queue
    buyer = open_window()
    page = buyer.page
    open_chat(page, "shop-queued", "小周")
    page.get_by_test_id("shop-name").get_by_text("飞鸽旗舰店").wait_for(timeout=TIMEOUT)
    presence = page.get_by_test_id("shop-presence")
    assert presence.get_attribute("data-online") == "true"
    assert presence.inner_text() == "客服在线"

    type_and_send(page, "请问什么时候发货？")
    status = page.get_by_test_id("chat-status")
    status.get_by_text("排队中，前面还有 1 人").wait_for(timeout=TIMEOUT)
    # The buyer ahead leaves the queue (blocks the shop): this one is next, live.
    assert ahead.post(f"/api/shops/{SHOP1}/block").status_code == 200
    status.get_by_text("排队中，下一位就是您").wait_for(timeout=TIMEOUT)
    # The seat frees up: served.
    agent.ok("POST", f"/api/sessions/{served_session}/close")
    status.get_by_text("客服已接入").wait_for(timeout=TIMEOUT)
    wait_for_text(page, "欢迎光临飞鸽旗舰店", role="system")
    mine = agent.message(content={"text": "请问什么时候发货？"})
    agent.ok("POST", f"/api/sessions/{mine['session_id']}/close")
    for client in (served, ahead):
        client.close()
    assert buyer.errors == []


def test_block_the_shop_after_confirming_then_unblock(
    open_window: OpenWindow, agent: Agent
) -> None:
    buyer = open_window()
    page = buyer.page
    open_chat(page, "shop-blocker")
    type_and_send(page, "你好，在吗")
    session_id = agent.message(content={"text": "你好，在吗"})["session_id"]
    agent.say(session_id, "亲，在的")
    wait_for_text(page, "亲，在的", role="agent")

    page.get_by_test_id("chat-menu").click()
    page.get_by_test_id("menu-block").get_by_text("屏蔽店铺").click()
    dialog = page.get_by_role("dialog", name="屏蔽该店铺？")
    dialog.get_by_text("店铺无法再给您发消息").wait_for()
    # Cancel changes nothing.
    dialog.get_by_role("button", name="取消").click()
    dialog.wait_for(state="hidden")
    assert agent.ok("GET", f"/api/sessions/{session_id}")["state"] == "assigned"

    page.get_by_test_id("chat-menu").click()
    page.get_by_test_id("menu-block").click()
    dialog.get_by_test_id("block-confirm").click()
    page.get_by_test_id("blocked-notice").wait_for(timeout=TIMEOUT)
    # The session closed for the shop too; blocking asks for no rating.
    wait_for_text(page, "会话已结束", role="system")
    assert agent.ok("GET", f"/api/sessions/{session_id}")["state"] == "closed"
    assert page.get_by_role("dialog", name="请为本次服务评价").is_visible() is False
    page.get_by_test_id("composer-input").fill("还能发吗")
    assert page.get_by_test_id("composer-send").is_disabled()
    # A reload remembers the block.
    page.reload()
    page.get_by_test_id("blocked-notice").wait_for(timeout=TIMEOUT)

    page.get_by_test_id("unblock").click()
    page.get_by_test_id("blocked-notice").wait_for(state="detached", timeout=TIMEOUT)
    type_and_send(page, "我又来了")
    again = agent.message(content={"text": "我又来了"})
    assert again["session_id"] != session_id
    agent.ok("POST", f"/api/sessions/{again['session_id']}/close")
    assert buyer.errors == []


def test_an_image_as_the_very_first_message(
    open_window: OpenWindow, agent: Agent, tmp_path: Path
) -> None:
    buyer = open_window()
    page = buyer.page
    open_chat(page, "shop-first-image")
    picture = tmp_path / "first.png"
    picture.write_bytes(png(96, 64, (30, 160, 90)))
    page.get_by_test_id("image-input").set_input_files(str(picture))
    sent = agent.message(kind="image", sender_role="buyer")
    session = agent.ok("GET", f"/api/sessions/{sent['session_id']}")
    assert session["state"] == "assigned" and sent["seq"] > 1  # the welcome came first
    mine = page.locator('[data-testid="message"][data-role="buyer"]').get_by_test_id("chat-image")
    mine.locator("img").wait_for(timeout=TIMEOUT)
    assert page.get_by_test_id("pending-message").count() == 0
    page.get_by_test_id("chat-status").get_by_text("客服已接入").wait_for(timeout=TIMEOUT)
    agent.ok("POST", f"/api/sessions/{sent['session_id']}/close")
    assert buyer.errors == []
