"""The broker across nodes, on Redis pub/sub (``FEIGE_REDIS_URL``).

* **Sharded pub/sub** (``SPUBLISH``/``SSUBSCRIBE``, Redis ≥ 7) where the server has it, so a
  channel lives on one shard of a Redis Cluster; plain ``PUBLISH``/``SUBSCRIBE`` otherwise.
* A node subscribes only to the channels its own sockets (and its revocation watch) listen
  on: the first local subscriber of a channel subscribes the node, the last one leaving
  unsubscribes it. Subscribing is batched by a task; ``ready`` waits until Redis confirmed.
* A publish is delivered to the node's own sockets at once (``exclude`` applies there, and
  only there: origins are numbers of this node), and queued for Redis; a task sends the
  queue as one buffer of commands on a bare connection (``realtime/resp.py``; so is the
  pub/sub reader: redis-py's wrappers per command and per reply cost 40 % of the loop).
  Each Redis message is an envelope: the publishing node, an event
  id, the session and seq of a message event, the event's channels, then the frame. A node
  ignores its own envelopes and events it already delivered (an event goes to each of its
  channels, and a node may listen on several).
* Redis may lose messages (restart, blip, a full output buffer): message events go through
  the ``SequenceGate``, which fills any gap from the store; after a reconnect the node
  catches up on every session it knows. Redis down never fails a send: the message is
  committed, its publish is dropped, and the other nodes fill it from the store.
* Other events are state, not history: a loss is repaired with the state as it is now
  (``repair``, given by the node: it reads the store). Every loss in pub/sub is a broken
  connection at one end, which that end sees: a node whose pub/sub connection broke repairs
  its own sockets once it is subscribed again; a node whose publish failed tells every node,
  once Redis takes its publishes again, on ``platform:nodes`` (``NODES``), when its loss
  began, and each repairs its sockets. ``repair`` also re-states revocations the node's
  watch has not heard of, then and every ``revocation_poll_seconds``. Last, each local
  socket gets one ``resync`` event: the rest of what it holds besides messages (agent
  status, restrictions, the robot's mode, alerts, suggestions, the inbox) may be stale,
  and the client fetches it again (docs/protocol.md, ``resync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import hiredis
import orjson
import structlog
from prometheus_client import Counter, Gauge
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from feige.realtime import frames, resp
from feige.realtime.broker import LocalFanout, Origin, Subscriber
from feige.realtime.sequencer import Latest, SequenceGate

# session id, after seq, up to seq → the messages (as their events carry them), in order.
ReadMessages = Callable[[int, int, int], Awaitable[list[dict[str, Any]]]]
# (sessions heard of lately: id → channels, when the loss began or None, the account channels
# with local sockets) → what the local sockets should be told again: (channels, frame).
Repair = Callable[
    [dict[int, tuple[str, ...]], float | None, list[str]],
    Awaitable[list[tuple[tuple[str, ...], bytes]]],
]

# Every node listens here for the other nodes' word that their publishes were lost.
NODES = "platform:nodes"
NODE_HINT = b'{"op":"event","type":"node_lost_publishes"'
# A loss is taken to have begun this long before it was seen: a dead connection is noticed
# by the health check (15 s) and its answer (5 s), and nodes' clocks differ a little.
LOSS_MARGIN_SECONDS = 30.0
_ACCOUNT_KINDS = ("consumer:", "member:", "staff:")

log = structlog.get_logger(__name__)

MESSAGE_EVENT = b'{"op":"event","type":"message"'
PING = resp.pack(b"PING")
ENVELOPE = b"F1"
# Events remembered per node as delivered (an event reaches a node once per channel).
SEEN_EVENTS = 50_000
# Publishes waiting for Redis beyond this are dropped (Redis is down; the store fills them).
MAX_OUTGOING = 200_000
# A batch of publishes not answered within this is dropped and its connection replaced.
PUBLISH_TIMEOUT_SECONDS = 5.0
# The pub/sub connection is PINGed after this long without a byte from Redis, and replaced
# when the PING is not answered within ANSWER_SECONDS (a silent network break).
HEALTH_CHECK_SECONDS = 15.0
ANSWER_SECONDS = 5.0
# What a failing Redis connection raises (hiredis: a reply that is not RESP).
CONNECTION_ERRORS = (RedisError, OSError, ConnectionError, TimeoutError, hiredis.ProtocolError)

PUBLISHED = Counter("feige_redis_published_total", "Events sent to Redis")
PUBLISH_DROPPED = Counter(
    "feige_redis_publish_dropped_total", "Events not sent to Redis (down or overloaded)"
)
RECEIVED = Counter("feige_redis_received_total", "Events received from other nodes")
FILLED = Counter(
    "feige_redis_gap_filled_total", "Messages read from the store because Redis lost them"
)
RECONNECTS = Counter("feige_redis_reconnects_total", "Pub/sub connections re-established")
REPAIRS = Counter(
    "feige_redis_repairs_total", "Repairs of this node's sockets after Redis lost events"
)
RESTATED = Counter(
    "feige_redis_restated_total", "Session states and revocations re-sent after a loss"
)
RESYNCS = Counter(
    "feige_redis_resyncs_total", "Resync events sent to this node's sockets after a loss"
)
CHANNELS = Gauge("feige_redis_channels", "Channels this node is subscribed to")


def node_id() -> bytes:
    """Unique per process: host-independent random bytes."""
    return os.urandom(6).hex().encode()


class RedisBroker:
    def __init__(
        self,
        url: str,
        prefix: str = "feige",
        read_messages: ReadMessages | None = None,
        latest: Latest | None = None,
        grace: float = 0.25,
        catch_up_seconds: float = 10.0,
        sharded: bool | None = None,
        repair: Repair | None = None,
        revocation_poll_seconds: float = 30.0,
    ) -> None:
        self.url = url
        self.prefix = f"{prefix}:ch:"
        self._prefix_bytes = self.prefix.encode()
        self.node = node_id()
        self.local = LocalFanout()
        self.read_messages = read_messages
        fill = self._fill if read_messages is not None else None
        self.gate = SequenceGate(self.local.deliver, fill, latest, grace)
        self.catch_up_seconds = catch_up_seconds
        self.sharded = sharded
        self._events = itertools.count(1)
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._outgoing: list[tuple[tuple[str, ...], bytes]] = []
        self._publish_wake = asyncio.Event()
        self._sync_wake = asyncio.Event()
        self._subscribed: set[str] = set()  # sent to Redis on the current connection
        self._confirmed: set[str] = set()
        self._waiters: list[tuple[set[str], asyncio.Future[None]]] = []
        self._client: Any = None  # redis-py, for the rare commands (INFO)
        self._pubsub: resp.RespConnection | None = None
        self._heard = 0.0  # loop time of the pub/sub connection's last bytes
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()
        self._filled_reported = 0
        self.repair = repair
        self.revocation_poll_seconds = revocation_poll_seconds
        self._lost_since: float | None = None  # the pub/sub connection broke (wall clock)
        self._publish_lost_since: float | None = None  # a publish was dropped
        self.repairs = 0
        self._hints = _NodeHints(self)

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._client = aioredis.from_url(
            self.url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15
        )
        with contextlib.suppress(RedisError, OSError):
            await self._detect_sharding()
        self.local.subscribe(NODES, self._hints)
        self._tasks = [
            asyncio.create_task(self._reader()),
            asyncio.create_task(self._publisher()),
            asyncio.create_task(self._safety_net()),
        ]
        if self.repair is not None and self.revocation_poll_seconds > 0:
            self._tasks.append(asyncio.create_task(self._revocation_poll()))
        # Start with the connection up if Redis is there; a node also starts without it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 5)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.gate.stop()
        if self._pubsub is not None:
            await self._pubsub.aclose()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()

    async def _detect_sharding(self) -> None:
        """Sharded pub/sub on Redis 7 and later. Decided once Redis answers, never guessed:
        a node on ``PUBLISH`` and one on ``SPUBLISH`` would not hear each other."""
        if self.sharded is None:
            info = await self._client.info("server")
            major = int(str(info.get("redis_version", "0")).split(".")[0] or 0)
            self.sharded = major >= 7

    # --- the Broker interface ------------------------------------------------------------

    async def publish(
        self,
        channels: Iterable[str],
        payload: bytes,
        exclude: Origin | None = None,
        message_seq: tuple[int, int] | None = None,
    ) -> None:
        audience = tuple(channels)
        session_id, seq = message_seq if message_seq is not None else _message_seq(payload)
        if session_id:
            self.gate.offer(session_id, seq, audience, payload, exclude)
        else:
            self.local.deliver(audience, payload, exclude)
        header = b"%s %s %d %d %d %s\n" % (
            ENVELOPE,
            self.node,
            next(self._events),
            session_id,
            seq,
            ",".join(audience).encode(),
        )
        if len(self._outgoing) >= MAX_OUTGOING:
            PUBLISH_DROPPED.inc()
            self._publish_lost(time.time())
            return
        self._outgoing.append((audience, header + payload))
        self._publish_wake.set()

    def subscribe(self, channel: str, subscriber: Subscriber) -> None:
        first = not self.local.has_subscribers(channel)
        self.local.subscribe(channel, subscriber)
        if first:
            self._sync_wake.set()

    def unsubscribe(self, channel: str, subscriber: Subscriber) -> None:
        self.local.unsubscribe(channel, subscriber)
        if not self.local.has_subscribers(channel):
            self._sync_wake.set()

    async def ready(self, channels: Iterable[str], timeout: float = 2.0) -> bool:
        """Wait until Redis has confirmed this node's subscription to ``channels``: what a
        socket reads from the store after this cannot miss a publish made before it."""
        wanted = {self.prefix + c for c in channels} - self._confirmed
        if not wanted:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((wanted, future))
        self._sync_wake.set()
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:  # Redis down: the socket works on this node; gaps are filled
            return False

    def observe(self, session_id: int, last_seq: int, channels: tuple[str, ...]) -> None:
        self.gate.observe(session_id, last_seq, channels)

    async def _fill(self, session_id: int, after: int, upto: int) -> list[tuple[int, bytes]]:
        assert self.read_messages is not None
        found = await self.read_messages(session_id, after, upto)
        return [(m["seq"], frames.event({"type": "message", "message": m})) for m in found]

    # --- tasks ---------------------------------------------------------------------------

    async def _publisher(self) -> None:
        """Send the queued publishes, one buffer per batch on a connection of their own, and
        wait for Redis to answer them all before the next batch (their order is kept)."""
        conn: resp.RespConnection | None = None
        try:
            while True:
                await self._publish_wake.wait()
                self._publish_wake.clear()
                if self.sharded is None:  # Redis has not answered yet: keep the queue
                    await asyncio.sleep(0.2)
                    self._publish_wake.set()
                    continue
                command = b"SPUBLISH" if self.sharded else b"PUBLISH"
                batch, self._outgoing = self._outgoing, []
                if not batch:
                    continue
                prefix = self._prefix_bytes
                data, count = resp.pack_publishes(
                    command,
                    (
                        (prefix + channel.encode(), envelope)
                        for audience, envelope in batch
                        for channel in audience
                    ),
                )
                try:
                    if conn is None:
                        conn = await resp.RespConnection.open(self.url)
                    conn.write(data)
                    async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                        refused = await conn.count_replies(count)
                except CONNECTION_ERRORS as exc:
                    PUBLISH_DROPPED.inc(len(batch))
                    self._publish_lost(time.time())
                    log.warning("redis_publish_failed", events=len(batch), error=str(exc))
                    if conn is not None:
                        conn.close()
                        conn = None
                    await asyncio.sleep(0.2)
                    continue
                if refused:
                    log.warning("redis_publish_refused", commands=count, refused=refused)
                PUBLISHED.inc(len(batch))
                if self._publish_lost_since is not None:
                    self._tell_nodes()
        finally:
            if conn is not None:
                conn.close()

    async def _reader(self) -> None:
        """One pub/sub connection; on any failure a new one, resubscribed, then a catch-up."""
        backoff, connected_before = 0.1, False
        while True:
            sync: asyncio.Task[None] | None = None
            watchdog: asyncio.Task[None] | None = None
            try:
                self._subscribed.clear()
                self._confirmed.clear()
                self._pubsub = await resp.RespConnection.open(self.url)
                self._heard = asyncio.get_running_loop().time()
                await self._detect_sharding()
                sync = asyncio.create_task(self._sync())
                watchdog = asyncio.create_task(self._watch(self._pubsub))
                self._sync_wake.set()
                if connected_before:
                    RECONNECTS.inc()
                    log.info("redis_reconnected")
                    self._spawn(self._catch_up_after_reconnect())
                connected_before, backoff = True, 0.1
                self._connected.set()
                await self._read_loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._lost_since is None:
                    self._lost_since = time.time()
                log.warning("redis_pubsub_lost", error=str(exc))
            finally:
                self._connected.clear()
                for task in (sync, watchdog):
                    if task is not None:
                        task.cancel()
                        with contextlib.suppress(BaseException):
                            await task
                if self._pubsub is not None:
                    self._pubsub.close()
                    self._pubsub = None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        if task in self._tasks:
            self._tasks.remove(task)

    async def _catch_up_after_reconnect(self) -> None:
        """Subscribed again (confirmed), then read what the break may have lost: a message
        published after the read reaches this node through Redis."""
        await self.ready(self.local.channels(), timeout=10)
        await self._catch_up(None)
        lost, self._lost_since = self._lost_since, None
        await self._repair(lost - LOSS_MARGIN_SECONDS if lost is not None else None)

    # --- repairing what is not a message -------------------------------------------------

    def _publish_lost(self, at: float) -> None:
        if self._publish_lost_since is None:
            self._publish_lost_since = at

    def _tell_nodes(self) -> None:
        """Redis takes this node's publishes again: tell every node (and repair this one's
        sockets too, which may have missed what other nodes published meanwhile)."""
        lost, self._publish_lost_since = self._publish_lost_since, None
        if lost is None:
            return
        since = lost - LOSS_MARGIN_SECONDS
        hint = NODE_HINT + b',"node":"%s","since":%r}' % (self.node, since)
        header = b"%s %s %d 0 0 %s\n" % (ENVELOPE, self.node, next(self._events), NODES.encode())
        self._outgoing.append(((NODES,), header + hint))
        self._publish_wake.set()
        self._spawn(self._repair(since))

    def _heard_hint(self, payload: bytes) -> None:
        hint = orjson.loads(payload)
        since = hint.get("since")
        if hint.get("node") != self.node.decode() and isinstance(since, int | float):
            self._spawn(self._repair(float(since)))

    def _local_accounts(self) -> list[str]:
        return [c for c in self.local.channels() if c.startswith(_ACCOUNT_KINDS)]

    async def _repair(self, since: float | None) -> None:
        """Tell this node's sockets again the state of what they may have missed: sessions
        heard of since the loss began (or lately), sessions changed since then in the store,
        and revocations."""
        try:
            if self.repair is not None:
                within = None if since is None else max(0.0, time.time() - since)
                if within is None:
                    within = self.catch_up_seconds * 6
                known = self.gate.heard_since(within)
                deliveries = await self.repair(known, since, self._local_accounts())
                for audience, payload in deliveries:
                    self.local.deliver(audience, payload)
                RESTATED.inc(len(deliveries))
                log.info("redis_loss_repaired", since=since, restated=len(deliveries))
            self.repairs += 1
            REPAIRS.inc()
        except Exception:
            log.exception("redis_repair_failed")
        finally:
            self._resync(since)

    def _resync(self, since: float | None) -> None:
        """Every local socket, once (each listens on its account's channel): what is not a
        message nor a session's state (agent status, restrictions, the robot's mode, alerts,
        suggestions, the inbox…) may have been lost too; the client fetches it again, as
        after a reconnect, keeping its socket and its resume position."""
        accounts = self._local_accounts()
        if accounts:
            self.local.deliver(accounts, frames.resync(since))
            RESYNCS.inc()

    async def _revocation_poll(self) -> None:
        """Revocations from the store now and then, whatever Redis did: a ``revoked`` event
        lost in a way no node noticed still closes the sockets within this period."""
        assert self.repair is not None
        while True:
            await asyncio.sleep(self.revocation_poll_seconds)
            accounts = self._local_accounts()
            if not accounts:
                continue
            try:
                for audience, payload in await self.repair({}, None, accounts):
                    self.local.deliver(audience, payload)
            except Exception:
                log.exception("revocation_poll_failed")

    async def _read_loop(self) -> None:
        """Pushes as hiredis parses them: ``[kind, channel, data]``."""
        pubsub = self._pubsub
        assert pubsub is not None
        loop = asyncio.get_running_loop()
        confirmed = self._confirmed
        # This node's own envelopes come back on every channel it listens on: dropped
        # before any parsing.
        own = b"%s %s " % (ENVELOPE, self.node)
        while True:
            replies = await pubsub.replies()
            self._heard = loop.time()
            woke = False
            for reply in replies:
                if type(reply) is not list or len(reply) != 3:
                    if isinstance(reply, resp.ReplyError):
                        log.warning("redis_pubsub_refused", error=str(reply))
                    continue  # a PING's answer
                kind = reply[0]
                if kind == b"smessage" or kind == b"message":
                    if not reply[2].startswith(own):
                        self._receive(reply[2])
                elif kind == b"ssubscribe" or kind == b"subscribe":
                    confirmed.add(reply[1].decode())
                    woke = True
                elif kind == b"sunsubscribe" or kind == b"unsubscribe":
                    confirmed.discard(reply[1].decode())
            if woke:
                self._wake_waiters()

    async def _watch(self, pubsub: resp.RespConnection) -> None:
        """A connection that stays silent past ``HEALTH_CHECK_SECONDS`` gets a PING; one that
        does not answer it is closed, and the reader starts a new one."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(HEALTH_CHECK_SECONDS / 3)
            if loop.time() - self._heard < HEALTH_CHECK_SECONDS:
                continue
            pubsub.write(PING)
            asked = loop.time()
            await asyncio.sleep(ANSWER_SECONDS)
            if self._heard < asked:
                log.warning("redis_pubsub_silent")
                pubsub.close()
                return

    def _wake_waiters(self) -> None:
        still = []
        for wanted, future in self._waiters:
            if future.done():
                continue
            if wanted <= self._confirmed:
                future.set_result(None)
            else:
                still.append((wanted, future))
        self._waiters = still

    async def _sync(self) -> None:
        """Keep the Redis subscriptions equal to the channels with local subscribers."""
        subscribe, unsubscribe = (
            (b"SSUBSCRIBE", b"SUNSUBSCRIBE") if self.sharded else (b"SUBSCRIBE", b"UNSUBSCRIBE")
        )  # known here: the reader detected it before starting this task
        pubsub = self._pubsub
        assert pubsub is not None
        while True:
            await self._sync_wake.wait()
            self._sync_wake.clear()
            wanted = {self.prefix + c for c in self.local.channels()}
            add = sorted(wanted - self._subscribed)
            drop = sorted(self._subscribed - wanted)
            for chunk in _chunks(add, 500):
                pubsub.write(resp.pack(subscribe, *(c.encode() for c in chunk)))
                await pubsub.drain()
                self._subscribed.update(chunk)
            for chunk in _chunks(drop, 500):
                pubsub.write(resp.pack(unsubscribe, *(c.encode() for c in chunk)))
                await pubsub.drain()
                self._subscribed.difference_update(chunk)
            CHANNELS.set(len(self._subscribed))

    def _receive(self, data: bytes) -> None:
        header, _, payload = data.partition(b"\n")
        parts = header.split(b" ")
        if len(parts) != 6 or parts[0] != ENVELOPE or parts[1] == self.node:
            return
        event_key = parts[1] + b":" + parts[2]
        if event_key in self._seen:
            return
        self._seen[event_key] = None
        if len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        RECEIVED.inc()
        audience = tuple(parts[5].decode().split(",")) if parts[5] else ()
        session_id, seq = int(parts[3]), int(parts[4])
        if session_id:
            self.gate.offer(session_id, seq, audience, payload)
        else:
            self.local.deliver(audience, payload)

    async def _catch_up(self, within: float | None) -> None:
        try:
            filled = await self.gate.catch_up(within)
            FILLED.inc(self.gate.filled - self._filled_reported)
            self._filled_reported = self.gate.filled
            if filled:
                log.info("redis_gap_caught_up", messages=filled)
        except Exception:
            log.exception("redis_catch_up_failed")

    async def _safety_net(self) -> None:
        """Now and then, the sessions heard of lately against the store: a publish lost
        while this node's connection stayed up (another node's publish failed) shows here
        even if no later message of the session comes to reveal the gap."""
        while True:
            await asyncio.sleep(self.catch_up_seconds)
            await self._catch_up(self.catch_up_seconds * 6)


class _NodeHints:
    """The broker's own subscriber to ``NODES``: another node's publishes were lost."""

    origin = None

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker

    def deliver(self, payload: bytes) -> None:
        if payload.startswith(NODE_HINT):
            self.broker._heard_hint(payload)


def _message_seq(payload: bytes) -> tuple[int, int]:
    """(session id, seq) of a ``message`` event; (0, 0) for any other event."""
    if not payload.startswith(MESSAGE_EVENT):
        return 0, 0
    message = orjson.loads(payload).get("message") or {}
    session_id, seq = message.get("session_id"), message.get("seq")
    if isinstance(session_id, int) and isinstance(seq, int):
        return session_id, seq
    return 0, 0


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
