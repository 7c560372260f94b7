"""The weekly assessment of a whole event log, column-wise (numpy) — the fast path.

Same definitions as :mod:`feige.metrics.summary` and :mod:`feige.metrics.assessment`
(docs/rules.md §3), computed with array operations over all events at once instead of a replay and
a summary object per session. Lines are decoded about 1 MB at a time by msgspec into typed rows
(one C call), and the rows into columns by a few C-level passes; any part with a line that is
not an ordinary event of the format is read line by line with the reference validation
(:func:`feige.metrics.events.record_from_obj`), so both engines accept, reject and name exactly
the same lines. The per-session replay stays the reference, and the tests compare the two
documents on random logs and the two decoders on odd lines.
"""

from __future__ import annotations

from array import array
from collections import deque
from itertools import count, repeat
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
import orjson

from feige.domain import Entry, EventType, FlagReason, MessageKind, SenderRole
from feige.metrics.assessment import (
    ANSWERED,
    ASSESSED,
    DISSATISFIED,
    FR_DEN,
    FR_SUM_US,
    HUMAN,
    INVALID,
    NO_SERVICE,
    NSEC_NUM,
    PURE_ROBOT,
    RATED_N,
    RESP_SUM_US,
    ROUNDS,
    TMR_DEN,
    TMR_NUM,
    TOTAL,
    Week,
    WeekAggregator,
    new_acc,
)
from feige.metrics.config import DEFAULT_CONFIG, AssessmentConfig
from feige.metrics.events import (
    _KINDS,
    _ROLE_CODE,
    _TYPE_CODE,
    AGENT,
    ASSIGNED,
    BUYER,
    CLOSED,
    FLAGGED,
    OFFLINE,
    OPEN,
    QUEUED,
    RATED,
    ROBOT,
    ROBOT_ASSIST,
    SYSTEM,
    TRANSFERRED,
    _located,
    record_from_obj,
)
from feige.metrics.timeutil import DAY_US, US, LocalClock, parse_ts_us

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
BIG = np.iinfo(np.int64).max
REASONS = ("blacklisted", "reported", "risky")
PART_BYTES = 1 << 20  # decoded at a time: its Python objects fit in the CPU caches


class _Line(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One event-log line as the typed decoder reads it (docs/interfaces.md, every field typed).

    Unknown fields, and values of another type than the format's, fail the decoding of the whole
    block, which is then read line by line the reference way (so nothing is ever skipped
    unread: every byte is validated by msgspec as strictly as ``orjson`` does).
    """

    ts: str
    shop: str
    session: str
    type: EventType
    role: SenderRole | None = None
    agent: str | None = None
    kind: MessageKind | None = None
    consumer: str | None = None
    entry: Entry | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    score: int | None = None
    reason: FlagReason | None = None


_DECODER = msgspec.json.Decoder(_Line)
_MESSAGE = -1
_TYPE_OF: dict[EventType, int] = {EventType(k): v for k, v in _TYPE_CODE.items()}
_TYPE_OF[EventType.MESSAGE] = _MESSAGE
_ROLE_OF: dict[SenderRole | None, int] = {SenderRole(k): v for k, v in _ROLE_CODE.items()}
_ROLE_OF[None] = -1
_REASON_OF: dict[FlagReason | None, int] = {FlagReason(r): i for i, r in enumerate(REASONS)}
_REASON_OF[None] = -1
_get_ts, _get_shop, _get_session = attrgetter("ts"), attrgetter("shop"), attrgetter("session")
_get_type, _get_role, _get_agent = attrgetter("type"), attrgetter("role"), attrgetter("agent")


class ColumnLog:
    """Events as four typed columns (no Python object per event once read), in file order.

    ``aux`` is the agent id (assigned, transferred, message), the score (rated) or the reason
    index (flagged); -1 for none. ``gid`` numbers sessions, ``key_list[gid]`` names them.
    """

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], int] = {}  # key_list[:_keys_upto], by key
        self._keys_upto = 0
        self.key_list: list[tuple[str, str]] = []
        # Session name → gid of the first session of that name (a shortcut for the block
        # decoder, which checks the shop; the same name in another shop is another session).
        self.by_name: dict[str, int] = {}
        self.shops: dict[str, int] = {}
        self.shop_list: list[str] = []
        self.session_shop = array("i")
        self.agents: dict[str | None, int] = {None: -1}  # None: no agent (not in agent_list)
        self.agent_list: list[str] = []
        self.ts = array("q")
        self.code = array("b")
        self.gid = array("i")
        self.aux = array("i")
        # Rows of other workers, kept as arrays before / after this log's own rows (file order).
        self.before: list[
            tuple[I64, npt.NDArray[np.int8], npt.NDArray[np.int32], npt.NDArray[np.int32]]
        ] = []
        self.after: list[
            tuple[I64, npt.NDArray[np.int8], npt.NDArray[np.int32], npt.NDArray[np.int32]]
        ] = []

    @property
    def keys(self) -> dict[tuple[str, str], int]:
        """(shop, session) → gid. Brought up to date only when asked: the block decoder finds
        sessions by name (``by_name``) and only appends to ``key_list``."""
        if self._keys_upto < len(self.key_list):
            upto = self._keys_upto
            fresh = self.key_list[upto:]
            self._keys.update(zip(fresh, range(upto, upto + len(fresh)), strict=True))
            self._keys_upto = len(self.key_list)
        return self._keys

    def gid_of(self, key: tuple[str, str]) -> int:
        gid = self.keys.get(key)
        if gid is None:
            gid = self._keys[key] = len(self.key_list)
            self.key_list.append(key)
            self._keys_upto = len(self.key_list)
            self.by_name.setdefault(key[1], gid)
            shop = self.shops.get(key[0])
            if shop is None:
                shop = self.shops[key[0]] = len(self.shop_list)
                self.shop_list.append(key[0])
            self.session_shop.append(shop)
        return gid

    def _session_ids(self, shops: list[str], sessions: list[str]) -> I64 | None:
        """Rows → gids, looking sessions up by name alone (cheaper than by (shop, session)),
        when each name goes with one shop: the shop of the session already known under that
        name, if any. Else None, with nothing registered."""
        local, names, first = _factorize(sessions)
        name_shops = [shops[i] for i in first.tolist()]
        if np.array(name_shops, dtype=object)[local].tolist() != shops:
            return None  # a name with rows in two shops
        shops_get = self.shops.get
        name_shop = np.array([shops_get(shop, -1) for shop in name_shops], np.int64)
        ids = np.fromiter(map(self.by_name.get, names, repeat(-1)), np.int64, len(names))
        missing = ids < 0
        known = ~missing
        owner = np.frombuffer(self.session_shop, np.int32)[ids[known]]  # a copy: no view kept
        if not bool((owner == name_shop[known]).all()):  # a new shop has -1: never an owner
            return None
        fresh = [(shops[i], sessions[i]) for i in first[missing].tolist()]
        if not all(shop and session for shop, session in fresh):
            return None
        ids[missing] = np.arange(len(fresh)) + self._add_sessions(fresh)
        return ids[local]

    def _add_sessions(self, fresh: list[tuple[str, str]]) -> int:
        """Register new sessions in order, as gid_of would; returns the first one's gid."""
        base = len(self.key_list)
        self.key_list += fresh  # ``keys`` catches up when asked
        deque(map(self.by_name.setdefault, [key[1] for key in fresh], count(base)), 0)
        names = [key[0] for key in fresh]
        for name in dict.fromkeys(names):
            if name not in self.shops:
                self.shops[name] = len(self.shop_list)
                self.shop_list.append(name)
        self.session_shop.extend(map(self.shops.__getitem__, names))
        return base

    def _add_agents(self, fresh: list[str]) -> int:
        """Register new agents in order, as agent_of would; returns the first one's id."""
        base = len(self.agent_list)
        self.agents.update(zip(fresh, range(base, base + len(fresh)), strict=True))
        self.agent_list += fresh
        return base

    def agent_of(self, name: str) -> int:
        aid = self.agents.get(name)
        if aid is None:
            aid = self.agents[name] = len(self.agent_list)
            self.agent_list.append(name)
        return aid

    def ingest(self, data: bytes, offset: int = 0, first_line: int | None = None) -> int:
        """Decode a block of whole lines (see :func:`feige.metrics.events.ingest_chunk`).

        The block is cut into parts of about 1 MB, whose rows stay in the CPU caches while they
        are read. Each part is decoded by one msgspec call into typed rows and turned into
        columns with a few C-level passes (:meth:`_ingest_typed`); a part it cannot vouch for (a
        bad line, an unknown field, blank lines, CRLF…) is read line by line
        (:meth:`_ingest_lines`), which accepts, rejects and names lines exactly as the reference
        pipeline does.
        """
        lines = 0
        pos = 0
        size = len(data)
        while pos < size:
            cut = data.find(b"\n", min(pos + PART_BYTES, size - 1))
            cut = size if cut < 0 else cut + 1
            part = data[pos:cut] if pos or cut < size else data
            n = self._ingest_typed(part)
            if n is None:
                line = None if first_line is None else first_line + lines
                n = self._ingest_lines(part, offset + pos, line)
            lines += n
            pos = cut
        return lines

    def _ingest_typed(self, data: bytes) -> int | None:
        """The block as typed rows → columns; None (and nothing added) unless every line is
        an ordinary event the reference accepts, with the same columns it would produce."""
        if not data:
            return None
        buf = np.frombuffer(data, np.uint8)
        newlines = np.flatnonzero(buf == 10)
        # Every line ends with the '}' of its object: since no field holds an object or an
        # array, objects cannot nest, so no object spans two lines and no line holds two; with
        # as many objects as lines, each line is exactly one object, as json.loads per line.
        if buf[-1] != 10 and buf[-1] != 125:
            return None
        if len(newlines) and not bool((buf[newlines - 1] == 125).all()):
            return None
        try:
            rows = _DECODER.decode_lines(data)
        except msgspec.DecodeError:
            return None
        n = len(rows)
        if n != len(newlines) + (buf[-1] != 10):
            return None
        type_code = np.fromiter(map(_TYPE_OF.__getitem__, map(_get_type, rows)), np.int8, n)
        role_code = np.fromiter(map(_ROLE_OF.__getitem__, map(_get_role, rows)), np.int8, n)
        code = np.where(type_code == _MESSAGE, role_code, type_code)
        if bool((code < 0).any()):  # a message without a role
            return None
        agent_names = list(map(_get_agent, rows))
        routed = (code == ASSIGNED) | (code == TRANSFERRED)
        routed_agents = [agent_names[i] for i in np.flatnonzero(routed).tolist()]
        if None in routed_agents or "" in routed_agents:
            return None
        with_agent = routed | ((code >= BUYER) & (code <= SYSTEM))
        others = np.flatnonzero(~with_agent).tolist()
        if [agent_names[i] for i in others].count(None) != len(others):
            for i in others:
                agent_names[i] = None  # an agent where the format has none is ignored
        rated = np.flatnonzero(code == RATED)
        scores = [rows[i].score for i in rated.tolist()]
        for score in scores:
            if score is None or not 1 <= score <= 5:
                return None
        flagged = np.flatnonzero(code == FLAGGED)
        reasons = [_REASON_OF[rows[i].reason] for i in flagged.tolist()]
        if -1 in reasons:
            return None
        us, ok = parse_ts_column(list(map(_get_ts, rows)))
        if not bool(ok.all()):
            try:
                for i in np.flatnonzero(~ok).tolist():
                    us[i] = parse_ts_us(rows[i].ts)
            except (ValueError, TypeError):
                return None
        # Number new sessions and agents in order of first appearance (sessions last checked
        # for an empty shop or session name: only new ones need it).
        shops = list(map(_get_shop, rows))
        sessions = list(map(_get_session, rows))
        gid = self._session_ids(shops, sessions)
        if gid is None:  # a session name in two shops, or an empty name: by (shop, session)
            local, keys, _ = _factorize(list(zip(shops, sessions, strict=True)))
            ids = np.fromiter(map(self.keys.get, keys, repeat(-1)), np.int64, len(keys))
            missing = np.flatnonzero(ids < 0)
            fresh = [keys[i] for i in missing.tolist()]
            if not all(shop and session for shop, session in fresh):
                return None
            ids[missing] = np.arange(len(fresh)) + self._add_sessions(fresh)
            gid = ids[local]
        local, names, _ = _factorize(agent_names)
        ids = np.fromiter(map(self.agents.get, names, repeat(-2)), np.int64, len(names))
        missing = np.flatnonzero(ids == -2)
        fresh_agents = [names[i] for i in missing.tolist()]
        ids[missing] = np.arange(len(fresh_agents)) + self._add_agents(fresh_agents)
        aux = ids[local]
        aux[rated] = np.array(scores, np.int64)
        aux[flagged] = np.array(reasons, np.int64)
        self.ts.frombytes(us.tobytes())
        self.code.frombytes(code.astype(np.int8).tobytes())
        self.gid.frombytes(gid.astype(np.int32).tobytes())
        self.aux.frombytes(aux.astype(np.int32).tobytes())
        return n

    def _ingest_lines(self, data: bytes, offset: int = 0, first_line: int | None = None) -> int:
        """Decode a block line by line with orjson (the reference way; names bad lines).

        Timestamps are kept as text during the loop and converted for the whole block at once
        (:func:`parse_ts_column`); a block with a bad timestamp is re-read the reference way so
        that the error names its line.
        """
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        role_code, kinds = _ROLE_CODE, _KINDS
        keys, agents = self.keys, self.agents
        code_add, gid_add, aux_add = self.code.append, self.gid.append, self.aux.append
        stamps: list[Any] = []
        ts_add = stamps.append
        lines = data.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        base = offset << 24
        for seq, line in enumerate(lines, base):
            try:
                obj = loads(line)
                if obj["type"] == "message":
                    code = role_code[obj["role"]]
                    agent = obj.get("agent")
                    kind = obj.get("kind")
                    g = keys.get((obj["shop"], obj["session"]))
                    aid = -1 if agent is None else agents.get(agent)
                    if g is not None and aid is not None and (kind is None or kind in kinds):
                        ts_add(obj["ts"])
                        code_add(code)
                        gid_add(g)
                        aux_add(aid)
                        continue
            except decode_error as exc:
                if not line.strip():
                    continue
                raise _located(
                    first_line, lines, seq - base, offset, f"not valid JSON ({exc})"
                ) from None
            except Exception:
                pass
            try:
                shop, session, rec = record_from_obj(obj, seq)
            except ValueError as exc:
                raise _located(first_line, lines, seq - base, offset, str(exc)) from None
            c = rec[2]
            a = rec[3]
            if c == RATED:
                aux = a
            elif c == FLAGGED:
                aux = REASONS.index(a)
            elif c != OPEN and a is not None:
                aux = self.agent_of(a)
            else:
                aux = -1
            ts_add(obj["ts"])
            code_add(c)
            gid_add(self.gid_of((shop, session)))
            aux_add(aux)
        self._add_stamps(stamps, lines, offset, first_line)
        return len(lines)

    def _add_stamps(
        self, stamps: list[Any], lines: list[bytes], offset: int, first_line: int | None
    ) -> None:
        try:
            us, ok = parse_ts_column(stamps)
        except TypeError:  # a timestamp that is not text
            us, ok = np.zeros(len(stamps), np.int64), np.zeros(len(stamps), np.bool_)
        if not bool(ok.all()):
            try:
                for i in np.flatnonzero(~ok).tolist():
                    us[i] = parse_ts_us(stamps[i])
            except (ValueError, TypeError):
                _raise_first_error(lines, offset, first_line)
                raise
        self.ts.frombytes(us.tobytes())

    def arrays(
        self,
    ) -> tuple[I64, npt.NDArray[np.int8], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        own = (
            np.frombuffer(self.ts, np.int64),
            np.frombuffer(self.code, np.int8),
            np.frombuffer(self.gid, np.int32),
            np.frombuffer(self.aux, np.int32),
        )
        if not self.before and not self.after:
            return own
        parts = [*self.before, own, *self.after]
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
            np.concatenate([p[3] for p in parts]),
        )

    def extract(self, shop_ids: set[int]) -> dict[str, Any]:
        """The rows of some shops, self-described (for another worker): marshal-able."""
        ts, code, gid, aux = self.arrays()
        owner = np.frombuffer(self.session_shop, np.int32)
        wanted = np.zeros(len(self.shop_list), np.bool_)
        wanted[list(shop_ids)] = True
        rows = wanted[owner[gid]] if len(gid) else np.zeros(0, np.bool_)
        used = np.flatnonzero(np.bincount(gid[rows], minlength=len(self.key_list)))
        return {
            "keys": [self.key_list[g] for g in used.tolist()],
            "gids": used.astype(np.int32).tobytes(),
            "agents": self.agent_list,
            "ts": ts[rows].tobytes(),
            "code": code[rows].tobytes(),
            "gid": gid[rows].tobytes(),
            "aux": aux[rows].tobytes(),
        }

    def drop_shops(self, shop_ids: set[int]) -> None:
        """Forget the rows of these shops (handed to another worker)."""
        ts, code, gid, aux = self.arrays()
        owner = np.frombuffer(self.session_shop, np.int32)
        wanted = np.zeros(len(self.shop_list), np.bool_)
        wanted[list(shop_ids)] = True
        keep = ~wanted[owner[gid]] if len(gid) else np.zeros(0, np.bool_)
        self.ts = array("q", ts[keep].tobytes())
        self.code = array("b", code[keep].tobytes())
        self.gid = array("i", gid[keep].tobytes())
        self.aux = array("i", aux[keep].tobytes())

    def merge(self, part: dict[str, Any], before: bool = False) -> None:
        """Add rows from :meth:`extract` of another worker, from earlier or later in the file."""
        remote = np.frombuffer(part["gids"], np.int32)
        gmap = np.zeros(int(remote.max()) + 1 if len(remote) else 1, np.int32)
        keys = [tuple(key) for key in part["keys"]]
        ids = self._session_ids([key[0] for key in keys], [key[1] for key in keys])
        if ids is None:
            ids = np.fromiter(map(self.keys.get, keys, repeat(-1)), np.int64, len(keys))
            missing = np.flatnonzero(ids < 0)
            fresh = [keys[i] for i in missing.tolist()]
            ids[missing] = np.arange(len(fresh)) + self._add_sessions(fresh)  # as gid_of would
        gmap[remote] = ids
        amap = np.array([self.agent_of(a) for a in part["agents"]] + [-1], np.int32)
        code = np.frombuffer(part["code"], np.int8)
        aux = np.frombuffer(part["aux"], np.int32)
        has_agent = (
            (code == ASSIGNED) | (code == TRANSFERRED) | ((code >= BUYER) & (code <= SYSTEM))
        )
        aux = aux.copy()
        mapped = has_agent & (aux >= 0)
        aux[mapped] = amap[aux[mapped]]
        rows = (
            np.frombuffer(part["ts"], np.int64),
            code,
            gmap[np.frombuffer(part["gid"], np.int32)],
            aux,
        )
        (self.before if before else self.after).append(rows)


def _factorize(values: list[Any]) -> tuple[I64, list[Any], I64]:
    """Values → (each row's index into the distinct values, the distinct values in order of
    first appearance, the row of each one's first appearance). A dict of one block's distinct
    values stays in the CPU caches, unlike the tables of a whole log."""
    n = len(values)
    seen: dict[Any, int] = {}
    first_of_row = np.fromiter(map(seen.setdefault, values, count()), np.int64, n)
    is_first = np.zeros(n, np.bool_)
    is_first[first_of_row] = True
    return (np.cumsum(is_first) - 1)[first_of_row], list(seen), np.flatnonzero(is_first)


def _raise_first_error(lines: list[bytes], offset: int, first_line: int | None) -> None:
    """Re-read a block the reference way; raises the first line's error, if any."""
    base = offset << 24
    for seq, line in enumerate(lines, base):
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.strip():
                continue
            raise _located(
                first_line, lines, seq - base, offset, f"not valid JSON ({exc})"
            ) from None
        try:
            record_from_obj(obj, seq)
        except ValueError as exc:
            raise _located(first_line, lines, seq - base, offset, str(exc)) from None


def _stable_order(gid: npt.NDArray[np.int32]) -> I64:
    """``np.argsort(gid, kind="stable")``, faster: one sort of (gid, row) packed in an int64."""
    n = len(gid)
    bits = n.bit_length()
    if n == 0 or int(gid.max()).bit_length() + bits > 62:
        return np.argsort(gid, kind="stable").astype(np.int64)
    key = (gid.astype(np.int64) << bits) | np.arange(n, dtype=np.int64)
    key.sort()
    return key & ((1 << bits) - 1)


def _first_per_group(
    mask: BOOL, gid: npt.NDArray[np.int32], n_groups: int, last: bool = False
) -> I64:
    """Index of the first (or last) row per group where ``mask``; BIG (or -1) when none."""
    idx = np.flatnonzero(mask)
    out = np.full(n_groups, -1 if last else BIG, np.int64)
    if len(idx) == 0:
        return out
    g = gid[idx]
    sel = np.r_[g[1:] != g[:-1], True] if last else np.r_[True, g[1:] != g[:-1]]
    out[g[sel]] = idx[sel]
    return out


def _next_true(flags: BOOL) -> I64:
    """For each position, the smallest index ≥ it where ``flags``; len(flags) when none."""
    n = len(flags)
    cand = np.where(flags, np.arange(n, dtype=np.int64), n)
    return np.minimum.accumulate(cand[::-1])[::-1]


def assess_columns(
    cols: ColumnLog, week: Week, config: AssessmentConfig = DEFAULT_CONFIG
) -> list[dict[str, Any]]:
    """All sessions of ``cols`` → per-shop results for ``week`` (as WeekAggregator renders)."""
    ts, code, gid, aux = cols.arrays()
    agg = WeekAggregator(week, config)
    n_groups = len(cols.key_list)
    if len(ts) == 0:
        return []
    # Sort by session, then time, then file order (stable). Logs are mostly in time order
    # within a session, so a stable sort by session usually suffices; check, else sort fully.
    order = _stable_order(gid)
    g_sorted = gid[order]
    t_sorted = ts[order]
    if bool(np.any((t_sorted[1:] < t_sorted[:-1]) & (g_sorted[1:] == g_sorted[:-1]))):
        order = np.lexsort((ts, gid))
    ts = ts[order]
    code = code[order]
    gid = gid[order]
    aux = aux[order]
    n = len(ts)
    idx = np.arange(n, dtype=np.int64)
    seg_start = np.zeros(n_groups, np.int64)
    counts = np.bincount(gid, minlength=n_groups)
    seg_start[1:] = np.cumsum(counts)[:-1]
    seg_last = seg_start + counts - 1

    closed_pos = _first_per_group(code == CLOSED, gid, n_groups)
    alive = idx < closed_pos[gid]
    is_routing = alive & (code >= QUEUED) & (code <= TRANSFERRED)
    entry_pos = _first_per_group(is_routing, gid, n_groups)
    human = entry_pos < BIG
    entry_ts = np.where(human, ts[np.minimum(entry_pos, n - 1)], 0)
    is_staff = alive & ((code == AGENT) | (code == ROBOT_ASSIST))
    staff = np.bincount(gid[is_staff], minlength=n_groups)

    # A buyer message still unanswered at the human entry opens a round there (docs/rules.md §3).
    pre = alive & (code >= BUYER) & (code <= ROBOT) & (idx < entry_pos[gid])
    last_pre = _first_per_group(pre, gid, n_groups, last=True)
    pending = human & (last_pre >= 0) & (code[np.maximum(last_pre, 0)] == BUYER)

    post = alive & (code >= BUYER) & (code <= ROBOT_ASSIST) & (idx > entry_pos[gid])
    pos = np.sort(np.concatenate([np.flatnonzero(post), entry_pos[pending]]))
    pg = gid[pos]
    pbuyer = code[pos] <= BUYER  # routing codes mark the virtual buyer at the entry
    same_prev = np.r_[False, pg[1:] == pg[:-1]]
    prev_buyer = np.r_[False, pbuyer[:-1]]
    starts = np.flatnonzero(pbuyer & ~(same_prev & prev_buyer))
    nxt = _next_true(~pbuyer)[starts]
    answered = nxt < len(pos)
    nxt_c = np.minimum(nxt, len(pos) - 1) if len(pos) else nxt
    answered &= pg[nxt_c] == pg[starts] if len(pos) else answered
    r_gid = pg[starts].astype(np.int64)
    r_start_pos = pos[starts]
    r_start = ts[r_start_pos]
    r_ans_pos = np.where(answered, pos[nxt_c], -1) if len(pos) else nxt
    r_answer = np.where(answered, ts[np.maximum(r_ans_pos, 0)], 0)
    cap = config.response_cap_seconds * US
    raw = r_answer - r_start
    response = np.where(answered, np.minimum(raw, cap), cap)

    # Current agent at a row: the last live routing event at or before it.
    last_r = np.maximum.accumulate(np.where(is_routing, idx, -1))

    def agent_at(p: I64) -> I64:
        lr = last_r[p]
        ok = (lr >= seg_start[gid[p]]) & (lr >= 0)
        lr0 = np.maximum(lr, 0)
        assigned = ok & ((code[lr0] == ASSIGNED) | (code[lr0] == TRANSFERRED))
        return np.where(assigned, aux[lr0], -1).astype(np.int64)

    ans_agent = np.where(answered, aux[np.maximum(r_ans_pos, 0)], -1).astype(np.int64)
    r_agent = np.where(
        answered & (ans_agent >= 0),
        ans_agent,
        np.where(answered, agent_at(np.maximum(r_ans_pos, 0)), agent_at(r_start_pos)),
    )

    # Waits for human service (docs/rules.md §3 (1) no-service 1).
    rpos = np.flatnonzero(is_routing)
    rg = gid[rpos]
    rw = code[rpos] <= OFFLINE
    r_same = np.r_[False, rg[1:] == rg[:-1]]
    r_prev_w = np.r_[False, rw[:-1]]
    w_starts = np.flatnonzero(rw & ~(r_same & r_prev_w))
    w_next = _next_true(~rw)[w_starts]
    w_end_ok = w_next < len(rpos)
    w_next_c = np.minimum(w_next, max(len(rpos) - 1, 0))
    if len(rpos):
        w_end_ok &= rg[w_next_c] == rg[w_starts]
    limit = config.no_service_wait_seconds * US
    w_bad = ~w_end_ok
    if len(rpos):
        w_bad |= (ts[rpos[w_next_c]] - ts[rpos[w_starts]]) > limit
    cond1 = np.zeros(n_groups, np.bool_)
    cond1[rg[w_starts][w_bad]] = True

    agent_rows = is_routing & ((code == ASSIGNED) | (code == TRANSFERRED))
    last_agent_row = _first_per_group(agent_rows, gid, n_groups, last=True)
    has_agent = last_agent_row >= 0
    final_agent = np.where(has_agent, aux[np.maximum(last_agent_row, 0)], -1)
    n_rounds = np.bincount(r_gid, minlength=n_groups)
    last_round = np.full(n_groups, -1, np.int64)
    if len(r_gid):
        last_sel = np.r_[r_gid[1:] != r_gid[:-1], True]
        last_round[r_gid[last_sel]] = np.flatnonzero(last_sel)
    last_unanswered = (
        (last_round >= 0) & ~answered[np.maximum(last_round, 0)]
        if len(r_gid)
        else (np.zeros(n_groups, np.bool_))
    )
    cond2 = has_agent & (staff == 0)
    cond3 = has_agent & last_unanswered
    no_service = human & (cond1 | cond2 | cond3)

    last_rated = _first_per_group(code == RATED, gid, n_groups, last=True)
    rating = np.where(last_rated >= 0, aux[np.maximum(last_rated, 0)], 0)
    invalid = np.bincount(gid[code == FLAGGED], minlength=n_groups) > 0
    first_open = _first_per_group(code == OPEN, gid, n_groups)
    opened = np.where(
        first_open < BIG, ts[np.minimum(first_open, n - 1)], ts[np.minimum(seg_start, n - 1)]
    )
    anchor = np.where(human, entry_ts, opened)
    _ = seg_last

    # --- week membership (docs/rules.md §3) ---------------------------------------------------
    clock = LocalClock(config.timezone)
    w0, w1 = week.start_us, week.end_us

    def local(us: I64) -> I64:
        buckets = us // (900 * US)
        uniq, inv = np.unique(buckets, return_inverse=True)
        offs = np.array([clock.offset_us(int(b) * 900 * US) for b in uniq], np.int64)
        return us + offs[inv]

    lo, hi = config.hours_start_s * US, (config.hours_end_s + 1) * US

    def in_hours(us: I64) -> BOOL:
        tod = local(us) % DAY_US
        return (tod >= lo) & (tod < hi)

    anchored = (anchor >= w0) & (anchor < w1) & (counts > 0)  # sessions handed away have no rows
    valid_human = human & ~invalid
    assessed_s = anchored & valid_human & in_hours(entry_ts)
    r_assessed = in_hours(r_start) & valid_human[r_gid] & (r_start >= w0) & (r_start < w1)
    in_time = answered & (raw <= config.in_time_seconds * US)
    nsec = answered & (raw <= config.n_second_seconds * US)
    wr = np.bincount(r_gid[r_assessed], minlength=n_groups)
    wr_ok = np.bincount(r_gid[r_assessed & in_time], minlength=n_groups)
    first_round = np.full(n_groups, -1, np.int64)
    if len(r_gid):
        first_sel = np.r_[True, r_gid[1:] != r_gid[:-1]]
        first_round[r_gid[first_sel]] = np.flatnonzero(first_sel)
    has_round = n_rounds > 0
    fr_us = (
        np.where(has_round, response[np.maximum(first_round, 0)], 0)
        if len(response)
        else np.zeros(n_groups, np.int64)
    )
    dis_scores = np.array(config.dissatisfied_scores, np.int64)
    rated = rating > 0
    bad = rated & np.isin(rating, dis_scores)

    # --- accumulate per shop, per (shop, agent) and per (shop, day) ----------------------------
    g_shop = np.frombuffer(cols.session_shop, np.int32).astype(np.int64)
    day_anchor = local(anchor) // DAY_US
    day_entry = local(entry_ts) // DAY_US
    r_day = local(r_start) // DAY_US

    session_slots: dict[int, BOOL | I64] = {
        TOTAL: anchored,
        HUMAN: anchored & human,
        INVALID: anchored & invalid,
        PURE_ROBOT: anchored & ~human,
    }
    assessed_slots: dict[int, BOOL | I64] = {
        ASSESSED: assessed_s,
        NO_SERVICE: assessed_s & no_service,
        TMR_DEN: assessed_s & (wr > 0),
        TMR_NUM: assessed_s & (wr > 0) & (wr_ok == wr),
        RATED_N: assessed_s & rated,
        DISSATISFIED: assessed_s & bad,
        FR_DEN: assessed_s & has_round,
        FR_SUM_US: np.where(assessed_s & has_round, fr_us, 0),
    }
    ra = r_assessed
    round_slots: dict[int, BOOL | I64] = {
        ROUNDS: ra,
        RESP_SUM_US: np.where(ra, response, 0),
        ANSWERED: ra & answered,
        NSEC_NUM: ra & nsec,
    }
    names = cols.shop_list
    agents = cols.agent_list

    def add(
        target: str, keys: I64, sub: I64 | None, slots: dict[int, BOOL | I64], mask: BOOL
    ) -> None:
        sel = np.flatnonzero(mask)
        if len(sel) == 0:
            return
        k = keys[sel]
        s = sub[sel] if sub is not None else np.zeros(len(sel), np.int64)
        smin = int(s.min())
        span = int(s.max()) - smin + 1
        uniq, inv = np.unique(k * span + (s - smin), return_inverse=True)
        inv = inv.reshape(-1)
        size = len(uniq)
        sums: dict[int, I64] = {}
        for slot, v in slots.items():
            arr = np.asarray(v)[sel]
            if arr.dtype == np.bool_:
                sums[slot] = np.bincount(inv[arr], minlength=size).astype(np.int64)
            else:
                sums[slot] = _int_sums(inv, arr.astype(np.int64), size)
        for j in range(size):
            shop = names[int(uniq[j] // span)]
            sub_key = int(uniq[j] % span) + smin
            acc, agent_accs, day_accs = agg._acc(shop)
            if target == "shop":
                into = acc
            elif target == "agent":
                name = agents[sub_key] if sub_key >= 0 else None
                into = agent_accs.get(name) or agent_accs.setdefault(name, new_acc())
            else:
                into = day_accs.get(sub_key) or day_accs.setdefault(sub_key, new_acc())
            for slot, arr2 in sums.items():
                into[slot] += int(arr2[j])

    add("shop", g_shop, None, session_slots, anchored)
    add("day", g_shop, day_anchor, session_slots, anchored)
    add("shop", g_shop, None, assessed_slots, assessed_s)
    add("agent", g_shop, final_agent.astype(np.int64), assessed_slots, assessed_s)
    add("day", g_shop, day_entry, assessed_slots, assessed_s)
    r_shop = g_shop[r_gid]
    add("shop", r_shop, None, round_slots, ra)
    add("agent", r_shop, r_agent, round_slots, ra)
    add("day", r_shop, r_day, round_slots, ra)
    return agg.shop_results()


def _int_sums(inv: npt.NDArray[np.intp], values: I64, size: int) -> I64:
    out = np.zeros(size, np.int64)
    np.add.at(out, inv, values)
    return out


# --- timestamps, column-wise --------------------------------------------------------------------


def _calendar() -> tuple[I64, I64]:
    """Days from 1970-01-01 to the first of each month of years 0–9999, and the month's length
    (index ``year * 12 + month - 1``; year 0 is never valid)."""
    year = np.repeat(np.arange(10_000, dtype=np.int64), 12)
    m0 = np.tile(np.arange(12, dtype=np.int64), 10_000)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    cum = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], np.int64)
    dim = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
    y = year - 1
    first = y * 365 + y // 4 - y // 100 + y // 400 + cum[m0] + (leap & (m0 >= 2)) - 719162
    return first, dim[m0] + (leap & (m0 == 1))


_MONTH_FIRST_DAY, _MONTH_DAYS = _calendar()


def _layouts() -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The six accepted forms, by length − 19: per form and position, the allowed byte range."""
    forms = {6: "+DD:DD", 1: "Z", 10: ".DDD+DD:DD", 5: ".DDDZ", 13: ".DDDDDD+DD:DD", 8: ".DDDDDDZ"}
    by_rest = np.zeros(64, np.intp)  # 0: no accepted form
    lo = np.zeros((len(forms) + 1, 32), np.uint8)
    hi = np.zeros((len(forms) + 1, 32), np.uint8)
    for k, (rest, tail) in enumerate(forms.items(), 1):
        by_rest[rest] = k
        for i, c in enumerate("DDDD-DD-DDTDD:DD:DD" + tail):
            lo[k, i], hi[k, i] = (48, 57) if c == "D" else (43, 45) if c == "+" else (ord(c),) * 2
        hi[k, 19 + len(tail) :] = 255  # the zero padding after the text
    return by_rest, lo, hi


_FORM_BY_REST, _FORM_LO, _FORM_HI = _layouts()
_FORM_SPAN = _FORM_HI - _FORM_LO


def parse_ts_column(texts: list[str]) -> tuple[I64, BOOL]:
    """ISO 8601 timestamps → (epoch µs, ok) without a Python object per row.

    Handles ``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff](±HH:MM|Z)`` and checks every field as
    ``datetime.fromisoformat`` does (digits, ranges, day of month, offset under 24 h); rows it
    cannot vouch for have ``ok`` False and are left to :func:`parse_ts_us`. The texts become a
    32 × n byte matrix (one column per text), checked against the byte ranges of their form
    and read a position at a time.
    """
    n = len(texts)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.bool_)
    lens = np.fromiter(map(len, texts), np.int64, n)
    try:
        fixed = np.array(texts, "S32")  # longer texts are cut, but have no accepted form
    except UnicodeEncodeError:
        return np.zeros(n, np.int64), np.zeros(n, np.bool_)
    return _parse_ts_bytes(fixed.view(np.uint8).reshape(n, 32), lens)


def _parse_ts_bytes(rows: npt.NDArray[np.uint8], lens: I64) -> tuple[I64, BOOL]:
    """Texts as an n × 32 byte matrix (anything after each text's length) → (epoch µs, ok)."""
    form = _FORM_BY_REST[np.clip(lens - 19, 0, 63)]
    # Each byte within its form's range (one comparison: below the range wraps around). The
    # first 19 bytes are alike in every form; the 13 after them depend on it.
    head = (rows[:, :16] - _FORM_LO[1, :16]) > _FORM_SPAN[1, :16]
    tail = (rows[:, 16:] - _FORM_LO[form, 16:]) > _FORM_SPAN[form, 16:]
    words = head.view(np.uint64)  # 16 bools = 2 words per text
    more = tail.view(np.uint64)
    ok = ((words[:, 0] | words[:, 1] | more[:, 0] | more[:, 1]) == 0) & (form > 0)
    c = np.ascontiguousarray(rows.T).astype(np.int32)  # c[i]: the i-th byte of every text
    sign = np.choose(form, [c[0], c[19], c[19], c[23], c[23], c[26], c[26]])
    ok &= sign != 44  # ',' lies between '+' and '-'
    c -= 48
    year = c[0] * 1000 + c[1] * 100 + c[2] * 10 + c[3]
    month = c[5] * 10 + c[6]
    day = c[8] * 10 + c[9]
    hour = c[11] * 10 + c[12]
    minute = c[14] * 10 + c[15]
    second = c[17] * 10 + c[18]
    milli = c[20] * 100 + c[21] * 10 + c[22]
    micro = c[23] * 100 + c[24] * 10 + c[25]
    frac = np.where(form >= 5, milli * 1000 + micro, np.where(form >= 3, milli * 1000, 0))
    off_h = np.choose(form, [c[0], c[20] * 10 + c[21], c[0], c[24] * 10 + c[25], c[0],
                             c[27] * 10 + c[28], c[0]])  # fmt: skip
    off_m = np.choose(form, [c[0], c[23] * 10 + c[24], c[0], c[27] * 10 + c[28], c[0],
                             c[30] * 10 + c[31], c[0]])  # fmt: skip
    zulu = (form == 2) | (form == 4) | (form == 6)
    ok &= zulu | ((off_h < 24) & (off_m < 60))
    offset = np.where(zulu, 0, np.where(sign == 45, -60, 60) * (off_h * 60 + off_m))
    month_key = np.clip(year, 0, 9_999) * 12 + np.clip(month - 1, 0, 11)
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    ok &= day <= _MONTH_DAYS[month_key]
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    days = _MONTH_FIRST_DAY[month_key] + (day - 1)
    secs = ((days * 24 + hour) * 60 + minute) * 60 + second - offset
    out = np.where(ok, secs * US + frac, 0)
    return out, ok
