"""An agent's quick replies: shop-wide ones (set by supervisors) and its own."""

from __future__ import annotations

from feige.domain import Row
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid
from feige.services.lib import audit, quick_replies, screening


def _member_shop(principal: Principal) -> int:
    if principal.kind != "member" or principal.shop_id is None:
        raise Forbidden()
    return principal.shop_id


async def list_quick_replies(ctx: Context, principal: Principal, query: str | None) -> list[Row]:
    shop_id = _member_shop(principal)
    return await ctx.db.read(quick_replies.replies_for, shop_id, principal.id, query or None)


async def create_quick_reply(
    ctx: Context, principal: Principal, title: str, content: str, scope: str
) -> Row:
    shop_id = _member_shop(principal)
    if scope not in ("shop", "personal"):
        raise Invalid(detail="scope")
    if scope == "shop" and not principal.is_supervisor:
        raise Forbidden()
    title, content = title.strip(), content.strip()
    if not (1 <= len(title) <= 64) or not (1 <= len(content) <= ctx.settings.max_text_chars):
        raise Invalid(detail="title / content")
    screening.require_clean(ctx, title=title, content=content)
    values = {
        "shop_id": shop_id,
        "member_id": principal.id if scope == "personal" else None,
        "title": title,
        "content": content,
        "created_at": ctx.clock(),
    }
    job = audit.audited(
        quick_replies.add_reply, principal, "quick_reply.create", "quick_reply", ctx.clock()
    )
    return await ctx.db.write(job, values)


async def delete_quick_reply(ctx: Context, principal: Principal, reply_id: int) -> None:
    shop_id = _member_shop(principal)
    job = audit.audited(
        quick_replies.delete_reply,
        principal,
        "quick_reply.delete",
        "quick_reply",
        ctx.clock(),
        record_id=reply_id,
        before=audit.snapshot("quick_reply", reply_id),
    )
    await ctx.db.write(job, shop_id, principal.id, principal.is_supervisor, reply_id)
