"""Odd input gets a clear 4xx (or an error frame), never a 500 and never a dropped socket:
ids past 64 bits, lone UTF-16 surrogates, NUL, invisible text, nonsense weeks, odd auth
frames. The last test sweeps every REST route with such values."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import orjson
import pytest
import websockets

from tests.integration.harness import Api, Server, assigned_pair, login

HUGE = "99999999999999999999"
JSON = {"content-type": "application/json"}


def text_body(client_id: str, escaped_text: str, session_id: int, op: str = "") -> str:
    """A send as JSON text with the message text exactly as written (escapes included)."""
    head = f'"op": "{op}", ' if op else ""
    return (
        f'{{{head}"client_id": "{client_id}", "kind": "text", '
        f'"content": {{"text": "{escaped_text}"}}, "session_id": {session_id}}}'
    )


def raw_json(body: str) -> dict[str, Any]:
    """A request body written by hand, so escapes like \\ud800 reach the server as sent."""
    return {"content": body.encode(), "headers": JSON}


async def test_ids_past_64_bits_are_refused_not_500(server: Server) -> None:
    agent, buyer, _agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-huge")
    owner = await login(server, "shop1_owner")
    reviewer = await login(server, "reviewer", kind="staff")
    for api, method, path in [
        (buyer, "GET", f"/api/sessions/{HUGE}"),
        (buyer, "GET", f"/api/sessions/{HUGE}/messages"),
        (buyer, "GET", f"/api/sessions/{2**63}"),
        (buyer, "GET", f"/api/sessions/{sid}/messages?after_seq={HUGE}"),
        (buyer, "GET", f"/api/sessions/{sid}/messages?before_seq={HUGE}"),
        (buyer, "GET", f"/api/sessions/{sid}/messages?after_seq=-{HUGE}"),
        (buyer, "GET", f"/api/sessions?before_id={HUGE}"),
        (agent, "GET", f"/api/sessions/{HUGE}/events"),
        (buyer, "POST", f"/api/sessions/{HUGE}/read?seq=1"),
        (buyer, "POST", f"/api/sessions/{sid}/read?seq={HUGE}"),
        (agent, "POST", f"/api/sessions/{HUGE}/take"),
        (agent, "POST", f"/api/sessions/{HUGE}/close"),
        (agent, "DELETE", f"/api/quick-replies/{HUGE}"),
        (owner, "PATCH", f"/api/shop/members/{HUGE}"),
        (owner, "GET", f"/api/metrics/live?shop_id={HUGE}"),
        (reviewer, "GET", f"/api/violations?shop_id={HUGE}"),
        (reviewer, "POST", f"/api/violations/{HUGE}/review"),
    ]:
        r = await api.http.request(method, path, json={"capacity": 2, "decision": "confirmed"})
        assert r.status_code == 422, (method, path, r.status_code, r.text)
    r = await agent.post(f"/api/sessions/{sid}/transfer", **raw_json(f'{{"to_agent": {HUGE}}}'))
    assert r.status_code == 422
    body = f'{{"client_id": "h", "kind": "text", "content": {{"text": "x"}}, "session_id": {HUGE}}}'
    assert (await buyer.post("/api/messages", **raw_json(body))).status_code == 422
    # The largest id the store can hold is simply not found.
    assert (await buyer.get(f"/api/sessions/{2**63 - 1}")).status_code == 404


async def test_surrogates_and_nul_in_bodies_are_refused_before_any_write(server: Server) -> None:
    _agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-surrogate")
    owner = await login(server, "shop1_owner")
    bad_texts = ["\\ud800", "a\\udc00b", "\\ud800\\u0041", "a\\u0000b"]
    for text in bad_texts:
        body = text_body("s", text, sid)
        # Sent together with a good message: the refusal costs the good one nothing.
        bad, good = await asyncio.gather(
            buyer.post("/api/messages", **raw_json(body)),
            buyer.post(
                "/api/messages",
                json={
                    "client_id": f"g{text}",
                    "kind": "text",
                    "content": {"text": "好"},
                    "session_id": sid,
                },
            ),
        )
        assert bad.status_code == 422, (text, bad.text)
        assert bad.json()["error"]["code"] == "invalid"
        assert good.status_code == 200
    # Keys and other routes too.
    for path, body in [
        ("/api/quick-replies", '{"title": "\\ud83d", "content": "x"}'),
        ("/api/quick-replies", '{"title": "t", "content": "x\\u0000"}'),
        (f"/api/sessions/{sid}/report", '{"reason": "\\udfff"}'),
        ("/api/messages", '{"client_id": "k", "kind": "text", "content": {"\\ud800": 1}}'),
    ]:
        r = await owner.post(path, **raw_json(body))
        assert r.status_code == 422, (path, r.text)
    # A pair of surrogates is an ordinary emoji and goes through.
    emoji = text_body("e", "\\ud83d\\ude00", sid)
    r = await buyer.post("/api/messages", **raw_json(emoji))
    assert r.status_code == 200 and r.json()["message"]["content"]["text"] == "😀"
    # NUL in a path or query string.
    assert (await buyer.get("/api/images/a%00b")).status_code == 422
    assert (await owner.get("/api/sessions", params={"consumer": "a\x00"})).status_code == 422
    # Over the socket: an error frame, and the socket carries on.
    for text in bad_texts:
        await buyer_ws.send_raw(text_body("w", text, sid, op="send"))
        assert (await buyer_ws.expect(op="error"))["code"] == "malformed"
    ack = await buyer_ws.send_text("after", "还在", session_id=sid)
    assert (await agent_ws.message(seq=ack["seq"]))["client_id"] == "after"
    stored = await buyer.ok("GET", f"/api/sessions/{sid}/messages")
    assert {m["client_id"] for m in stored} >= {"open", "e", "after"}
    assert not {"s", "w", "k"} & {m["client_id"] for m in stored}


@pytest.mark.parametrize(
    "text",
    [
        "\u200b",
        "\u200b\u200c\u200d\ufeff",
        "\x01\x02",
        " \u3000\u2060 ",
        "\u202e\u2066",
        "\U000e0041",
    ],
)
async def test_invisible_text_is_blank(server: Server, text: str) -> None:
    _agent, buyer, _agent_ws, buyer_ws, sid = await assigned_pair(server, "c-blank")
    await buyer_ws.send(
        {
            "op": "send",
            "client_id": "z",
            "kind": "text",
            "content": {"text": text},
            "session_id": sid,
        }
    )
    error = await buyer_ws.expect(op="error", ref="z")
    assert error["code"] == "malformed" and error["params"]["detail"] == "empty text"
    r = await buyer.post(
        "/api/messages",
        json={"client_id": "z", "kind": "text", "content": {"text": text}, "session_id": sid},
    )
    assert r.status_code == 422
    # Visible text around invisible characters is fine.
    assert (await buyer_ws.send_text("v", f"好{text}的", session_id=sid))["duplicate"] is False


async def test_nonsense_weeks_are_refused(server: Server) -> None:
    admin = await login(server, "admin", kind="staff")
    owner = await login(server, "shop1_owner")
    for week in [
        "2026-W99",
        "9999-W01",
        "9999-W52",
        "0001-W01",
        "1999-W52",
        "abc",
        "2026-W00",
        "3000-W10",
    ]:
        r = await admin.post(f"/api/platform/assessments/{week}/run")
        assert r.status_code == 422, (week, r.text)
        r = await owner.get(
            f"/api/assessments/{week}/drilldown", params={"figure": "no_service_rate"}
        )
        assert r.status_code == 422, (week, r.text)
    assert (await admin.post("/api/platform/assessments/2026-W40/run")).status_code == 200


async def auth_answer(server: Server, frame: Any) -> tuple[dict[str, Any], int]:
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
        answer = orjson.loads(await ws.recv())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    return answer, closed.value.rcvd.code


async def test_odd_auth_frames_get_an_error_and_4401(server: Server) -> None:
    good = (await login(server, "shop1_agent1")).token
    for frame in [
        {"op": "auth", "token": 12345},
        {"op": "auth", "token": [good]},
        {"op": "auth", "token": {"t": good}},
        {"op": "auth", "token": 2**64},
        {"op": "auth", "token": good, "lang": 7},
        {"op": "auth", "token": good, "lang": ["en"]},
        {"op": "auth", "token": good, "resume": [1, 2]},
        {"op": "auth", "token": good, "resume": {"²": 1}},
        {"op": "auth", "token": good, "resume": {"1": HUGE}},
        {"op": "auth", "token": good, "resume": {HUGE: 1}},
        {"op": ["auth"], "token": good},
        '{"op": "auth", "token": "\\ud800"}',
        '{"op": "auth", "token": "a\\u0000"}',
        "[]",
    ]:
        answer, code = await auth_answer(server, frame)
        assert answer["op"] == "error" and code == 4401, (frame, answer, code)
    # A good frame with every optional field right still works.
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(json.dumps({"op": "auth", "token": good, "lang": "en", "resume": {}}))
        assert orjson.loads(await ws.recv())["op"] == "ready"


async def test_odd_fields_in_socket_ops_are_clear_errors(server: Server) -> None:
    _agent, _buyer, _agent_ws, buyer_ws, sid = await assigned_pair(server, "c-odd-ops")
    base = {"op": "send", "client_id": "o", "session_id": sid}
    for frame, code in [
        ({**base, "kind": ["text"], "content": {"text": "x"}}, "unknown_kind"),
        ({**base, "kind": {"a": 1}, "content": {"text": "x"}}, "unknown_kind"),
        ({**base, "kind": "text", "content": {"text": "x"}, "entry": ["direct"]}, "malformed"),
        ({**base, "kind": "text", "content": {"text": "x"}, "entry": {}}, "malformed"),
        ({**base, "kind": "text", "content": {"text": "x"}, "session_id": 2**64 - 1}, "malformed"),
        ({"op": "read", "session_id": sid, "seq": -1}, "malformed"),
        ({"op": "read", "session_id": 2**64 - 1, "seq": 1}, "malformed"),
        ({"op": "typing", "session_id": [sid]}, "malformed"),
        ({"op": {"nested": ["op"]}}, "unknown_op"),
    ]:
        await buyer_ws.send(frame)
        error = await buyer_ws.expect(op="error")
        assert error["code"] == code, (frame, error)
        assert isinstance(error["for"], str)
    await buyer_ws.send({"op": "ping"})
    await buyer_ws.expect(op="pong")


ODD_PATH_VALUES = [HUGE, "-1", "%00"]
ODD_QUERY_VALUES: list[Any] = [HUGE, -1, "\x00"]
ODD_BODY_VALUES: list[Any] = [2**63, -1, "", "\ud800", "a\x00", None, [], 1.5]
# Who calls each group of routes: the users whose requests get past the role checks.
CALLERS_BY_TAG = {
    "ops": ["buyer"],
    "auth": ["buyer"],
    "sessions": ["buyer"],
    "shops": ["buyer"],
    "reception": ["agent"],
    "workbench": ["agent"],
    "shop": ["owner"],
    "platform": ["admin"],
    "compliance": ["reviewer"],
    "metrics": ["owner"],
    "robot": ["owner"],
    "enforcement": ["owner", "reviewer", "admin"],
}


async def test_no_route_answers_5xx_to_odd_values(server: Server) -> None:
    """Every route of the OpenAPI document, each path parameter, query parameter and body
    field in turn replaced by an odd value, as a consumer, an agent, an owner and an admin."""
    agent, buyer, _agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-sweep")
    users: dict[str, Api] = {
        "buyer": buyer,
        "agent": agent,
        "owner": await login(server, "shop1_owner"),
        "admin": await login(server, "admin", kind="staff"),
        "reviewer": await login(server, "reviewer", kind="staff"),
    }
    spec = (await buyer.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    good = {"session_id": str(sid), "week": "2026-W47", "image_id": "nope"}
    good_query = {"figure": "no_service_rate", "seq": 1}
    plausible_body = {
        "client_id": "sweep",
        "kind": "text",
        "content": {"text": "hi"},
        "session_id": sid,
        "score": 3,
        "decision": "confirmed",
        "status": "online",
        "title": "t",
        "to_agent": agent.id,
        "reason": "r",
        "username": "sweeper",
        "external_id": "e",
        "ts": 1,
        "signature": "s",
    }
    failures: list[str] = []

    async def call_as(api: Api, method: str, path: str, **kw: Any) -> None:
        try:
            r = await api.http.request(method, path, **kw)
        except httpx.HTTPError as exc:  # the server dropped the connection
            failures.append(f"{method} {path[:60]} {str(kw)[:80]}: {exc!r}")
            return
        if r.status_code >= 500:
            failures.append(f"{method} {path[:60]} {str(kw)[:80]}: {r.status_code}")

    async def call(method: str, path: str, callers: list[Api], **kw: Any) -> None:
        await asyncio.gather(*(call_as(api, method, path, **kw) for api in callers))

    for template, operations in spec["paths"].items():
        for method, operation in operations.items():
            tags = operation.get("tags") or ["ops"]
            callers = [users[name] for tag in tags for name in CALLERS_BY_TAG[tag]]
            params = operation.get("parameters", [])
            in_path = [p["name"] for p in params if p["in"] == "path"]
            in_query = [p["name"] for p in params if p["in"] == "query" and p["name"] != "token"]

            def fill(
                odd_name: str | None = None,
                odd: str = "",
                tpl: str = template,
                names: tuple[str, ...] = tuple(in_path),
            ) -> str:
                path = tpl
                for name in names:
                    value = odd if name == odd_name else good.get(name, str(sid))
                    path = path.replace("{" + name + "}", value)
                return path

            for name in in_path:
                for value in ODD_PATH_VALUES:
                    await call(method.upper(), fill(name, value), callers, params=good_query)
            for name in in_query:
                for value in ODD_QUERY_VALUES:
                    await call(method.upper(), fill(), callers, params={**good_query, name: value})
            ref = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref")
            )
            if ref:
                fields = list(schemas[ref.rsplit("/", 1)[-1]].get("properties", {}))
                base = {k: v for k, v in plausible_body.items() if k in fields}
                for name in fields:
                    for value in ODD_BODY_VALUES:
                        body = json.dumps({**base, name: value})  # writes \ud800 as an escape
                        await call(
                            method.upper(), fill(), callers, params=good_query, **raw_json(body)
                        )
    assert not failures, failures[:20]
