"""The rate limits on Redis across a Redis restart: a pooled connection Redis dropped is
tried again on a fresh one, so the limits are not let open (they fail open only while Redis
is really unreachable, docs/security.md)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from feige.api.ratelimit import STORE_ERRORS, Limiter, RateLimited
from feige.config import Settings
from feige.services.context import Principal
from tests.multinode.conftest import RedisServer


async def test_a_restarted_redis_keeps_counting(live_redis: RedisServer, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'feige.db'}",
        secret_key="k" * 40,
        consumer_send_rate="5 per 1 hour",
        redis_url=live_redis.url,
        rate_limit_key_prefix=f"feige-restart-{uuid.uuid4().hex}",
    )
    limiter = Limiter(settings)
    buyer = Principal(kind="consumer", id=7, role="consumer", name="买家")
    for _ in range(2):
        await limiter.check_send(buyer)  # the pool now holds a connection
    live_redis.kill()
    live_redis.start()  # (it keeps nothing: the count starts over)
    errors = STORE_ERRORS._value.get()
    for _ in range(5):
        await limiter.check_send(buyer)
    with pytest.raises(RateLimited):
        await limiter.check_send(buyer)
    assert STORE_ERRORS._value.get() == errors  # never let through for a store failure
