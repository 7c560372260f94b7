"""The shop robot's knowledge base: read by the shop's members, edited by its supervisors
(owners and managers); every answer passes the compliance engine when saved (a robot must not
divert buyers: docs/rules.md 2.2.3–2.2.10)."""

from __future__ import annotations

import asyncio
from typing import Any

from feige.domain import Row
from feige.robot import AnswerContext, KnowledgeEntry
from feige.robot.entries import unknown_placeholders
from feige.robot.knowledge_file import (
    KnowledgeFileError,
    parse_knowledge,
    write_csv,
    write_xlsx,
)
from feige.services.context import Context, Principal
from feige.services.errors import Forbidden, Invalid
from feige.services.lib import knowledge, screening


def _member_shop(principal: Principal) -> int:
    if principal.kind != "member" or principal.shop_id is None:
        raise Forbidden()
    return principal.shop_id


def _supervised_shop(principal: Principal) -> int:
    shop_id = _member_shop(principal)
    if not principal.is_supervisor:
        raise Forbidden()
    return shop_id


def _require_compliant(ctx: Context, entries: list[KnowledgeEntry], lang: str | None) -> None:
    """Every answer must be one an agent could send; a refused one names its row."""
    refused: list[str] = []
    for number, entry in enumerate(entries, start=2):
        try:
            screening.require_clean(ctx, answer=entry.answer)
        except Invalid as exc:
            refused.append(f"{number}: {exc.message(lang)}")
    if refused:
        raise Invalid("knowledge_file", rows=refused, detail="; ".join(refused[:20]))


async def list_knowledge(ctx: Context, principal: Principal) -> Row:
    shop_id = _member_shop(principal)
    return await ctx.db.read(knowledge.knowledge_view, shop_id)


async def put_entry(ctx: Context, principal: Principal, fields: dict[str, Any]) -> Row:
    shop_id = _supervised_shop(principal)
    similar = tuple(dict.fromkeys(s.strip() for s in fields["similar_questions"] if s.strip()))
    entry = KnowledgeEntry(
        question=fields["question"].strip(),
        answer=fields["answer"].strip(),
        similar=similar,
        category=fields["category"].strip(),
        enabled=fields["enabled"],
    )
    if not entry.question or not entry.answer or any("|" in s for s in similar):
        raise Invalid(detail="question / answer / similar_questions")
    unknown = unknown_placeholders(entry.answer)
    if unknown:
        raise Invalid(detail=f"unknown placeholder {{{unknown[0]}}}")
    screening.require_clean(ctx, answer=entry.answer)
    return await ctx.db.write(knowledge.put_entry, shop_id, entry, ctx.clock())


async def remove_entry(ctx: Context, principal: Principal, question: str) -> None:
    shop_id = _supervised_shop(principal)
    await ctx.db.write(knowledge.remove_entry, shop_id, question)


async def import_file(
    ctx: Context, principal: Principal, data: bytes, filename: str, lang: str | None
) -> Row:
    """Replace the shop's entries with the file's: every row good and compliant, or nothing."""
    shop_id = _supervised_shop(principal)
    try:
        entries = parse_knowledge(data, filename)
    except KnowledgeFileError as exc:
        messages = exc.messages("en" if (lang or "").startswith("en") else "zh")
        raise Invalid("knowledge_file", rows=messages, detail="; ".join(messages[:20])) from None
    _require_compliant(ctx, entries, lang)
    count = await ctx.db.write(knowledge.replace_entries, shop_id, entries, ctx.clock())
    return {"imported": count}


async def export_file(ctx: Context, principal: Principal, fmt: str) -> bytes:
    shop_id = _member_shop(principal)
    entries = await ctx.db.read(knowledge.shop_entries, shop_id)
    return write_xlsx(entries) if fmt == "xlsx" else write_csv(entries)


async def try_answer(
    ctx: Context, principal: Principal, question: str, context: dict[str, Any]
) -> Row:
    """What the shop's robot would answer (for a supervisor or agent trying it out)."""
    shop_id = _member_shop(principal)
    entries = tuple(await ctx.db.read(knowledge.shop_entries, shop_id))
    robot = await asyncio.to_thread(knowledge.robot_for, entries, ctx.settings.robot_word_vectors)
    answer = robot.answer(question, AnswerContext(**context))
    return {**answer.to_json(None), "reason": answer.reason}
