"""Schemathesis against the running server over real HTTP: whatever a request holds, valid
for the OpenAPI document or not, the answer is never a 5xx (docs/security.md, "Fuzzing").

Bounded so it fits in every ``make test``: a few examples per operation and caller, in a
fixed order (``derandomize``), no shrinking. ``FEIGE_FUZZ_EXAMPLES=200`` digs deeper by hand.
Below it, the regression tests for what the fuzzing found.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation.modes import GenerationMode

from tests.integration.harness import PASSWORD, Server, consumer, fresh_database_url, login
from tests.integration.test_authorization_matrix import RULES

EXAMPLES = int(os.environ.get("FEIGE_FUZZ_EXAMPLES", "8"))
STAFF_TAGS = {"platform", "compliance", "metrics"}


@dataclass(frozen=True)
class ServerError:
    operation: str
    caller: str
    mode: str
    status: int
    request: str

    def __str__(self) -> str:
        return f"{self.status} {self.operation} as {self.caller} ({self.mode})\n  {self.request}"


def report(errors: list[ServerError]) -> str:
    """One line per operation (the first request of each)."""
    first: dict[str, ServerError] = {}
    for error in errors:
        first.setdefault(error.operation, error)
    return f"{len(errors)} server errors, e.g.:\n" + "\n".join(str(e) for e in first.values())


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: fuzzing changes whatever its callers may change."""
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    # The limiter stays in the path (it must not answer 5xx either), with room for the volume.
    high = "100000 per minute"
    limits = {"rest_rate_per_token": high, "rest_rate_per_address": high}
    server = Server(tmp, fresh_database_url(tmp), overrides=limits)
    server.start()
    yield server
    server.stop()


async def _tokens(server: Server) -> dict[str, tuple[str, int]]:
    owner = await login(server, "shop1_owner")
    buyer = await consumer(server, "fuzz-buyer")
    admin = await login(server, "admin", kind="staff")
    # Something for ids to hit: a session with messages in shop 1.
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    ws = await buyer.socket()
    await ws.send_text("fuzz-open", "你好", shop_id=1)
    await ws.close()
    # Routes that end their caller's tokens (sign out everywhere, a password change) are
    # fuzzed as accounts nothing else uses: the first call that succeeds signs them out.
    spare_member = await login(server, "shop2_agent3")
    spare_buyer = await consumer(server, "fuzz-spare")
    out = {
        "owner": (str(owner.token), owner.id),
        "consumer": (str(buyer.token), buyer.id),
        "admin": (str(admin.token), admin.id),
        "spare_member": (str(spare_member.token), spare_member.id),
        "spare_consumer": (str(spare_buyer.token), spare_buyer.id),
    }
    for api in (owner, buyer, admin, agent, spare_member, spare_buyer):
        await api.aclose()
    return out


async def test_no_server_errors_whatever_the_request(fuzz_server: Server) -> None:
    server = fuzz_server
    tokens = await _tokens(server)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        document = (await http.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    errors: list[ServerError] = []
    statuses: dict[int, int] = {}
    signed_out: list[str] = []  # a signed-in caller answered 401: its token no longer works

    def fuzz(operation: Any, caller: str | None, mode: GenerationMode, count: int) -> None:
        headers = {"authorization": f"Bearer {tokens[caller][0]}"} if caller else {}
        strategy = operation.as_strategy(generation_mode=mode)
        if operation.path == "/api/shop/members/{member_id}" and caller == "owner":
            # Not the owner's own account: a changed password may end its token's life.
            own = tokens["owner"][1]
            strategy = strategy.filter(lambda c: c.path_parameters.get("member_id") != own)

        @settings(
            max_examples=count,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            # The document declares the bearer scheme, so schemathesis may generate (or drop)
            # an Authorization header of its own: the caller's token is the test's point.
            case.headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
            }
            response = case.call(base_url=server.base_url, session=session, headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            # Negative cases may carry a broken Authorization header on purpose (the document
            # declares the bearer scheme): only valid cases tell whether a token still works.
            valid = mode is GenerationMode.POSITIVE
            if valid and caller in ("owner", "consumer", "admin") and response.status_code == 401:
                signed_out.append(case.as_curl_command(headers={"authorization": "Bearer …"}))
            if response.status_code >= 500:
                errors.append(
                    ServerError(
                        operation.label,
                        caller or "anonymous",
                        mode.value,
                        response.status_code,
                        case.as_curl_command(headers={"authorization": "Bearer …"}),
                    )
                )

        try:
            run()
        except Exception as exc:  # e.g. nothing negative to generate for GET /healthz
            if type(exc).__name__ != "Unsatisfiable":
                raise

    for result in schema.get_all_operations():
        operation = result.ok()
        rule = RULES.get((operation.method.upper(), operation.path))
        if rule is not None and rule.public:
            callers: list[str | None] = [None]
        elif rule is not None and rule.signs_out:
            callers = ["spare_member", "spare_consumer"]
        else:
            callers = ["owner", "consumer"]
            if STAFF_TAGS & set(operation.tags or ()):
                callers.append("admin")
        for caller in callers:
            fuzz(operation, caller, GenerationMode.POSITIVE, EXAMPLES)
            fuzz(operation, caller, GenerationMode.NEGATIVE, max(1, EXAMPLES // 2))
    # The fuzzing did run, and reached the routes: not stopped by a rate limit (raise the limits
    # for this server if one appears) nor by a token the fuzzing itself ended.
    examples = sum(statuses.values())
    assert examples > 400, statuses
    assert statuses.get(429, 0) < examples // 20, f"rate-limited: {statuses}"
    assert len(signed_out) < examples // 50, f"signed out: {signed_out[:5]}"
    assert errors == [], report(errors)


# --- what the fuzzing found ---------------------------------------------------------------------


async def test_an_empty_member_patch_changes_nothing(server: Server) -> None:
    """``PATCH /api/shop/members/{id}`` with ``{}`` was an UPDATE without SET: a 500."""
    owner = await login(server, "shop1_owner")
    agent = next(m for m in await owner.ok("GET", "/api/shop/members") if m["role"] == "agent")
    after = await owner.ok("PATCH", f"/api/shop/members/{agent['id']}", json={})
    assert after == agent
    assert await login(server, agent["username"], password=PASSWORD)  # still signs in
