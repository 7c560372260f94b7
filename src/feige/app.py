"""The FastAPI application: wiring of store, broker, presence and routers; lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest
from sqlalchemy.engine import make_url
from starlette.types import Receive, Scope, Send

from feige import __version__, i18n
from feige.api import ws
from feige.api.hardening import BodyLimit, SecurityHeaders, metrics_refusal
from feige.api.ratelimit import Limiter, RequestRateLimit
from feige.config import Settings
from feige.realtime.broker import Broker, MemoryBroker
from feige.realtime.presence import MemoryPresence
from feige.services import assessment, channels
from feige.services.actions import enforcement as enforcement_actions
from feige.services.actions import (
    full_auto,
    leases,
    relay,
    robot_assist,
    robot_mode,
    serving,
    webhooks,
)
from feige.services.context import NODE_NAME, Context
from feige.services.demo import DEMO_PASSWORD, seed_demo
from feige.services.errors import ServiceError
from feige.services.lib import enforcement, images, screening
from feige.store import migrate
from feige.store.db import Database, create_db_engine, normalise_url
from feige.store.private import ensure_private_dir, generated_secret, touch_private
from feige.web import WebApp

log = structlog.get_logger("feige")


def configure_logging(settings: Settings) -> None:
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        # Plain tracebacks: the default rich ones with every frame's locals took seconds
        # each, so an error storm became a CPU storm (docs/performance.md, "Stalls").
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )


def prepare_data_dir(settings: Settings, demo: bool) -> None:
    """Before anything opens a file: the data directory owner-only, the SQLite file created
    0600 (its log and shared memory inherit that), the signing key generated now rather
    than at the first sign-in, and with ``--demo`` a platform secret for the demo's
    marketplace (docs/security.md)."""
    ensure_private_dir(settings.data_dir)
    url = make_url(normalise_url(settings.effective_database_url))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        touch_private(Path(url.database))
    settings.signing_key()
    if demo and not settings.platform_secret:
        settings.platform_secret = generated_secret(settings.data_dir / "platform_secret")
    if not settings.platform_secret:
        log.warning(
            "platform_secret_unset",
            why="FEIGE_PLATFORM_SECRET is not set: /api/integration/consumer-token refuses "
            "every request until the marketplace's secret is configured",
        )


def build_context(settings: Settings, demo: bool = False) -> Context:
    engine = create_db_engine(settings.effective_database_url)
    inline = settings.writer_inline
    if inline is None:
        inline = engine.dialect.name == "sqlite"
    db = Database(
        engine,
        max_batch=settings.group_commit_max_batch,
        inline=inline,
        gather_seconds=settings.group_commit_gather_ms / 1000,
    )
    moderator = screening.build_moderator(settings)
    ctx = Context(settings, db, MemoryBroker(), MemoryPresence(), moderator=moderator, demo=demo)
    ctx.limiter = Limiter(settings)
    if settings.redis_url:
        ctx.broker = redis_broker(ctx)
    return ctx


def redis_broker(ctx: Context) -> Broker:
    """The broker across nodes; what Redis loses is read back from this node's database."""
    from feige.realtime.redis_broker import RedisBroker

    settings = ctx.settings

    async def read_messages(session_id: int, after: int, upto: int) -> list[dict[str, Any]]:
        return await relay.messages_between(ctx, session_id, after, upto)

    async def latest(session_ids: list[int]) -> dict[int, int]:
        return await relay.latest(ctx, session_ids)

    async def repair(
        known: dict[int, tuple[str, ...]], since: float | None, accounts: list[str]
    ) -> list[tuple[tuple[str, ...], bytes]]:
        return await relay.repair(ctx, known, since, accounts)

    return RedisBroker(
        settings.redis_url,
        prefix=settings.rate_limit_key_prefix,
        read_messages=read_messages,
        latest=latest,
        grace=settings.redis_gap_grace_ms / 1000,
        catch_up_seconds=settings.redis_catch_up_seconds,
        repair=repair,
        revocation_poll_seconds=settings.redis_revocation_poll_seconds,
    )


async def _checkpointer(ctx: Context, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await ctx.db.checkpoint()
        except Exception:  # the next tick retries
            log.exception("checkpoint_failed")


# The background jobs that run on one node at a time across every node, each under its lease.
LEASED_JOBS = ("idle_close", "summary_refresh", "upload_sweep", "robot_turns")


async def on_one_node(
    ctx: Context,
    job: str,
    interval: float,
    work: Callable[[], Awaitable[object]],
    node: str = NODE_NAME,
) -> None:
    """Every ``interval`` seconds, ``work`` on one node at a time: the holder of the job's
    lease (services/actions/leases.py), renewed on each run, which another node takes over
    three intervals after its holder stopped renewing it (it died)."""
    while True:
        await asyncio.sleep(interval)
        try:
            if await leases.hold(ctx, job, node, max(3 * interval, 5.0)):
                await work()
        except Exception:  # keep the loop alive; the next tick retries
            log.exception("background_job_failed", job=job)


async def _close_idle(ctx: Context) -> None:
    closed = await serving.close_idle(ctx)
    if closed:
        log.info("idle_sessions_closed", count=closed)


async def _robot_sweep(ctx: Context) -> None:
    """What the robot left undone on a node that died: full-auto turns and assist mode's
    auto-replies (docs/robot-modes.md, "Across nodes")."""
    await full_auto.recover_turns(ctx)
    await robot_assist.recover_replies(ctx)


def _upload_sweep(ctx: Context, interval: float) -> Callable[[], Awaitable[None]]:
    """Deletes uploads that were never sent, once they are older than
    ``upload_unsent_ttl_seconds``: an upload costs disk until a message refers to it (the
    uploads directory is shared by the nodes). A node's first sweep looks at every upload,
    later ones at those made since its previous sweep (with an overlap)."""
    since: float | None = None

    async def sweep() -> None:
        nonlocal since
        deleted, cutoff = await images.delete_unsent_images(ctx, since)
        since = cutoff - max(interval, 60.0)
        if deleted:
            log.info("unsent_uploads_deleted", count=deleted)

    return sweep


def background_jobs(ctx: Context) -> list[Coroutine[Any, Any, None]]:
    """The loops of the jobs that run once across nodes (``LEASED_JOBS``)."""
    s = ctx.settings
    return [
        on_one_node(ctx, "idle_close", s.idle_check_interval_seconds, partial(_close_idle, ctx)),
        on_one_node(
            ctx,
            "summary_refresh",
            s.summary_refresh_seconds,
            partial(assessment.refresh_summaries, ctx),
        ),
        on_one_node(
            ctx,
            "upload_sweep",
            s.upload_sweep_interval_seconds,
            _upload_sweep(ctx, s.upload_sweep_interval_seconds),
        ),
        on_one_node(ctx, "robot_turns", s.robot_turn_recovery_seconds, partial(_robot_sweep, ctx)),
    ]


LOOP_LAG = Histogram(
    "feige_loop_lag_seconds",
    "How late the event loop ran a timer (time it was busy or blocked)",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


async def loop_watchdog(
    stall_seconds: float,
    tick: float = 0.25,
    file: Any = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Measure the loop's lag, and if it ever stops turning for ``stall_seconds``, write every
    thread's stack to stderr (faulthandler, from its own thread): with SQLite the message
    path runs on this loop, so a stall is the one failure a log line cannot explain.
    ``clock`` (the loop's by default) and ``sleep`` are the time the lag is measured in."""
    clock = clock or asyncio.get_running_loop().time
    out = file if file is not None else sys.stderr
    try:
        while True:
            if stall_seconds > 0:
                try:
                    faulthandler.dump_traceback_later(stall_seconds, exit=False, file=out)
                except (ValueError, OSError, AttributeError):  # a stderr without a descriptor
                    log.warning("loop_stall_dump_unavailable")
                    stall_seconds = 0
            expected = clock() + tick
            await sleep(tick)
            lag = max(0.0, clock() - expected)
            LOOP_LAG.observe(lag)
            if lag >= 1.0:
                log.warning("event_loop_stalled", seconds=round(lag, 3))
    finally:
        if stall_seconds > 0:
            faulthandler.cancel_dump_traceback_later()


def print_demo_logins(logins: list[dict[str, Any]]) -> None:
    print("\n飞鸽 Feige 演示平台已创建 / demo platform created")
    print(f"员工与商家密码 / staff and member password: {DEMO_PASSWORD}")
    for entry in logins:
        print(f"  {entry['kind']:<9} {entry['username']:<16} {entry['who']}")
    print('消费者演示登录 / consumer demo login: POST /api/auth/demo-consumer {"external_id": …}')
    print("平台集成密钥 / platform secret for consumer tokens: <data dir>/platform_secret\n")


class FeigeApp:
    """The ASGI entry point: ``/ws`` goes straight to the socket handler, everything else
    (HTTP, lifespan) to FastAPI. ``state`` is FastAPI's, so ``app.state.ctx`` works."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api
        self.state = api.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == ws.WS_PATH:
            await ws.serve_socket(scope, receive, send, self.state.ctx)
        else:
            await self.api(scope, receive, send)


def create_app(settings: Settings | None = None, *, demo: bool = False) -> FeigeApp:
    settings = settings or Settings()
    configure_logging(settings)
    i18n.set_default_language(settings.language)
    enforcement.policy_of(settings)  # a policy file that is not a policy stops the start
    prepare_data_dir(settings, demo)
    ctx = build_context(settings, demo=demo)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(migrate.upgrade, ctx.db.engine)
        await ctx.db.start()
        await ctx.broker.start()
        ctx.broker.subscribe(channels.REVOCATIONS, ctx.revocations)
        if demo:
            logins = await ctx.db.write(seed_demo, ctx.settings, ctx.moderator, ctx.clock())
            if logins:
                print_demo_logins(logins)
        background = [
            *(asyncio.create_task(job) for job in background_jobs(ctx)),
            # Often, so that what the writer has left to copy when it restarts the log
            # (Database._restart_log) is a few milliseconds of work.
            asyncio.create_task(_checkpointer(ctx, 0.25)),
            asyncio.create_task(loop_watchdog(settings.loop_stall_dump_seconds)),
            asyncio.create_task(webhooks.worker(ctx)),  # enforcement events to the marketplace
            asyncio.create_task(enforcement_actions.end_watch(ctx)),  # measures ending by the clock
        ]
        if settings.assessment_scheduler:
            background.append(asyncio.create_task(assessment.scheduler(ctx)))
        background.append(await robot_mode.start_watch(ctx))
        background.append(robot_assist.start_assist(ctx))
        background.append(full_auto.start_full_auto(ctx))
        # Everything loaded so far lives as long as the process: keep the cyclic collector
        # from rescanning it, and let it run less often (fewer pauses on the message path).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        log.info(
            "feige_started",
            version=__version__,
            database=ctx.db.engine.dialect.name,
            broker="redis" if settings.redis_url else "memory",
            pid=os.getpid(),
        )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for job in (*LEASED_JOBS, robot_mode.WINDOW_LEASE):
                with contextlib.suppress(Exception):
                    await leases.release(ctx, job, NODE_NAME)
            await ctx.broker.stop()
            await ctx.db.stop()

    # Swagger UI and ReDoc from the package's own files: /docs works offline, and no page of
    # Feige loads anything from a CDN.
    app = FastAPIOffline(
        title="Feige 飞鸽",
        version=__version__,
        description="客服即时通讯平台 API / customer-service IM platform API",
        lifespan=lifespan,
    )
    app.state.ctx = ctx

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        lang = i18n.pick_language(request.headers.get("accept-language"))
        headers: dict[str, str] | None = getattr(exc, "headers", None)
        return JSONResponse({"error": exc.to_dict(lang)}, status_code=exc.status, headers=headers)

    from feige.api import enforcement as enforcement_api
    from feige.api import knowledge, rest, robot, robot_auto
    from feige.api import shops as shops_api

    app.include_router(rest.router)
    app.include_router(shops_api.router)
    app.include_router(robot.router)
    app.include_router(robot_auto.router)
    app.include_router(knowledge.router)
    app.include_router(enforcement_api.router)

    @app.get("/metrics", include_in_schema=False)
    @app.get("/metrics/", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        refusal = metrics_refusal(settings, request.scope)
        if refusal is not None:
            raise refusal
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    # The web app answers what no route matched: its pages and assets, behind the same
    # middleware (CSP included); an unknown API path still gets the router's 404.
    app.router.default = WebApp(app.router.default)

    # Last added runs first: headers on every answer, then body size, then request counts.
    app.add_middleware(RequestRateLimit, limiter=ctx.limiter)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(SecurityHeaders, settings=settings)
    return FeigeApp(app)
