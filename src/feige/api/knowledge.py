"""REST for the shop robot's knowledge base (docs/robot.md): list, save, delete, import and
export (CSV/XLSX), and trying the robot. Thin: each route validates and calls one action."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from feige.api.checks import refuse_odd_input
from feige.api.deps import Caller, Ctx, language
from feige.robot.knowledge_file import MAX_ANSWER, MAX_CATEGORY, MAX_QUESTION, MAX_SIMILAR
from feige.services.actions import knowledge as knowledge_actions
from feige.services.errors import Invalid

router = APIRouter(dependencies=[Depends(refuse_odd_input)], tags=["robot"])
Json = dict[str, Any]
MAX_FILE_BYTES = 5 * 1024 * 1024

Question = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION)]


class EntryIn(BaseModel):
    question: Question
    similar_questions: list[Question] = Field(default_factory=list, max_length=MAX_SIMILAR)
    answer: str = Field(min_length=1, max_length=MAX_ANSWER)
    category: str = Field(default="", max_length=MAX_CATEGORY)
    enabled: bool = True


class ContextIn(BaseModel):
    product_title: str | None = Field(default=None, max_length=200)
    product_price: str | None = Field(default=None, max_length=32)
    product_id: str | None = Field(default=None, max_length=64)
    order_id: str | None = Field(default=None, max_length=64)
    order_status: str | None = Field(default=None, max_length=64)
    shop_name: str | None = Field(default=None, max_length=128)


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=500)
    context: ContextIn = Field(default_factory=ContextIn)


@router.get("/api/knowledge")
async def list_knowledge(ctx: Ctx, caller: Caller) -> Json:
    """The shop's own entries and the platform's defaults (each marked ``overridden`` when
    the shop has an entry with its question)."""
    return await knowledge_actions.list_knowledge(ctx, caller)


@router.put("/api/knowledge")
async def put_entry(ctx: Ctx, caller: Caller, body: EntryIn) -> Json:
    """Create or replace the shop's entry for this standard question (owners and managers).
    A default's question overrides the default; ``enabled: false`` disables it. The answer
    must pass the compliance engine (422 ``content_refused``)."""
    return await knowledge_actions.put_entry(ctx, caller, body.model_dump())


@router.delete("/api/knowledge")
async def delete_entry(
    ctx: Ctx, caller: Caller, question: Annotated[str, Query(min_length=1, max_length=200)]
) -> Json:
    """Delete the shop's entry for this standard question (a default it overrode is back)."""
    await knowledge_actions.remove_entry(ctx, caller, question)
    return {"ok": True}


@router.post("/api/knowledge/import")
async def import_knowledge(
    request: Request, ctx: Ctx, caller: Caller, file: Annotated[UploadFile, File()]
) -> Json:
    """Replace the shop's entries with a CSV or XLSX file (docs/robot.md, "The knowledge file
    format"). Every row must be well formed and every answer compliant; otherwise nothing is
    imported and 422 ``knowledge_file`` lists the rows (``params.rows``)."""
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise Invalid("too_large", limit=MAX_FILE_BYTES)
    return await knowledge_actions.import_file(
        ctx, caller, data, file.filename or "", language(request)
    )


@router.get("/api/knowledge/export")
async def export_knowledge(
    ctx: Ctx, caller: Caller, format: Literal["csv", "xlsx"] = "csv"
) -> Response:
    """The shop's own entries in the import format."""
    data = await knowledge_actions.export_file(ctx, caller, format)
    media = (
        "text/csv; charset=utf-8"
        if format == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(
        data,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="knowledge.{format}"'},
    )


@router.post("/api/knowledge/answer")
async def try_answer(ctx: Ctx, caller: Caller, body: AskIn) -> Json:
    """What the shop's robot would answer to a question, as ``feige robot answer`` prints it,
    plus ``reason`` (docs/interfaces.md)."""
    context = {k: v for k, v in body.context.model_dump().items() if v is not None}
    return await knowledge_actions.try_answer(ctx, caller, body.question, context)
