"""The audit log (docs/enforcement.md, "Audit"): every change made by platform staff and by
shop owners and managers, written in the transaction of the change, never edited.

``record`` is the one step; ``audited`` wraps an existing write job with it, so an action
audits its job without the job knowing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection

from feige.domain import Row
from feige.services.context import Principal
from feige.store import accounts as account_store
from feige.store import enforcement as store
from feige.store import quick_replies as quick_reply_store

T = TypeVar("T")
SECRET_FIELDS = frozenset({"password_hash", "password", "token", "token_version"})
AUDIT_FIELDS = (
    "id",
    "at",
    "actor_kind",
    "actor_id",
    "actor_role",
    "shop_id",
    "action",
    "record_kind",
    "record_id",
    "before",
    "after",
    "ip",
    "user_agent",
)


def is_audited(principal: Principal) -> bool:
    """Staff, owners and managers answer for what they do; agents and consumers' acts are
    the chat record itself."""
    return principal.is_staff or principal.is_supervisor


def _clean(value: Any) -> Any:
    """What the log may keep: never a secret, whatever the record holds."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def record(
    conn: Connection,
    principal: Principal,
    action: str,
    record_kind: str,
    record_id: Any,
    *,
    before: Any = None,
    after: Any = None,
    shop_id: int | None = None,
    now: float,
) -> None:
    """One entry: who (and from where), what, on which record, before and after."""
    if not is_audited(principal):
        return
    store.insert_audit(
        conn,
        at=now,
        actor_kind=principal.kind,
        actor_id=principal.id,
        actor_role=principal.role,
        shop_id=shop_id if shop_id is not None else principal.shop_id,
        action=action,
        record_kind=record_kind,
        record_id=None if record_id is None else str(record_id)[:64],
        before=_clean(before),
        after=_clean(after),
        ip=(principal.ip or None) and principal.ip[:64],
        user_agent=(principal.user_agent or None) and principal.user_agent[:256],
    )


def audited(
    job: Callable[..., T],
    principal: Principal,
    action: str,
    record_kind: str,
    now: float,
    *,
    record_id: Any = None,
    before: Callable[[Connection], Any] | None = None,
    shop_id: int | None = None,
) -> Callable[..., T]:
    """``job`` (any write job: ``(conn, …)`` or ``(conn, outbox, …)``) followed by its audit
    entry; the record id defaults to the result's ``id``, ``after`` is the result."""

    def run(conn: Connection, *args: Any) -> T:
        earlier = before(conn) if before is not None else None
        result = job(conn, *args)
        target, shop = record_id, shop_id
        if isinstance(result, dict):
            target = target if target is not None else result.get("id")
            shop = shop if shop is not None else result.get("shop_id")
        record(
            conn,
            principal,
            action,
            record_kind,
            target,
            before=earlier,
            after=result,
            shop_id=shop,
            now=now,
        )
        return result

    return run


def entries(
    conn: Connection,
    filters: dict[str, Any],
    since: float | None,
    until: float | None,
    before_id: int | None,
    limit: int,
) -> list[Row]:
    rows = store.list_audit(conn, filters, since, until, before_id, limit)
    return [{k: r[k] for k in AUDIT_FIELDS} for r in rows]


def snapshot(kind: str, record_id: int) -> Callable[[Connection], Any]:
    """A reader of the record as it is before a change, for ``audited(before=…)``."""

    def read(conn: Connection) -> Any:
        if kind == "shop":
            return account_store.shop_by_id(conn, record_id)
        if kind == "member":
            return account_store.member_by_id(conn, record_id)
        if kind == "staff":
            return account_store.staff_by_id(conn, record_id)
        if kind == "quick_reply":
            return quick_reply_store.quick_reply_by_id(conn, record_id)
        raise ValueError(kind)

    return read


SYSTEM = "system"


def record_system(
    conn: Connection,
    action: str,
    record_kind: str,
    record_id: Any,
    *,
    before: Any = None,
    after: Any = None,
    shop_id: int | None = None,
    now: float,
) -> None:
    """An entry for a change no person made at that moment (a rerun of the weekly assessment
    reversing the measures of a week that now passes): the actor is ``system``, id 0."""
    store.insert_audit(
        conn,
        at=now,
        actor_kind=SYSTEM,
        actor_id=0,
        actor_role=SYSTEM,
        shop_id=shop_id,
        action=action,
        record_kind=record_kind,
        record_id=None if record_id is None else str(record_id)[:64],
        before=_clean(before),
        after=_clean(after),
        ip=None,
        user_agent=None,
    )
