"""The web app (built from ``web/`` into ``static/`` beside this file), served by the API's own
server: hashed assets with long cache headers, and ``index.html`` for every other page path,
so the app's own routes (``/chat``, ``/workbench/…``) work as deep links (docs/web.md)."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"
# Paths the API owns: an unknown one among them answers the API's 404, never the app.
API_PREFIXES = ("/api", "/ws", "/docs", "/redoc", "/openapi.json", "/metrics", "/healthz")
# Vite names every file under assets/ by its content hash: a changed file has a new name.
ASSET_CACHE = "public, max-age=31536000, immutable"
# index.html names the current assets, so browsers check it on every visit.
PAGE_CACHE = "no-cache"

NOT_BUILT_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>飞鸽 Feige</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.6">
<h1>网页应用尚未构建 / The web app has not been built</h1>
<p>这个服务器可以正常提供 API（<a href="/docs">/docs</a>），但没有找到网页应用的构建结果。
在源码目录运行 <code>make install</code>（需要 Node.js 20 与 npm），或
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>，然后刷新本页。</p>
<p>The API is up (<a href="/docs">/docs</a>), but the built web app is missing. In the source
tree run <code>make install</code> (needs Node.js 20 and npm), or
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload this page.</p>
</body></html>
"""


def owned_by_api(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in API_PREFIXES)


class WebApp:
    """Answers the requests no API route matched (the router's default). Anything that is not
    a GET or HEAD of an app path goes on to ``fallback``, the router's own 404."""

    def __init__(self, fallback: ASGIApp, static_dir: Path = STATIC_DIR) -> None:
        self.fallback = fallback
        self.static_dir = static_dir
        self.files = StaticFiles(directory=static_dir, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or owned_by_api(path):
            await self.fallback(scope, receive, send)
            return
        response = await self.response_for(path, scope)
        if response is None:
            await self.fallback(scope, receive, send)
            return
        await response(scope, receive, send)

    async def response_for(self, path: str, scope: Scope) -> Response | None:
        index = self.static_dir / "index.html"
        if not index.is_file():
            return HTMLResponse(
                NOT_BUILT_PAGE, status_code=503, headers={"cache-control": "no-store"}
            )
        relative = os.path.normpath(path.lstrip("/")) if path.strip("/") else "index.html"
        if path.startswith("/assets/") or "." in relative.rsplit("/", 1)[-1]:
            # A file (an asset, favicon.svg): the file or 404, never the page in its place.
            try:
                response = await self.files.get_response(relative, scope)
            except HTTPException:
                return None
            if response.status_code == 200:
                asset = path.startswith("/assets/")
                response.headers["cache-control"] = ASSET_CACHE if asset else PAGE_CACHE
            return response
        return FileResponse(index, headers={"cache-control": PAGE_CACHE})
