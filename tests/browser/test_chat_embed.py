"""The chat embedded in a marketplace's page: feige-embed.js opens it in a frame, the
marketplace's signature for its user travels in the fragment, and the window signs in
with it and forgets it (docs/web.md, "Embedding the chat")."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser.conftest import OpenWindow
from tests.integration.harness import Server, free_port, fresh_database_url

# The marketplace's page: another origin, served on the loopback address like the server
# (Chrome lets no page from elsewhere reach a loopback address).
MARKETPLACE_PORT = free_port()
MARKETPLACE = f"http://127.0.0.1:{MARKETPLACE_PORT}"
SECRET = "marketplace-secret-for-the-embed-test"


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server the marketplace may frame, with the secret it signs its users with."""
    folder = tmp_path_factory.mktemp("embed")
    server = Server(
        folder,
        fresh_database_url(folder),
        overrides={"frame_ancestors": [MARKETPLACE], "platform_secret": SECRET},
    )
    server.start()
    yield server
    server.stop()


def signed_user(uid: str, nick: str) -> dict[str, object]:
    """What the marketplace's server hands its page (docs/security.md, consumer tokens)."""
    ts = int(time.time())
    sig = hmac.new(SECRET.encode(), f"{uid}\n{nick}\n{ts}".encode(), hashlib.sha256).hexdigest()
    return {"uid": uid, "nick": nick, "ts": ts, "sig": sig}


@contextmanager
def marketplace(html: str) -> Iterator[None]:
    """The marketplace's web server, answering every GET with its product page."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", MARKETPLACE_PORT), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def marketplace_page(feige: str, options: dict[str, object]) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>商品详情</title></head>
<body><h1>秋冬加厚羊毛大衣</h1><button id="ask">联系客服</button>
<script src="{feige}/feige-embed.js"></script>
<script>
document.getElementById('ask').onclick = () => FeigeChat.open({json.dumps(options)})
</script>
</body></html>"""


def test_a_marketplace_page_opens_the_chat_in_a_frame_with_its_signed_user(
    open_window: OpenWindow, web_server: Server
) -> None:
    window = open_window()
    page = window.page
    options = {
        "shop": 1,
        "product": {"id": "P1001", "title": "秋冬加厚羊毛大衣", "price": "399.00"},
        "user": signed_user("mall-user-42", "小林"),
    }
    with marketplace(marketplace_page(web_server.base_url, options)):
        page.goto(f"{MARKETPLACE}/item/1001")
        page.locator("#ask").click()

        chat = page.frame_locator("iframe[title='在线客服']")
        chat.get_by_test_id("chat-face").wait_for(timeout=15_000)
        chat.locator('[data-testid="connection-state"][data-state="open"]').wait_for(timeout=15_000)
        assert chat.get_by_test_id("signed-in-as").inner_text() == "小林"
        chat.get_by_test_id("entry-banner").get_by_text("秋冬加厚羊毛大衣").wait_for()
        # The signature left the frame's address once used.
        frame = next(f for f in page.frames if f.url.startswith(web_server.base_url))
        assert "#" not in frame.url and "sig=" not in frame.url
        assert frame.url.startswith(f"{web_server.base_url}/chat?shop=1&product=P1001")
        assert window.errors == []


def test_a_forged_hand_over_is_refused(open_window: OpenWindow, web_server: Server) -> None:
    window = open_window()
    user = signed_user("mall-user-43", "小赵")
    user["sig"] = "0" * 64
    window.page.goto(f"/chat?shop=1#uid={user['uid']}&ts={user['ts']}&sig={user['sig']}")
    window.page.get_by_role("heading", name="登录飞鸽").wait_for()
    assert "sig=" not in window.page.url
