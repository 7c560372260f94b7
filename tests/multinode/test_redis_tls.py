"""``rediss://``: the broker's own RESP connections (realtime/resp.py) over TLS to a real
``redis-server`` with TLS and a password, the certificate checked against the CA the URL
names (``ssl_ca_certs``), as the rate limits' redis-py reads the same URL."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from feige.api.ratelimit import Limiter, RateLimited
from feige.config import Settings
from feige.realtime import resp
from feige.services.context import Principal
from tests.multinode.conftest import free_port, unavailable
from tests.multinode.test_redis_broker import Socket, Store, brokers, payload, wait_for

PASSWORD = "s3cret-tls"


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    binary, openssl = shutil.which("redis-server"), shutil.which("openssl")
    if binary is None or openssl is None:
        unavailable("redis-server and openssl are needed for the TLS test")
    assert binary is not None
    folder = tmp_path_factory.mktemp("redis-tls")
    cert, key = _certificate(folder)
    port = free_port()
    proc = subprocess.Popen(
        [
            *(binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"),
            *("--tls-cert-file", str(cert), "--tls-key-file", str(key)),
            *("--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"),
            *("--requirepass", PASSWORD, "--save", "", "--appendonly", "no"),
            *("--dir", str(folder)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    context = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 10
    while True:
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(64):
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                unavailable("redis-server did not start with TLS (built without it?)")
            time.sleep(0.05)
    yield port, cert
    proc.kill()
    proc.wait()


async def test_events_cross_nodes_over_tls(tls_redis: tuple[int, Path]) -> None:
    port, cert = tls_redis
    url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/5?ssl_ca_certs={cert}"
    store = Store()
    a, b = brokers(url, store)
    await a.start()
    await b.start()
    try:
        agent = Socket(1)
        b.subscribe("member:3", agent)
        assert await b.ready(["member:3"])
        store.last[10] = 2
        await a.publish(("member:3",), payload(10, 1))
        await a.publish(("member:3",), payload(10, 2))
        await wait_for(lambda: agent.seqs() == [1, 2])
    finally:
        await a.stop()
        await b.stop()


async def test_a_certificate_no_trusted_authority_signed_is_refused(
    tls_redis: tuple[int, Path],
) -> None:
    """Without ``ssl_ca_certs`` the system's authorities are used, and they did not sign
    the server's certificate: the connection fails instead of trusting it."""
    port, _ = tls_redis
    with pytest.raises(ssl.SSLError):
        await resp.RespConnection.open(f"rediss://:{PASSWORD}@127.0.0.1:{port}/5")


async def test_a_wrong_password_is_refused_over_tls(tls_redis: tuple[int, Path]) -> None:
    port, cert = tls_redis
    with pytest.raises(ConnectionError, match="AUTH"):
        await resp.RespConnection.open(f"rediss://:wrong@127.0.0.1:{port}/5?ssl_ca_certs={cert}")


async def test_rate_limits_count_in_redis_over_tls(
    tls_redis: tuple[int, Path], tmp_path: Path
) -> None:
    """The same ``FEIGE_REDIS_URL`` carries the rate limits (redis-py through ``limits``):
    three sends an hour for this buyer, the fourth refused, counted in the TLS Redis."""
    port, cert = tls_redis
    url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/5?ssl_ca_certs={cert}"
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'feige.db'}",
        secret_key="k" * 40,
        consumer_send_rate="3 per 1 hour",
        redis_url=url,
        rate_limit_key_prefix=f"feige-tls-{uuid.uuid4().hex}",
    )
    limiter = Limiter(settings)
    buyer = Principal(kind="consumer", id=7, role="consumer", name="买家")
    for _ in range(3):
        await limiter.check_send(buyer)
    with pytest.raises(RateLimited):
        await limiter.check_send(buyer)
    client = Redis.from_url(url)
    try:
        assert await client.keys(f"{settings.rate_limit_key_prefix}*")  # counted in Redis
    finally:
        await client.aclose()
