"""The sign-in page: staff and consumers land on their own faces, in two browsers at once."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import OpenWindow
from tests.browser.helpers import sign_in_consumer, sign_in_staff, wait_connected
from tests.integration.harness import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_staff_and_consumer_sign_in_and_land_on_their_faces(open_window: OpenWindow) -> None:
    agent = open_window()
    answer = agent.page.goto("/")
    assert answer is not None and "script-src 'self';" in answer.headers["content-security-policy"]
    agent.page.get_by_role("heading", name="登录飞鸽").wait_for()
    agent.page.evaluate("document.fonts.ready")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    agent.page.screenshot(path=str(SCREENSHOTS / "login.png"))

    buyer = open_window()
    sign_in_staff(agent.page, "shop1_agent1")
    sign_in_consumer(buyer.page, "buyer1")

    assert agent.page.url.endswith("/workbench")
    assert buyer.page.url.endswith("/chat")
    # Each face's socket signs in under the page's CSP, as the protocol asks.
    wait_connected(agent.page)
    wait_connected(buyer.page)
    assert agent.page.get_by_test_id("signed-in-as").inner_text() == "小红"
    assert buyer.page.get_by_test_id("signed-in-as").inner_text() == "爱购物的小王"
    assert agent.errors == [] and buyer.errors == []


def test_platform_staff_sign_in_to_the_platform_console(open_window: OpenWindow) -> None:
    admin = open_window()
    sign_in_staff(admin.page, "admin", kind="staff")
    wait_connected(admin.page)
    assert admin.page.url.endswith("/platform/queue")
    assert admin.page.get_by_test_id("signed-in-as").inner_text() == "平台管理员"
    # The workbench is the shops' face: staff are sent back to theirs.
    admin.page.goto("/workbench")
    admin.page.get_by_test_id("platform-face").wait_for()
    assert admin.page.url.endswith("/platform/queue")
    assert admin.errors == []


def test_a_refused_sign_in_shows_the_servers_reason_in_the_chosen_language(
    open_window: OpenWindow,
) -> None:
    window = open_window()
    page = window.page
    page.goto("/")
    page.get_by_test_id("login-username").fill("shop1_agent1")
    page.get_by_test_id("login-password").fill("wrong-password")
    page.get_by_test_id("login-submit").click()
    assert page.get_by_test_id("login-error").inner_text().strip() == "用户名或密码错误"

    page.get_by_test_id("locale-switch").get_by_text("English").click()
    page.get_by_role("heading", name="Sign in to Feige").wait_for()
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("login-error").get_by_text("Wrong username or password").wait_for()
    # The choice is kept for the next visit.
    page.reload()
    page.get_by_role("heading", name="Sign in to Feige").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"


def test_deep_links_reloads_and_sign_out(open_window: OpenWindow) -> None:
    agent = open_window()
    sign_in_staff(agent.page, "shop1_agent2")
    # A deep link into the face is served the app and stays signed in (same tab).
    agent.page.goto("/workbench/sessions/1")
    agent.page.get_by_test_id("workbench-face").wait_for()
    wait_connected(agent.page)
    # A face that is not the account's sends it to its own.
    agent.page.goto("/chat")
    agent.page.get_by_test_id("workbench-face").wait_for()
    assert agent.page.url.endswith("/workbench")

    agent.page.get_by_test_id("sign-out").click()
    agent.page.get_by_role("heading", name="登录飞鸽").wait_for()
    agent.page.goto("/workbench")
    agent.page.get_by_role("heading", name="登录飞鸽").wait_for()
    assert agent.errors == []


def test_a_shops_chat_link_survives_the_sign_in(open_window: OpenWindow) -> None:
    """A consumer not signed in follows a product's chat link: the sign-in page comes first,
    then the chat with that shop and that product, not the chat window's start."""
    buyer = open_window()
    page = buyer.page
    link = "/chat?shop=1&product=P2002&title=%E7%BE%8A%E7%BB%92%E5%9B%B4%E5%B7%BE&price=199.00"
    page.goto(link)
    page.get_by_role("tab", name="消费者").wait_for()
    assert page.url.split("?", 1)[0].endswith("/")
    page.get_by_role("tab", name="消费者").click()
    page.get_by_test_id("consumer-id").fill("link-follower")
    page.get_by_test_id("consumer-submit").click()
    page.get_by_test_id("chat-face").wait_for()
    banner = page.get_by_test_id("entry-banner")
    banner.get_by_text("羊绒围巾").wait_for()
    assert "product=P2002" in page.url and "shop=1" in page.url
    # A link into another face is not followed: staff land on their own face's start.
    staff = open_window()
    staff.page.goto("/?next=/chat%3Fshop%3D1")
    staff.page.get_by_test_id("login-username").fill("shop1_agent1")
    staff.page.get_by_test_id("login-password").fill(PASSWORD)
    staff.page.get_by_test_id("login-submit").click()
    staff.page.get_by_test_id("workbench-face").wait_for()
    assert staff.page.url.rstrip("/").endswith("/workbench")
    assert buyer.errors == [] and staff.errors == []
