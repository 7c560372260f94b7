"""Typed columns → a week's per-shop results, with array operations over every event at once.

The same definitions as the per-session replay (:mod:`feige.metrics.summary`) and its
aggregation (:mod:`feige.metrics.assessment`, docs/rules.md §3), in phases: sort the rows by
session, find each session's facts (entry, agents, rating, flags), its rounds, its no-service
conditions, which of them fall in the week and its assessment hours, then add them up per
shop, per agent and per local day into a :class:`WeekAggregator`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from feige.domain import US_PER_SECOND
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
from feige.metrics.columnar.arrays import (
    BIG,
    BOOL,
    I8,
    I32,
    I64,
    first_per_group,
    int_sums,
    next_true,
    stable_order,
)
from feige.metrics.columnar.log import ColumnLog
from feige.metrics.config import DEFAULT_CONFIG, AssessmentConfig
from feige.metrics.events import (
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
    TRANSFERRED,
)
from feige.metrics.timeutil import DAY_US, LocalClock

Slots = dict[int, BOOL | I64]  # accumulator slot → a value (or a 0/1 flag) per item


def assess_columns(
    cols: ColumnLog, week: Week, config: AssessmentConfig = DEFAULT_CONFIG
) -> list[dict[str, Any]]:
    """All sessions of ``cols`` → per-shop results for ``week`` (as WeekAggregator renders)."""
    rows = _sorted_rows(cols)
    if rows is None:
        return []
    sessions = _session_facts(rows)
    rounds = _rounds(rows, sessions, config)
    no_service = sessions.human & (
        _waited_too_long(rows, sessions, config)
        | (sessions.has_agent & (sessions.staff == 0))
        | (sessions.has_agent & rounds.last_unanswered)
    )
    agg = WeekAggregator(week, config)
    _accumulate(agg, cols, rows, sessions, rounds, no_service, week, config)
    return agg.shop_results()


@dataclass(frozen=True, slots=True)
class _Rows:
    """Every event, sorted by session, then time, then file order."""

    ts: I64
    code: I8
    gid: I32
    aux: I32
    idx: I64  # each row's position
    seg_start: I64  # each session's first row
    counts: I64  # each session's number of rows (0: handed to another worker)
    n_groups: int


def _sorted_rows(cols: ColumnLog) -> _Rows | None:
    """The rows in session order; None when there are none. Logs are mostly in time order
    within a session, so a stable sort by session usually suffices; checked, else sorted fully."""
    ts, code, gid, aux = cols.arrays()
    n_groups = len(cols.key_list)
    if len(ts) == 0:
        return None
    order = stable_order(gid)
    g_sorted = gid[order]
    t_sorted = ts[order]
    if bool(np.any((t_sorted[1:] < t_sorted[:-1]) & (g_sorted[1:] == g_sorted[:-1]))):
        order = np.lexsort((ts, gid))
    counts = np.bincount(gid, minlength=n_groups)
    seg_start = np.zeros(n_groups, np.int64)
    seg_start[1:] = np.cumsum(counts)[:-1]
    return _Rows(
        ts[order],
        code[order],
        gid[order],
        aux[order],
        np.arange(len(ts), dtype=np.int64),
        seg_start,
        counts,
        n_groups,
    )


@dataclass(frozen=True, slots=True)
class _Sessions:
    """Per row: before the close, routing. Per session: everything else."""

    alive: BOOL  # row before the session's first close
    is_routing: BOOL  # live queued / offline / assigned / transferred row
    entry_pos: I64  # row of the human entry; BIG when none
    human: BOOL
    entry_ts: I64  # 0 when not human
    staff: I64  # agent + robot_assist messages
    has_agent: BOOL
    final_agent: I64  # -1 when none
    rating: I64  # last score; 0 when not rated
    invalid: BOOL
    anchor: I64  # the time that puts the session in a week: human entry, else opening


def _session_facts(rows: _Rows) -> _Sessions:
    ts, code, gid, aux, idx, n_groups = (
        rows.ts,
        rows.code,
        rows.gid,
        rows.aux,
        rows.idx,
        rows.n_groups,
    )
    n = len(ts)
    closed_pos = first_per_group(code == CLOSED, gid, n_groups)
    alive = idx < closed_pos[gid]
    is_routing = alive & (code >= QUEUED) & (code <= TRANSFERRED)
    entry_pos = first_per_group(is_routing, gid, n_groups)
    human = entry_pos < BIG
    entry_ts = np.where(human, ts[np.minimum(entry_pos, n - 1)], 0)
    is_staff = alive & ((code == AGENT) | (code == ROBOT_ASSIST))
    staff = np.bincount(gid[is_staff], minlength=n_groups)
    agent_rows = is_routing & ((code == ASSIGNED) | (code == TRANSFERRED))
    last_agent_row = first_per_group(agent_rows, gid, n_groups, last=True)
    has_agent = last_agent_row >= 0
    final_agent = np.where(has_agent, aux[np.maximum(last_agent_row, 0)], -1)
    last_rated = first_per_group(code == RATED, gid, n_groups, last=True)
    rating = np.where(last_rated >= 0, aux[np.maximum(last_rated, 0)], 0)
    invalid = np.bincount(gid[code == FLAGGED], minlength=n_groups) > 0
    first_open = first_per_group(code == OPEN, gid, n_groups)
    opened = np.where(
        first_open < BIG, ts[np.minimum(first_open, n - 1)], ts[np.minimum(rows.seg_start, n - 1)]
    )
    return _Sessions(
        alive,
        is_routing,
        entry_pos,
        human,
        entry_ts,
        staff,
        has_agent,
        final_agent.astype(np.int64),
        rating.astype(np.int64),
        invalid,
        np.where(human, entry_ts, opened),
    )


@dataclass(frozen=True, slots=True)
class _Rounds:
    """Per round (in session order): its session, start, answer and agent. Per session: the
    round counts the no-service and first-response figures need."""

    gid: I64
    start: I64
    answered: BOOL
    raw: I64  # answer − start; meaningless when not answered
    response: I64  # raw capped at the response cap; the cap when not answered
    agent: I64  # who answered, else the agent at the start; -1 for none
    per_session: I64  # number of rounds
    last_unanswered: BOOL
    first_response: I64  # the first round's capped response; 0 without rounds


def _rounds(rows: _Rows, sessions: _Sessions, config: AssessmentConfig) -> _Rounds:
    """Buyer rounds (docs/rules.md §3 (1)): from a buyer message after the human entry (or
    one still unanswered at the entry, which opens a round there) to the next staff message."""
    ts, code, gid, aux, idx, n_groups = (
        rows.ts,
        rows.code,
        rows.gid,
        rows.aux,
        rows.idx,
        rows.n_groups,
    )
    alive, entry_pos, human = sessions.alive, sessions.entry_pos, sessions.human
    pre = alive & (code >= BUYER) & (code <= ROBOT) & (idx < entry_pos[gid])
    last_pre = first_per_group(pre, gid, n_groups, last=True)
    pending = human & (last_pre >= 0) & (code[np.maximum(last_pre, 0)] == BUYER)

    post = alive & (code >= BUYER) & (code <= ROBOT_ASSIST) & (idx > entry_pos[gid])
    pos = np.sort(np.concatenate([np.flatnonzero(post), entry_pos[pending]]))
    pg = gid[pos]
    pbuyer = code[pos] <= BUYER  # routing codes mark the virtual buyer at the entry
    same_prev = np.r_[False, pg[1:] == pg[:-1]]
    prev_buyer = np.r_[False, pbuyer[:-1]]
    starts = np.flatnonzero(pbuyer & ~(same_prev & prev_buyer))
    nxt = next_true(~pbuyer)[starts]
    answered = nxt < len(pos)
    nxt_c = np.minimum(nxt, len(pos) - 1) if len(pos) else nxt
    answered &= pg[nxt_c] == pg[starts] if len(pos) else answered
    r_gid = pg[starts].astype(np.int64)
    r_start_pos = pos[starts]
    r_start = ts[r_start_pos]
    r_ans_pos = np.where(answered, pos[nxt_c], -1) if len(pos) else nxt
    r_answer = np.where(answered, ts[np.maximum(r_ans_pos, 0)], 0)
    cap = config.response_cap_seconds * US_PER_SECOND
    raw = r_answer - r_start
    response = np.where(answered, np.minimum(raw, cap), cap)

    # The current agent at a row: the last live routing event at or before it.
    last_r = np.maximum.accumulate(np.where(sessions.is_routing, idx, -1))

    def agent_at(p: I64) -> I64:
        lr = last_r[p]
        ok = (lr >= rows.seg_start[gid[p]]) & (lr >= 0)
        lr0 = np.maximum(lr, 0)
        assigned = ok & ((code[lr0] == ASSIGNED) | (code[lr0] == TRANSFERRED))
        return np.where(assigned, aux[lr0], -1).astype(np.int64)

    ans_agent = np.where(answered, aux[np.maximum(r_ans_pos, 0)], -1).astype(np.int64)
    r_agent = np.where(
        answered & (ans_agent >= 0),
        ans_agent,
        np.where(answered, agent_at(np.maximum(r_ans_pos, 0)), agent_at(r_start_pos)),
    )

    per_session = np.bincount(r_gid, minlength=n_groups)
    last_round = np.full(n_groups, -1, np.int64)
    first_round = np.full(n_groups, -1, np.int64)
    if len(r_gid):
        last_sel = np.r_[r_gid[1:] != r_gid[:-1], True]
        last_round[r_gid[last_sel]] = np.flatnonzero(last_sel)
        first_sel = np.r_[True, r_gid[1:] != r_gid[:-1]]
        first_round[r_gid[first_sel]] = np.flatnonzero(first_sel)
        last_unanswered = (last_round >= 0) & ~answered[np.maximum(last_round, 0)]
        first_response = np.where(per_session > 0, response[np.maximum(first_round, 0)], 0)
    else:
        last_unanswered = np.zeros(n_groups, np.bool_)
        first_response = np.zeros(n_groups, np.int64)
    return _Rounds(
        r_gid,
        r_start,
        answered,
        raw,
        response,
        r_agent,
        per_session,
        last_unanswered,
        first_response,
    )


def _waited_too_long(rows: _Rows, sessions: _Sessions, config: AssessmentConfig) -> BOOL:
    """No-service condition 1 (docs/rules.md §3 (1)): a wait for human service (queued or
    offline until an agent took it) longer than the limit, or never taken."""
    ts, code, gid = rows.ts, rows.code, rows.gid
    rpos = np.flatnonzero(sessions.is_routing)
    rg = gid[rpos]
    rw = code[rpos] <= OFFLINE
    r_same = np.r_[False, rg[1:] == rg[:-1]]
    r_prev_w = np.r_[False, rw[:-1]]
    w_starts = np.flatnonzero(rw & ~(r_same & r_prev_w))
    w_next = next_true(~rw)[w_starts]
    w_end_ok = w_next < len(rpos)
    w_next_c = np.minimum(w_next, max(len(rpos) - 1, 0))
    if len(rpos):
        w_end_ok &= rg[w_next_c] == rg[w_starts]
    limit = config.no_service_wait_seconds * US_PER_SECOND
    w_bad = ~w_end_ok
    if len(rpos):
        w_bad |= (ts[rpos[w_next_c]] - ts[rpos[w_starts]]) > limit
    waited = np.zeros(rows.n_groups, np.bool_)
    waited[rg[w_starts][w_bad]] = True
    return waited


class _LocalTime:
    """Epoch µs → local wall-clock µs for whole arrays (one zone look-up per 15 minutes)."""

    def __init__(self, config: AssessmentConfig) -> None:
        self.clock = LocalClock(config.timezone)
        self.lo = config.hours_start_s * US_PER_SECOND
        self.hi = (config.hours_end_s + 1) * US_PER_SECOND

    def local(self, us: I64) -> I64:
        quarter = 900 * US_PER_SECOND
        buckets = us // quarter
        uniq, inv = np.unique(buckets, return_inverse=True)
        offs = np.array([self.clock.offset_us(int(b) * quarter) for b in uniq], np.int64)
        return us + offs[inv]

    def day(self, us: I64) -> I64:
        return self.local(us) // DAY_US

    def in_hours(self, us: I64) -> BOOL:
        tod = self.local(us) % DAY_US
        return (tod >= self.lo) & (tod < self.hi)


def _accumulate(
    agg: WeekAggregator,
    cols: ColumnLog,
    rows: _Rows,
    sessions: _Sessions,
    rounds: _Rounds,
    no_service: BOOL,
    week: Week,
    config: AssessmentConfig,
) -> None:
    """What falls in the week and its hours (docs/rules.md §3), added up per shop, per
    (shop, agent) and per (shop, local day) into ``agg``."""
    n_groups = rows.n_groups
    time = _LocalTime(config)
    w0, w1 = week.start_us, week.end_us
    human, entry_ts = sessions.human, sessions.entry_ts
    anchored = (sessions.anchor >= w0) & (sessions.anchor < w1) & (rows.counts > 0)
    valid_human = human & ~sessions.invalid
    assessed = anchored & valid_human & time.in_hours(entry_ts)
    r_gid, r_start, answered, raw = rounds.gid, rounds.start, rounds.answered, rounds.raw
    r_assessed = time.in_hours(r_start) & valid_human[r_gid] & (r_start >= w0) & (r_start < w1)
    in_time = answered & (raw <= config.in_time_seconds * US_PER_SECOND)
    quick = answered & (raw <= config.n_second_seconds * US_PER_SECOND)
    week_rounds = np.bincount(r_gid[r_assessed], minlength=n_groups)
    week_rounds_in_time = np.bincount(r_gid[r_assessed & in_time], minlength=n_groups)
    has_round = rounds.per_session > 0
    rated = sessions.rating > 0
    dissatisfied = rated & np.isin(sessions.rating, np.array(config.dissatisfied_scores, np.int64))

    session_slots: Slots = {
        TOTAL: anchored,
        HUMAN: anchored & human,
        INVALID: anchored & sessions.invalid,
        PURE_ROBOT: anchored & ~human,
    }
    assessed_slots: Slots = {
        ASSESSED: assessed,
        NO_SERVICE: assessed & no_service,
        TMR_DEN: assessed & (week_rounds > 0),
        TMR_NUM: assessed & (week_rounds > 0) & (week_rounds_in_time == week_rounds),
        RATED_N: assessed & rated,
        DISSATISFIED: assessed & dissatisfied,
        FR_DEN: assessed & has_round,
        FR_SUM_US: np.where(assessed & has_round, rounds.first_response, 0),
    }
    round_slots: Slots = {
        ROUNDS: r_assessed,
        RESP_SUM_US: np.where(r_assessed, rounds.response, 0),
        ANSWERED: r_assessed & answered,
        NSEC_NUM: r_assessed & quick,
    }
    sums = _Sums(agg, cols)
    g_shop = np.frombuffer(cols.session_shop, np.int32).astype(np.int64)
    sums.add("shop", g_shop, None, session_slots, anchored)
    sums.add("day", g_shop, time.day(sessions.anchor), session_slots, anchored)
    sums.add("shop", g_shop, None, assessed_slots, assessed)
    sums.add("agent", g_shop, sessions.final_agent, assessed_slots, assessed)
    sums.add("day", g_shop, time.day(entry_ts), assessed_slots, assessed)
    r_shop = g_shop[r_gid]
    sums.add("shop", r_shop, None, round_slots, r_assessed)
    sums.add("agent", r_shop, rounds.agent, round_slots, r_assessed)
    sums.add("day", r_shop, time.day(r_start), round_slots, r_assessed)


class _Sums:
    """Adds slot values up per (shop, sub-key) with one bincount per slot, then into the
    aggregator's accumulators: the shop's, an agent's or a local day's."""

    def __init__(self, agg: WeekAggregator, cols: ColumnLog) -> None:
        self.agg = agg
        self.shop_names = cols.shop_list
        self.agent_names = cols.agent_list

    def add(self, target: str, keys: I64, sub: I64 | None, slots: Slots, mask: BOOL) -> None:
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
                sums[slot] = int_sums(inv, arr.astype(np.int64), size)
        for j in range(size):
            into = self._accumulator(
                target, self.shop_names[int(uniq[j] // span)], int(uniq[j] % span) + smin
            )
            for slot, arr2 in sums.items():
                into[slot] += int(arr2[j])

    def _accumulator(self, target: str, shop: str, sub_key: int) -> list[int]:
        accs = self.agg.accumulators(shop)
        if target == "shop":
            return accs.shop
        if target == "agent":
            name = self.agent_names[sub_key] if sub_key >= 0 else None
            return accs.agents.get(name) or accs.agents.setdefault(name, new_acc())
        return accs.days.get(sub_key) or accs.days.setdefault(sub_key, new_acc())
