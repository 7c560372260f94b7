"""The web app's budgets (docs/performance.md, "Web app"): the first JS of each face, gzipped,
and how fast the agent workbench switches sessions when it holds 50 open sessions, one of
them with 5,000 messages.

    cd web && npm run build && cd .. && .venv/bin/python bench/web_budget.py [--json]
    [--sessions 50] [--history 5000] [--switches 40]

Part 1 reads the build manifest (`src/feige/web/static/.vite/manifest.json`): a face's first
load is the entry chunk, the face's own lazily loaded chunk and everything both import
statically (each file counted once, gzipped at level 9). Budget: 300 KB per face.

Part 2 starts a demo server (SQLite in a temporary folder, send limits raised for the
seeding), seeds the sessions through the API, signs the agent in with Playwright in
Debian's chromium, loads the whole 5,000-message history into the page by scrolling, then
times session switches inside the page: from the click to the first frame painted after
the chat pane shows the chosen session's messages (`performance.now()`, no network in the
measured path: every session's tail is already held).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402
from tests.integration.harness import PASSWORD, Server  # noqa: E402

from feige.web import STATIC_DIR  # noqa: E402

BUDGET_BYTES = 300 * 1024
FACES = {
    "login": "src/views/login/LoginView.vue",
    "chat": "src/views/chat/index.ts",
    "workbench": "src/views/workbench/index.ts",
    "platform": "src/views/platform/index.ts",
}


# --- part 1: the first JS of each face ------------------------------------------------------


def first_load(manifest: dict[str, Any], face_key: str) -> list[str]:
    """The JS files a face needs before it shows: the entry, the face's chunk, and their
    static imports, transitively."""
    files: list[str] = []
    seen: set[str] = set()
    pending = ["index.html", face_key]
    while pending:
        key = pending.pop()
        if key in seen:
            continue
        seen.add(key)
        chunk = manifest[key]
        files.append(chunk["file"])
        pending.extend(chunk.get("imports", []))
    return files


def js_budget() -> dict[str, dict[str, Any]]:
    manifest = json.loads((STATIC_DIR / ".vite" / "manifest.json").read_text())
    out: dict[str, dict[str, Any]] = {}
    for face, key in FACES.items():
        files = first_load(manifest, key)
        raw = [(STATIC_DIR / name).read_bytes() for name in files]
        gzipped = sum(len(gzip.compress(data, 9)) for data in raw)
        out[face] = {
            "files": len(files),
            "raw_bytes": sum(len(data) for data in raw),
            "gzip_bytes": gzipped,
            "within_budget": gzipped <= BUDGET_BYTES,
        }
    return out


# --- part 2: switching sessions in the workbench -------------------------------------------


async def seed(server: Server, sessions: int, history: int) -> int:
    """Opens ``sessions`` sessions on shop1_agent1 (one with ``history`` messages); returns
    the big session's id."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:

        async def sign_in(path: str, body: dict[str, Any]) -> dict[str, Any]:
            answer = await http.post(path, json=body)
            answer.raise_for_status()
            return dict(answer.json())

        def headers(signed: dict[str, Any]) -> dict[str, str]:
            return {"authorization": f"Bearer {signed['token']}"}

        owner = await sign_in("/api/auth/login", {"username": "shop1_owner", "password": PASSWORD})
        agent = await sign_in("/api/auth/login", {"username": "shop1_agent1", "password": PASSWORD})
        agent_id = agent["principal"]["id"]
        patch = await http.patch(
            f"/api/shop/members/{agent_id}", json={"capacity": 200}, headers=headers(owner)
        )
        patch.raise_for_status()
        status = await http.post(
            "/api/agent/status", json={"status": "online"}, headers=headers(agent)
        )
        status.raise_for_status()

        async def send(who: dict[str, Any], client_id: str, text: str, **target: Any) -> int:
            body = {"client_id": client_id, "kind": "text", "content": {"text": text}, **target}
            answer = await http.post("/api/messages", json=body, headers=headers(who))
            answer.raise_for_status()
            return int(answer.json()["session_id"])

        buyers = [
            await sign_in(
                "/api/auth/demo-consumer", {"external_id": f"bench-{n}", "nickname": f"买家{n}"}
            )
            for n in range(sessions)
        ]
        ids = [await send(b, f"open-{n}", "你好，在吗？", shop_id=1) for n, b in enumerate(buyers)]
        big = ids[0]
        gate = asyncio.Semaphore(16)

        async def one(n: int) -> None:
            async with gate:
                who = buyers[0] if n % 2 == 0 else agent
                await send(who, f"h-{n}", f"第 {n} 条：这件商品什么时候发货？", session_id=big)

        await asyncio.gather(*(one(n) for n in range(history - 2)))
        return big


SWITCH = """async (id) => {
  const t0 = performance.now();
  document.querySelector(`[data-testid="session-${id}"]`).click();
  await new Promise((done) => {
    const check = () => {
      const pane = document.querySelector('[data-testid="chat-pane"]');
      const shown = pane && pane.dataset.session === String(id)
      const painted = shown && pane.querySelector('[data-testid="message"]');
      requestAnimationFrame(painted ? () => done() : check);
    };
    check();
  });
  return performance.now() - t0;
}"""

LOAD_ALL = """async () => {
  const box = document.querySelector('[data-testid="messages"]');
  const t0 = performance.now();
  const edge = () => document.querySelector('[data-testid="messages"] .history-edge');
  while (!edge()?.textContent.includes('没有更早')) {
    box.scrollTop = 0;
    box.dispatchEvent(new Event('scroll'));
    await new Promise((r) => setTimeout(r, 30));
    if (performance.now() - t0 > 300000) throw new Error('history did not load');
  }
  return performance.now() - t0;
}"""


def switch_times(base_url: str, big: int, sessions: int, switches: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_context(base_url=base_url, viewport=VIEWPORT).new_page()
        page.goto("/")
        page.get_by_test_id("login-username").fill("shop1_agent1")
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.locator('[data-testid="connection-state"][data-state="open"]').wait_for()
        items = page.locator('[data-testid="section-mine"] [data-testid^="session-"]')
        deadline = time.time() + 60
        while items.count() < sessions and time.time() < deadline:
            time.sleep(0.2)
        ids = [int(str(i.get_attribute("data-testid")).split("-")[1]) for i in items.all()]
        page.evaluate(SWITCH, big)
        load_ms = page.evaluate(LOAD_ALL)
        held = page.locator('[data-testid="messages"] [data-testid="message"]').count()
        others = [i for i in ids if i != big]
        times: list[float] = []
        to_big: list[float] = []
        for n in range(switches):
            target = big if n % 2 else others[n % len(others)]
            elapsed = page.evaluate(SWITCH, target)
            (to_big if target == big else times).append(elapsed)
        browser.close()
    every = sorted(times + to_big)
    return {
        "open_sessions": len(ids),
        "history_load_ms": round(load_ms),
        "messages_rendered_after_full_scroll": held,
        "switch_ms_median": round(statistics.median(every), 1),
        "switch_ms_p95": round(every[int(0.95 * (len(every) - 1))], 1),
        "switch_ms_max": round(every[-1], 1),
        "to_big_session_ms_median": round(statistics.median(to_big), 1),
    }


def workbench_switching(sessions: int, history: int, switches: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        server = Server(
            Path(folder),
            f"sqlite:///{folder}/feige.db",
            overrides={
                "consumer_send_rate": "100000 per 10 seconds",
                "member_send_rate": "100000 per 10 seconds",
                "rest_rate_per_token": "1000000 per minute",
            },
        )
        server.start()
        try:
            started = time.perf_counter()
            big = asyncio.run(seed(server, sessions, history))
            seeded = time.perf_counter() - started
            result = switch_times(server.base_url, big, sessions, switches)
            result["seed_seconds"] = round(seeded, 1)
            return result
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--history", type=int, default=5000)
    parser.add_argument("--switches", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    budget = js_budget()
    switching = workbench_switching(args.sessions, args.history, args.switches)
    if args.json:
        print(json.dumps({"first_js": budget, "workbench": switching}, indent=2))
        return
    print("First JS per face (gzip -9), budget 300 KB:")
    for face, row in budget.items():
        verdict = "ok" if row["within_budget"] else "OVER BUDGET"
        kb = row["gzip_bytes"] / 1024
        print(f"  {face:<10} {kb:7.1f} KB in {row['files']} files ({verdict})")
    print(f"Workbench, {switching['open_sessions']} open sessions, {args.history}-message history:")
    for key, value in switching.items():
        print(f"  {key:<38} {value}")


if __name__ == "__main__":
    main()
