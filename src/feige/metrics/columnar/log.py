"""Event-log lines → typed columns (no Python object per event once read), in file order.

Lines are decoded about 1 MB at a time by msgspec into typed rows (one C call), and the rows
into columns by a few C-level passes; any part with a line that is not an ordinary event of the
format is read line by line with the reference validation
(:func:`feige.metrics.events.record_from_obj`), so both engines accept, reject and name exactly
the same lines.
"""

from __future__ import annotations

from array import array
from collections import deque
from itertools import count, repeat
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np
import orjson

from feige.domain import Entry, EventType, FlagReason, MessageKind, SenderRole
from feige.metrics.columnar.arrays import I64, Columns, factorize
from feige.metrics.columnar.timestamps import parse_ts_column
from feige.metrics.events import (
    ASSIGNED,
    BUYER,
    FLAGGED,
    KINDS,
    OPEN,
    RATED,
    ROLE_CODE,
    SYSTEM,
    TRANSFERRED,
    TYPE_CODE,
    located_error,
    record_from_obj,
)
from feige.metrics.timeutil import parse_ts_us

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
_TYPE_OF: dict[EventType, int] = {EventType(k): v for k, v in TYPE_CODE.items()}
_TYPE_OF[EventType.MESSAGE] = _MESSAGE
_ROLE_OF: dict[SenderRole | None, int] = {SenderRole(k): v for k, v in ROLE_CODE.items()}
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
        self.before: list[Columns] = []
        self.after: list[Columns] = []

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
        local, names, first = factorize(sessions)
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
            local, keys, _ = factorize(list(zip(shops, sessions, strict=True)))
            ids = np.fromiter(map(self.keys.get, keys, repeat(-1)), np.int64, len(keys))
            missing = np.flatnonzero(ids < 0)
            fresh = [keys[i] for i in missing.tolist()]
            if not all(shop and session for shop, session in fresh):
                return None
            ids[missing] = np.arange(len(fresh)) + self._add_sessions(fresh)
            gid = ids[local]
        local, names, _ = factorize(agent_names)
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
        role_code, kinds = ROLE_CODE, KINDS
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
                raise located_error(
                    first_line, lines, seq - base, offset, f"not valid JSON ({exc})"
                ) from None
            except Exception:
                pass
            try:
                shop, session, rec = record_from_obj(obj, seq)
            except ValueError as exc:
                raise located_error(first_line, lines, seq - base, offset, str(exc)) from None
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

    def arrays(self) -> Columns:
        """Every row, this log's own and those merged from other workers, in file order."""
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


def _raise_first_error(lines: list[bytes], offset: int, first_line: int | None) -> None:
    """Re-read a block the reference way; raises the first line's error, if any."""
    base = offset << 24
    for seq, line in enumerate(lines, base):
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.strip():
                continue
            raise located_error(
                first_line, lines, seq - base, offset, f"not valid JSON ({exc})"
            ) from None
        try:
            record_from_obj(obj, seq)
        except ValueError as exc:
            raise located_error(first_line, lines, seq - base, offset, str(exc)) from None
