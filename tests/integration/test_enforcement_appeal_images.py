"""Appeal images for any appeal (docs/enforcement.md, "Appeals"): a measure from a failed
week has no session, yet its shop appeals it with images of its own — uploaded to
``POST /api/enforcement/appeal-images`` (owners and managers, the upload's usual limits),
seen by that shop's owners and managers and by reviewers only, kept by the appeal that
names them, swept when no appeal does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine, insert, inspect, text

from feige.store.migrate import alembic_config
from feige.store.tables import consumers, sessions, shops
from tests.integration.harness import (
    PASSWORD,
    FakeClock,
    Server,
    consumer,
    fresh_database_url,
    login,
    png,
)
from tests.integration.test_assessment_store import SHOP1, small_platform_server

WEEK = "2026-W47"
UPLOAD = "/api/enforcement/appeal-images"


@pytest.fixture
def appeal_server(tmp_path: Path) -> Iterator[tuple[Server, FakeClock]]:
    srv, clock = small_platform_server(
        tmp_path,
        token_ttl_seconds=30 * 86400,
        upload_sweep_interval_seconds=0.05,
        max_image_bytes=64 * 1024,
    )
    yield srv, clock
    srv.stop()


async def _upload(api: Any, data: bytes, name: str = "evidence.png") -> httpx.Response:
    return await api.post(UPLOAD, files={"file": (name, data, "image/png")})  # type: ignore[no-any-return]


async def _failed_week(server: Server, clock: FakeClock) -> None:
    """Two sessions answered after ten minutes: the week fails, its measures are imposed."""
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    agent_ws = await agent.socket()
    for n in range(2):
        buyer = await consumer(server, f"c-slow{n}")
        ws = await buyer.socket()
        sid = (await ws.send_text("q", "在吗？", shop_id=SHOP1))["session_id"]
        clock.advance(600)
        await agent_ws.send_text(f"a{n}", "抱歉久等了", session_id=sid)
        await agent.ok("POST", f"/api/sessions/{sid}/close")
        await ws.close()
    await agent_ws.close()
    clock.advance(8 * 86400)
    admin = await login(server, "admin", kind="staff")
    await admin.ok("POST", f"/api/platform/assessments/{WEEK}/run")


async def test_a_failed_weeks_measure_is_appealed_with_images_the_reviewer_sees(
    appeal_server: tuple[Server, FakeClock],
) -> None:
    server, clock = appeal_server
    await _failed_week(server, clock)
    owner = await login(server, "shop1_owner")
    await owner.ok(
        "POST",
        "/api/shop/members",
        {"username": "shop1_manager", "password": PASSWORD, "role": "manager"},
    )
    manager = await login(server, "shop1_manager")
    measures = await owner.ok("GET", "/api/enforcement/measures")
    measure = next(m for m in measures if m["source_kind"] == "assessment")

    # Owners and managers upload; the upload is checked like any other.
    kept = await _upload(owner, png(12, 12))
    assert kept.status_code == 200, kept.text
    kept_id = kept.json()["id"]
    assert kept.json()["content_type"] == "image/png" and kept.json()["width"] == 12
    by_manager = await _upload(manager, png(13, 13))
    assert by_manager.status_code == 200, by_manager.text
    unused_id = by_manager.json()["id"]
    not_image = await _upload(owner, b"%PDF-1.4 not an image", "evidence.png")
    assert not_image.status_code == 422 and not_image.json()["error"]["code"] == "bad_image"
    too_big = await _upload(owner, b"\x89PNG" + bytes(70 * 1024))
    assert too_big.status_code in (413, 422), too_big.text
    agent = await login(server, "shop1_agent1")
    reviewer = await login(server, "reviewer", kind="staff")
    buyer = await consumer(server, "c-buyer")
    for refused in (agent, reviewer, buyer):
        assert (await _upload(refused, png())).status_code == 403

    # Another shop cannot name it in an appeal, nor open it; its own agents cannot either.
    other = await login(server, "shop2_owner")
    for stranger in (other, agent, buyer):
        assert (await stranger.get(f"/api/images/{kept_id}")).status_code == 404
        assert (await stranger.get(f"/api/images/{kept_id}/url")).status_code == 404
    other_upload = (await _upload(other, png(14, 14))).json()["id"]

    # The appeal against the week's measure (no session) carries the image.
    foreign = await owner.post(
        "/api/enforcement/appeals",
        json={
            "target_kind": "measure",
            "target_id": measure["id"],
            "text": "统计有误",
            "image_ids": [other_upload],
        },
    )
    assert foreign.status_code == 404
    appeal = await owner.ok(
        "POST",
        "/api/enforcement/appeals",
        {
            "target_kind": "measure",
            "target_id": measure["id"],
            "text": "本周响应慢是系统故障导致，附截图",
            "image_ids": [kept_id],
        },
    )
    assert appeal["images"] == [kept_id]

    # The reviewer sees the appeal with its image, opens it with a bearer token and by link.
    (queued,) = await reviewer.ok("GET", "/api/enforcement/appeals", params={"status": "pending"})
    assert queued["images"] == [kept_id]
    direct = await reviewer.get(f"/api/images/{kept_id}")
    assert direct.status_code == 200 and direct.content == png(12, 12)
    link = (await reviewer.ok("GET", f"/api/images/{kept_id}/url"))["url"]
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get(link)).content == png(12, 12)
    for insider in (owner, manager):
        assert (await insider.get(f"/api/images/{kept_id}")).status_code == 200
    # An appeal image is never a message's: no session takes it.
    buyer_ws = await buyer.socket()
    sid = (await buyer_ws.send_text("b1", "你好", shop_id=SHOP1))["session_id"]
    sent_as_message = await buyer.post(
        "/api/messages",
        json={
            "client_id": "x1",
            "kind": "image",
            "content": {"image_id": unused_id},
            "session_id": sid,
        },
    )
    assert sent_as_message.status_code == 404
    await buyer_ws.close()

    # After the uploads' grace period the sweep deletes the unused one; the appeal's stays.
    files = {p.stem: p for p in (server.data_dir / "uploads").rglob("*.*")}
    assert {kept_id, unused_id, other_upload} <= set(files)
    await asyncio.sleep(0.3)
    assert all(p.exists() for p in files.values())
    clock.advance(server.settings().upload_unsent_ttl_seconds + 60)
    deadline = time.monotonic() + 5
    while files[unused_id].exists() or files[other_upload].exists():
        assert time.monotonic() < deadline, "unused appeal uploads were not swept"
        await asyncio.sleep(0.05)
    assert files[kept_id].exists()
    assert (await manager.get(f"/api/images/{unused_id}")).status_code == 404
    assert (await reviewer.get(f"/api/images/{kept_id}")).status_code == 200


def test_migration_0013_lets_an_image_have_no_session_and_back(tmp_path: Path) -> None:
    """Up: images without a session (an appeal's evidence) with their purpose; the images
    already there are messages' uploads. Down: the sessionless ones go (they cannot live in
    the older table), the others stay."""
    engine = create_engine(fresh_database_url(tmp_path))
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0012_measure_ends")
    image = {
        "shop_id": 1,
        "uploader_role": "member",
        "uploader_id": 1,
        "content_type": "image/png",
        "size": 1,
        "width": 1,
        "height": 1,
        "created_at": 0.0,
    }
    columns = ", ".join(["id", "session_id", "path", *image])
    values = ", ".join([":id", ":session_id", ":path", *(f":{k}" for k in image)])
    insert_image = text(f"INSERT INTO images ({columns}) VALUES ({values})")
    with engine.begin() as conn:
        conn.execute(
            insert(shops).values(
                id=1, name="店铺", routing_mode="priority", welcome_message="", created_at=0.0
            )
        )
        conn.execute(insert(consumers).values(id=1, external_id="c1", nickname="", created_at=0.0))
        conn.execute(
            insert(sessions).values(
                id=1,
                shop_id=1,
                consumer_id=1,
                state="closed",
                entry="direct",
                opened_at=0.0,
                last_activity_at=0.0,
            )
        )
        conn.execute(insert_image, {"id": "sent", "session_id": 1, "path": "a.png", **image})
    command.upgrade(cfg, "head")
    with engine.begin() as conn:
        purposes = dict(conn.execute(text("SELECT id, purpose FROM images")).all())
        assert purposes == {"sent": "message"}
        conn.execute(insert_image, {"id": "evidence", "session_id": None, "path": "b.png", **image})
    command.downgrade(cfg, "0012_measure_ends")
    with engine.begin() as conn:
        assert [r[0] for r in conn.execute(text("SELECT id FROM images"))] == ["sent"]
    assert "purpose" not in {c["name"] for c in inspect(engine).get_columns("images")}
    command.upgrade(cfg, "head")
    engine.dispose()
