"""Operations surface: health, OpenAPI with interactive docs, Prometheus metrics, settings."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from feige.config import Settings
from tests.integration.harness import Server, consumer, login


async def test_health_openapi_docs_and_metrics(server: Server) -> None:
    agent = await login(server, "shop1_agent1")
    await agent.ok("POST", "/api/agent/status", {"status": "online"})
    ws = await (await consumer(server, "c-ops")).socket()
    await ws.send_text("1", "你好", shop_id=1)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        health = (await http.get("/healthz")).json()
        assert health["status"] == "ok" and health["database"] in ("sqlite", "postgresql")
        spec = (await http.get("/openapi.json")).json()
        assert "/api/sessions/{session_id}/messages" in spec["paths"]
        assert (await http.get("/docs")).status_code == 200
        metrics = (await http.get("/metrics/")).text
    # Counters are per process and tests share one, so: at least this test's message.
    sent = next(
        line for line in metrics.splitlines() if line.startswith("feige_messages_sent_total")
    )
    assert float(sent.split()[-1]) >= 1
    assert "feige_commit_batch_size_count" in metrics and "feige_websockets" in metrics


def test_settings_from_toml_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "feige.toml"
    toml.write_text('timezone = "Asia/Hong_Kong"\ndefault_agent_capacity = 7\n', encoding="utf-8")
    monkeypatch.setenv("FEIGE_CONFIG", str(toml))
    monkeypatch.setenv("FEIGE_DEFAULT_AGENT_CAPACITY", "12")
    settings = Settings()
    assert settings.timezone == "Asia/Hong_Kong"
    assert settings.default_agent_capacity == 12  # the environment wins over the file
    monkeypatch.delenv("FEIGE_CONFIG")
    monkeypatch.chdir(tmp_path)
    assert Settings().timezone == "Asia/Hong_Kong"  # ./feige.toml by default
