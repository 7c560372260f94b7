"""HTTP hardening (docs/security.md): security headers and no server banner, request body
limits, images by short-lived signed links, and /metrics behind a setting."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.integration.harness import (
    FakeClock,
    MakeServer,
    Server,
    assigned_pair,
    consumer,
    login,
    png,
)

# --- headers --------------------------------------------------------------------------------


async def test_every_response_carries_the_security_headers_and_no_server_banner(
    server: Server,
) -> None:
    buyer = await consumer(server, "c-headers")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answers = [
            await http.get("/healthz"),
            await http.get("/openapi.json"),
            await http.get("/api/me"),  # 401
            await http.get("/no/such/path"),  # 404
            await http.post("/api/auth/login", json={"username": ""}),  # 422
            await buyer.get("/api/me"),
        ]
    for r in answers:
        headers = r.headers
        assert "server" not in headers, (r.url, headers)
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        csp = headers["content-security-policy"]
        for directive in (
            "default-src 'self'",
            "img-src 'self' data: blob:",
            "connect-src 'self' ws: wss:",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
        ):
            assert directive in csp, (directive, csp)
        assert "cdn.jsdelivr.net" not in csp
    # The interactive docs start with an inline script: their pages (only) allow that, and
    # nothing from elsewhere (their assets are Feige's own).
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for path in ("/docs", "/redoc"):
            r = await http.get(path)
            assert r.status_code == 200
            csp = r.headers["content-security-policy"]
            assert "script-src 'self' 'unsafe-inline'" in csp and "frame-ancestors 'none'" in csp
            assert "https:" not in csp


async def test_frame_ancestors_let_a_marketplace_embed_the_chat(make_server: MakeServer) -> None:
    server = make_server(frame_ancestors=["https://shop.example", "https://m.shop.example"])
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get("/healthz")
    assert (
        "frame-ancestors https://shop.example https://m.shop.example"
        in (r.headers["content-security-policy"])
    )
    # X-Frame-Options cannot name origins; DENY would contradict the policy.
    assert "x-frame-options" not in r.headers


# --- request size ----------------------------------------------------------------------------


async def test_oversized_bodies_are_refused_with_413_before_they_are_read(
    make_server: MakeServer,
) -> None:
    server = make_server(max_json_body_bytes=4096, max_image_bytes=16 * 1024)
    _agent, buyer, _agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-size")
    big_json = {"client_id": "x", "kind": "text", "content": {"text": "长" * 5000}}

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        # Declared length, authenticated and anonymous routes alike.
        for r in (
            await buyer.post("/api/messages", big_json),
            await http.post("/api/auth/login", json={"username": "u" * 5000, "password": "p"}),
        ):
            assert r.status_code == 413, r.text
            error = r.json()["error"]
            assert error["code"] == "request_too_large" and error["params"]["limit"] == "4 KiB"
        # A chunked body (no length given) is refused once it passes the limit; what is left
        # of it is read and dropped, so the client gets to read the answer.
        r413 = await _raw_chunked(server, "/api/auth/login", "application/json", b"", 8 * 1024)
        assert r413.startswith(b"HTTP/1.1 413") and b"request_too_large" in r413
    # Uploads may carry max_image_bytes plus the multipart framing, no more.
    files = {"file": ("a.png", png(), "image/png")}
    assert (await buyer.post(f"/api/sessions/{sid}/images", files=files)).status_code == 200
    too_big = b"\x89PNG" + b"0" * (16 * 1024 + 100)  # over the image limit, under the body's
    r = await buyer.post(f"/api/sessions/{sid}/images", files={"file": ("b.png", too_big)})
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_large"
    # A declared length over the limit is answered at once, before any of the body is sent.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"POST /api/sessions/{sid}/images HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {buyer.token}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 300000\r\n\r\n".encode()
    )
    answer = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 413") and b"request_too_large" in answer
    boundary = "feige-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    r413 = await _raw_chunked(
        server,
        f"/api/sessions/{sid}/images",
        f"multipart/form-data; boundary={boundary}",
        head,
        200 * 1024,
        token=buyer.token,
    )
    assert r413.startswith(b"HTTP/1.1 413") and b"request_too_large" in r413
    # Ordinary requests still work on the same server.
    assert (await buyer.get("/api/me")).status_code == 200


async def _raw_chunked(
    server: Server,
    path: str,
    content_type: str,
    head: bytes,
    size: int,
    token: str | None = None,
) -> bytes:
    """POST ``head`` and ``size`` bytes as chunks; what the server answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n{auth}"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    # Waiting for the answer from the start: once the server has answered and closed, the
    # next write fails, and a read started only then would lose the answer.
    answer = asyncio.create_task(reader.read(65536))
    pieces = [p for p in [head] + [b"0" * 1024] * (size // 1024) if p]  # b"" would end it
    try:
        for piece in pieces:
            if answer.done():
                break
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        pass  # the server stopped reading: its answer is waiting
    try:
        return await asyncio.wait_for(answer, 5)
    finally:
        writer.close()


# --- images by signed links ----------------------------------------------------------------


async def test_images_are_shown_through_short_lived_signed_links(make_server: MakeServer) -> None:
    clock = FakeClock(time.time())
    server = make_server(clock=clock)
    agent, buyer, _agent_ws, buyer_ws, sid = await assigned_pair(server, "c-link")
    data = png()
    r = await buyer.post(f"/api/sessions/{sid}/images", files={"file": ("a.png", data)})
    image_id = r.json()["id"]
    other = await buyer.post(f"/api/sessions/{sid}/images", files={"file": ("b.png", png(9, 9))})
    other_id = other.json()["id"]

    link = await agent.ok("GET", f"/api/images/{image_id}/url")
    assert link["url"].startswith(f"/api/images/{image_id}?exp=")
    assert link["expires_at"] == int(clock.now) + 300
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        r = await anonymous.get(link["url"])
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-type"] == "image/png"
        # A bearer token in the query string is no longer accepted.
        r = await anonymous.get(f"/api/images/{image_id}", params={"token": buyer.token})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
        # The signature binds the image id and the expiry.
        query = parse_qs(urlsplit(link["url"]).query)
        exp, sig = int(query["exp"][0]), query["sig"][0]
        for path, params in (
            (f"/api/images/{other_id}", {"exp": exp, "sig": sig}),
            (f"/api/images/{image_id}", {"exp": exp + 3600, "sig": sig}),
            (f"/api/images/{image_id}", {"exp": exp, "sig": "0" * 64}),
            (f"/api/images/{image_id}", {"exp": exp}),
        ):
            r = await anonymous.get(path, params=params)
            assert r.status_code == 403 and r.json()["error"]["code"] == "link_invalid", params
        clock.advance(301)
        r = await anonymous.get(link["url"])
        assert r.status_code == 403 and r.json()["error"]["code"] == "link_expired"
    # A bearer header still works, and links are only for those who may see the image.
    assert (await buyer.get(f"/api/images/{image_id}")).status_code == 200
    stranger = await consumer(server, "c-link-stranger")
    assert (await stranger.get(f"/api/images/{image_id}/url")).status_code == 404
    other_shop = await login(server, "shop2_owner")
    assert (await other_shop.get(f"/api/images/{image_id}/url")).status_code == 404
    reviewer = await login(server, "reviewer", kind="staff")
    assert (await reviewer.get(f"/api/images/{image_id}/url")).status_code == 200
    await buyer_ws.close()


# --- /metrics ---------------------------------------------------------------------------------


async def test_metrics_are_for_loopback_only_by_default_and_never_redirect(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for path in ("/metrics", "/metrics/"):
            r = await http.get(path)
            assert r.status_code == 200, (path, r.status_code)
            assert "feige_websockets" in r.text
        # A client elsewhere (here through a trusted proxy that forwards its address).
        r = await http.get("/metrics", headers={"x-forwarded-for": "203.0.113.9"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


async def test_metrics_behind_a_token_or_switched_off(make_server: MakeServer) -> None:
    guarded = make_server(metrics_token="scrape-secret")
    async with httpx.AsyncClient(base_url=guarded.base_url) as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = {"authorization": "Bearer nope"}
        assert (await http.get("/metrics", headers=wrong)).status_code == 401
        right = {"authorization": "Bearer scrape-secret", "x-forwarded-for": "203.0.113.9"}
        r = await http.get("/metrics", headers=right)
        assert r.status_code == 200 and "feige_websockets" in r.text
    off = make_server(metrics_enabled=False)
    async with httpx.AsyncClient(base_url=off.base_url) as http:
        assert (await http.get("/metrics")).status_code == 404


def test_feige_serve_turns_the_server_banner_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``feige serve`` runs uvicorn without its ``server: uvicorn`` header."""
    import typer
    import uvicorn
    from typer.testing import CliRunner

    from feige.commands import serve

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setenv("FEIGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FEIGE_CONFIG", str(tmp_path / "absent.toml"))
    app = typer.Typer()
    serve.register(app)
    switch = sys.getswitchinterval()
    try:
        result = CliRunner().invoke(app, ["--port", "1"])
    finally:
        sys.setswitchinterval(switch)  # serve sets it for the server's process
    assert result.exit_code == 0, result.output
    assert seen["server_header"] is False
