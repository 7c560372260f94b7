"""Array helpers of the column engine: grouping, first/last per group, stable orders."""

from __future__ import annotations

from itertools import count
from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
BOOL = npt.NDArray[np.bool_]
BIG = np.iinfo(np.int64).max
Columns = tuple[I64, I8, I32, I32]
"""(ts µs, code, session gid, aux) of :class:`feige.metrics.columnar.log.ColumnLog`."""


def factorize(values: list[Any]) -> tuple[I64, list[Any], I64]:
    """Values → (each row's index into the distinct values, the distinct values in order of
    first appearance, the row of each one's first appearance). A dict of one block's distinct
    values stays in the CPU caches, unlike the tables of a whole log."""
    n = len(values)
    seen: dict[Any, int] = {}
    first_of_row = np.fromiter(map(seen.setdefault, values, count()), np.int64, n)
    is_first = np.zeros(n, np.bool_)
    is_first[first_of_row] = True
    return (np.cumsum(is_first) - 1)[first_of_row], list(seen), np.flatnonzero(is_first)


def stable_order(gid: npt.NDArray[np.int32]) -> I64:
    """``np.argsort(gid, kind="stable")``, faster: one sort of (gid, row) packed in an int64."""
    n = len(gid)
    bits = n.bit_length()
    if n == 0 or int(gid.max()).bit_length() + bits > 62:
        return np.argsort(gid, kind="stable").astype(np.int64)
    key = (gid.astype(np.int64) << bits) | np.arange(n, dtype=np.int64)
    key.sort()
    return key & ((1 << bits) - 1)


def first_per_group(
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


def next_true(flags: BOOL) -> I64:
    """For each position, the smallest index ≥ it where ``flags``; len(flags) when none."""
    n = len(flags)
    cand = np.where(flags, np.arange(n, dtype=np.int64), n)
    return np.minimum.accumulate(cand[::-1])[::-1]


def int_sums(inv: npt.NDArray[np.intp], values: I64, size: int) -> I64:
    """Sum of ``values`` per index ``inv`` (a bincount of integers, exact past 2**53)."""
    out = np.zeros(size, np.int64)
    np.add.at(out, inv, values)
    return out
