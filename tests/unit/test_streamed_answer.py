"""The rerun's answer, encoded in slices, is the same JSON as one encoding of it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from feige.api.streaming import SHOPS_PER_SLICE, streamed_assessment


def _joined(result: dict[str, Any]) -> Any:
    async def collect() -> bytes:
        return b"".join([part async for part in streamed_assessment(result)])

    return orjson.loads(asyncio.run(collect()))


@pytest.mark.parametrize("shops", [0, 1, SHOPS_PER_SLICE, SHOPS_PER_SLICE * 3 + 7])
def test_same_document_whatever_the_number_of_shops(shops: int) -> None:
    result = {
        "document": {
            "week": "2026-W47",
            "shops": [{"shop": str(i), "metrics": {"x": {1: i}}} for i in range(shops)],
        },
        "measures": [{"shop": "1", "at": datetime(2026, 11, 24, tzinfo=UTC)}],
        "no_human_reply": 2,
    }
    expected = orjson.loads(orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS))
    assert _joined(result) == expected


def test_a_document_of_shops_alone() -> None:
    result = {"document": {"shops": [{"shop": "1"}]}}
    assert _joined(result) == {"document": {"shops": [{"shop": "1"}]}}
