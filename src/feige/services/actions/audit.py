"""The audit log, read by platform admins: filtered pages and a CSV export
(docs/enforcement.md, "Audit"). Nothing edits it: there is no action that could."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from feige.domain import Row
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden
from feige.services.lib import audit
from feige.services.lib.audit import AUDIT_FIELDS

EXPORT_ROWS = 100_000  # one export's most rows; page on with ``before_id`` for more
PAGE = 500


def _admin_only(principal: Principal) -> None:
    if not principal.is_staff or principal.role != "admin":
        raise Forbidden()


async def query(
    ctx: Context,
    principal: Principal,
    filters: dict[str, Any],
    since: float | None,
    until: float | None,
    before_id: int | None,
    limit: int,
) -> list[Row]:
    """Newest first; page with ``before_id`` = the last id of the page before."""
    _admin_only(principal)
    limit = max(1, min(limit, PAGE))
    return await ctx.db.read(audit.entries, filters, since, until, before_id, limit)


async def export_csv(
    ctx: Context,
    principal: Principal,
    filters: dict[str, Any],
    since: float | None,
    until: float | None,
    before_id: int | None,
) -> str:
    """The same entries as ``query`` as CSV (before/after as JSON), at most EXPORT_ROWS."""
    _admin_only(principal)
    rows = await ctx.db.read(audit.entries, filters, since, until, before_id, EXPORT_ROWS)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_FIELDS)
    for row in rows:
        writer.writerow(
            [
                _cell(orjson.dumps(row[k]).decode() if k in ("before", "after") else row[k])
                for k in AUDIT_FIELDS
            ]
        )
    return out.getvalue()


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula is quoted (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
