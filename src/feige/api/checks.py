"""Input every route refuses before it reaches a service: ids past 64 bits, lone UTF-16
surrogates and NUL characters. Each would otherwise fail deep in the store (SQLite cannot
bind an int past 2**63 - 1, UTF-8 cannot encode a lone surrogate, PostgreSQL refuses NUL in
text) as a 500, after the job joined a group-commit batch that then rolls back."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import Field

from feige.services.errors import Invalid

MAX_ID = 2**63 - 1  # ids and sequence numbers are 64-bit signed integers in the store

#: A row id in a path, e.g. ``/api/sessions/{session_id}``.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: An optional row id in the query string, e.g. ``?shop_id=``.
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
#: A sequence number in the query string (``?seq=``, ``?after_seq=``).
QuerySeq = Annotated[int, Query(ge=0, le=MAX_ID)]
OptionalQuerySeq = Annotated[int | None, Query(ge=0, le=MAX_ID)]
#: A row id in a JSON body.
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


def odd_text(value: Any) -> str | None:
    """What is wrong with the strings inside a decoded JSON value (keys too), or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "lone UTF-16 surrogate"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = odd_text(key) or odd_text(item)
            if problem:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = odd_text(item)
            if problem:
                return problem
    return None


async def refuse_odd_input(request: Request) -> None:
    """Router dependency: NUL in the path or query string, and NUL or lone surrogates in a
    JSON body, answer 422 before any service runs. Both can only be written as ``\\u``
    escapes in JSON (or ``%00`` in a URL), so bodies without one are not decoded twice."""
    if "\x00" in request.scope.get("path", "") or b"%00" in request.scope.get("query_string", b""):
        raise Invalid(detail="NUL character")
    content_type = request.headers.get("content-type", "")
    if content_type and "json" not in content_type:
        return
    body = await request.body()
    if b"\\u" not in body:
        return
    try:
        decoded = json.loads(body)
    except ValueError:
        return  # not JSON: FastAPI answers 422 for it
    problem = odd_text(decoded)
    if problem:
        raise Invalid(detail=problem)
