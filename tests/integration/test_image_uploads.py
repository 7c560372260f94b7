"""Images are scanned once, at upload, keyed by their SHA-256; decompression bombs and
oversize dimensions are refused from the header (422), never decoded, never a 500."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from pathlib import Path

import zxingcpp
from alembic import command
from PIL import Image
from sqlalchemy import create_engine, inspect, text

from feige.store.migrate import alembic_config
from tests.integration.harness import Server, assigned_pair, fresh_database_url, login

SHOP1 = 1


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def qr_png(content: str) -> bytes:
    matrix = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.QRCode)
    return png_bytes(Image.fromarray(matrix.to_image(scale=6, add_quiet_zones=True)).convert("RGB"))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A few dozen bytes whose header says width × height (grey, 8 bits): a bomb if decoded."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def gif_declaring(width: int, height: int) -> bytes:
    """A real 1×1 GIF whose logical screen claims width × height."""
    buf = io.BytesIO()
    Image.new("P", (1, 1)).save(buf, "GIF")
    data = bytearray(buf.getvalue())
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


async def _upload(api, sid: int, data: bytes, name: str = "a.png"):  # type: ignore[no-untyped-def]
    return await api.post(f"/api/sessions/{sid}/images", files={"file": (name, data, "image/png")})


async def test_bombs_and_oversize_dimensions_are_refused_from_the_header(server: Server) -> None:
    agent, _buyer, _agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-bomb")
    scans = server.ctx.moderator.images_scanned
    # A real, small file of 7000×7000 (49 MP, over the 40 MP default, under Pillow's own
    # limit): refused by our cap before a pixel is decoded.
    solid = png_bytes(Image.new("1", (7000, 7000)))
    assert len(solid) < server.settings().max_image_bytes
    for data, name in (
        (solid, "solid.png"),
        (png_declaring(20000, 20000), "huge.png"),  # beyond Pillow's bomb limit: its error
        (gif_declaring(65535, 65535), "bomb.gif"),
    ):
        r = await _upload(agent, sid, data, name)
        assert r.status_code == 422, (name, r.status_code, r.text)
        error = r.json()["error"]
        assert error["code"] == "bad_image" and "pixels" in error["message"], error
    assert server.ctx.moderator.images_scanned == scans  # nothing was decoded


async def test_broken_images_are_422_never_500(server: Server) -> None:
    agent, _buyer, _agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-broken")
    good = png_bytes(Image.new("RGB", (64, 64), (10, 200, 10)))
    broken = [
        good[: len(good) // 2],  # truncated
        good[:33],  # the header only
        png_declaring(0, 0),
        png_declaring(2**31 - 1, 1),
        b"GIF89a" + b"\xff" * 20,
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16,
        b"\xff\xd8\xff\xe0" + b"\x00" * 40,  # a JPEG start and nothing else
    ]
    for data in broken:
        r = await _upload(agent, sid, data)
        assert r.status_code == 422, (data[:16], r.status_code, r.text)
        assert r.json()["error"]["code"] == "bad_image"


async def test_the_same_bytes_are_scanned_once_and_the_verdict_still_holds(
    server: Server,
) -> None:
    agent, buyer, agent_ws, buyer_ws, sid = await assigned_pair(server, "c-scan")
    moderator = server.ctx.moderator
    start = moderator.images_scanned
    qr = qr_png("https://u.wechat.com/abc")
    first = await _upload(agent, sid, qr, "qr.png")
    assert first.status_code == 200, first.text
    assert moderator.images_scanned == start + 1
    # The same bytes again, by the buyer this time: the stored scan, no second decode.
    again = await _upload(buyer, sid, qr, "copy.png")
    assert again.status_code == 200, again.text
    assert again.json()["id"] != first.json()["id"]
    assert moderator.images_scanned == start + 1
    # Sending them is judged from the stored scan: still blocked (QR codes, rule 2.2.3),
    # for each sender's role, and nothing is decoded again.
    for ws, image_id, ref in (
        (agent_ws, first.json()["id"], "qa"),
        (buyer_ws, again.json()["id"], "qb"),
    ):
        await ws.send(
            {
                "op": "send",
                "client_id": ref,
                "kind": "image",
                "content": {"image_id": image_id},
                "session_id": sid,
            }
        )
        error = await ws.expect(op="error", ref=ref)
        assert error["code"] == "blocked" and "2.2.3" in error["message"]
    assert moderator.images_scanned == start + 1
    reviewer = await login(server, "reviewer", kind="staff")
    records = [v for v in await reviewer.ok("GET", "/api/violations") if v["session_id"] == sid]
    assert len(records) == 2
    assert all("third_party.qr_code" in v["categories"] for v in records)
    # A clean image is delivered; sending it costs no scan either.
    clean = await _upload(agent, sid, png_bytes(Image.new("RGB", (40, 30), (0, 90, 200))))
    assert clean.status_code == 200, clean.text
    assert moderator.images_scanned == start + 2
    await agent_ws.send(
        {
            "op": "send",
            "client_id": "clean",
            "kind": "image",
            "content": {"image_id": clean.json()["id"]},
            "session_id": sid,
        }
    )
    delivered = await agent_ws.expect(op="ack", client_id="clean")
    assert "moderation" not in delivered
    assert (await buyer_ws.message(kind="image"))["content"]["image_id"] == clean.json()["id"]
    assert moderator.images_scanned == start + 2


async def test_concurrent_uploads_of_the_same_bytes_share_one_scan(server: Server) -> None:
    agent, _buyer, _agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-race")
    moderator = server.ctx.moderator
    start = moderator.images_scanned
    data = png_bytes(Image.new("RGB", (900, 700), (250, 250, 250)))
    results = await asyncio.gather(*(_upload(agent, sid, data) for _ in range(4)))
    assert [r.status_code for r in results] == [200] * 4
    assert moderator.images_scanned == start + 1


async def test_an_image_stored_before_scans_were_kept_is_scanned_at_its_first_send(
    server: Server,
) -> None:
    agent, _buyer, agent_ws, _buyer_ws, sid = await assigned_pair(server, "c-legacy")
    moderator = server.ctx.moderator
    r = await _upload(agent, sid, qr_png("https://u.wechat.com/legacy"))
    image_id = r.json()["id"]
    # What migration 0005 leaves for an older image: no hash, no scan.
    engine = create_engine(server.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE images SET sha256 = NULL WHERE id = :id"), {"id": image_id})
        conn.execute(text("DELETE FROM image_scans"))
    engine.dispose()
    start = moderator.images_scanned
    for ref in ("l1", "l2"):
        await agent_ws.send(
            {
                "op": "send",
                "client_id": ref,
                "kind": "image",
                "content": {"image_id": image_id},
                "session_id": sid,
            }
        )
        assert (await agent_ws.expect(op="error", ref=ref))["code"] == "blocked"
    assert moderator.images_scanned == start + 1  # scanned at the first send, then kept


def test_migration_0005_adds_and_removes_image_scans(tmp_path: Path) -> None:
    engine = create_engine(fresh_database_url(tmp_path))
    cfg = alembic_config(engine)
    command.upgrade(cfg, "head")
    assert "image_scans" in inspect(engine).get_table_names()
    assert "sha256" in {c["name"] for c in inspect(engine).get_columns("images")}
    command.downgrade(cfg, "0004")
    assert "image_scans" not in inspect(engine).get_table_names()
    assert "sha256" not in {c["name"] for c in inspect(engine).get_columns("images")}
    command.upgrade(cfg, "head")
    engine.dispose()
