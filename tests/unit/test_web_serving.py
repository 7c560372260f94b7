"""How the server answers for the web app (docs/web.md): pages, assets, the API's own paths,
and a build that is missing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from feige.api.hardening import SecurityHeaders
from feige.config import Settings
from feige.web import ASSET_CACHE, WebApp


def app_with(static_dir: Path) -> httpx.AsyncClient:
    api = FastAPI()

    @api.get("/api/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    api.router.default = WebApp(api.router.default, static_dir)
    api.add_middleware(SecurityHeaders, settings=Settings())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://feige")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>app</title>")
    (static / "assets" / "index-abc123.js").write_text("console.log(1)")
    (static / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not served")
    return static


@pytest.mark.parametrize("path", ["/", "/chat", "/workbench", "/workbench/sessions/17", "/chat/"])
async def test_every_page_of_the_app_is_index_html_under_the_csp(built: Path, path: str) -> None:
    async with app_with(built) as client:
        r = await client.get(path)
    assert r.status_code == 200
    assert r.text == "<!doctype html><title>app</title>"
    assert r.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in r.headers["content-security-policy"]


async def test_assets_are_cached_for_good_and_missing_files_are_404(built: Path) -> None:
    async with app_with(built) as client:
        asset = await client.get("/assets/index-abc123.js")
        assert asset.status_code == 200 and asset.text == "console.log(1)"
        assert asset.headers["cache-control"] == ASSET_CACHE
        assert (await client.get("/favicon.svg")).headers["cache-control"] == "no-cache"
        for path in ("/assets/gone-1.js", "/assets/%2e%2e/%2e%2e/secret.txt", "/missing.png"):
            assert (await client.get(path)).status_code == 404, path


async def test_the_api_keeps_its_own_answers(built: Path) -> None:
    async with app_with(built) as client:
        assert (await client.get("/api/things/3")).json() == {"id": 3}
        # An unknown API path, a wrong method, a POST to a page: the API's answers, not the
        # app's page.
        assert (await client.get("/api/nothing")).json() == {"detail": "Not Found"}
        assert (await client.get("/metrics/x")).status_code == 404
        assert (await client.put("/api/things/3")).status_code == 405
        assert (await client.post("/chat")).status_code == 404


async def test_a_missing_build_says_how_to_make_it(tmp_path: Path) -> None:
    async with app_with(tmp_path / "nothing-here") as client:
        r = await client.get("/workbench")
    assert r.status_code == 503
    assert "make install" in r.text and "npm run build" in r.text
    assert "网页应用尚未构建" in r.text
