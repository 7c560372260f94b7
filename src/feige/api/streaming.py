"""Large JSON answers encoded in slices, so that the event loop serves chat in between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson

# Shops per slice: one shop's figures encode in about 50 µs, so a slice keeps the loop for
# well under a millisecond.
SHOPS_PER_SLICE = 10
_OPTIONS = orjson.OPT_NON_STR_KEYS


async def streamed_assessment(result: dict[str, Any]) -> AsyncIterator[bytes]:
    """``result`` as one JSON object, its ``document["shops"]`` list encoded slice by slice.

    The bytes are those of ``orjson.dumps(result)`` up to key order: every key but the
    document comes first, then the document with its shops last."""
    document = result["document"]
    rest = {key: value for key, value in result.items() if key != "document"}
    head = {key: value for key, value in document.items() if key != "shops"}
    yield _open(rest) + b'"document":' + _open(head) + b'"shops":['
    shops = document["shops"]
    for start in range(0, len(shops), SHOPS_PER_SLICE):
        await asyncio.sleep(0)
        encoded = b",".join(
            orjson.dumps(s, option=_OPTIONS) for s in shops[start : start + SHOPS_PER_SLICE]
        )
        yield (b"," if start else b"") + encoded
    yield b"]}}"


def _open(fields: dict[str, Any]) -> bytes:
    """``fields`` as the start of a JSON object, ready for one more key."""
    if not fields:
        return b"{"
    return orjson.dumps(fields, option=_OPTIONS)[:-1] + b","
