"""The knowledge file format: CSV and XLSX round trips, per-row errors, nothing half-read."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from feige.robot import KnowledgeEntry
from feige.robot.knowledge_file import (
    KnowledgeFileError,
    parse_csv,
    parse_knowledge,
    parse_xlsx,
    write_csv,
    write_xlsx,
)

GOOD = (
    "question,similar_questions,answer,category\n多久发货,什么时候发货|几天能发,48小时内发货,物流\n"
)


def test_csv_with_and_without_bom_reads_the_same() -> None:
    plain = parse_csv(GOOD.encode())
    bom = parse_csv(b"\xef\xbb\xbf" + GOOD.encode())
    assert (
        plain
        == bom
        == [KnowledgeEntry("多久发货", "48小时内发货", ("什么时候发货", "几天能发"), "物流")]
    )


def test_round_trips_through_csv_and_xlsx() -> None:
    entries = [
        KnowledgeEntry("能开发票吗", "可以，含“引号”, 逗号", ("开票吗",), "发票"),
        KnowledgeEntry("商品多少钱", "{商品标题}现价{商品价格}元", (), ""),
    ]
    assert parse_csv(write_csv(entries)) == entries
    assert parse_csv(write_csv(entries, bom=False)) == entries
    assert parse_xlsx(write_xlsx(entries)) == entries
    assert parse_knowledge(write_xlsx(entries), "KB.XLSX") == entries


def test_xlsx_export_leaves_out_control_characters_excel_cannot_hold() -> None:
    entries = [KnowledgeEntry("发货\x1b时间", "48小时\x00内", ("几天\x07发",), "物流\x1f")]
    assert parse_xlsx(write_xlsx(entries)) == [
        KnowledgeEntry("发货时间", "48小时内", ("几天发",), "物流")
    ]


def test_every_bad_row_is_reported_and_nothing_is_read() -> None:
    data = (
        "question,similar_questions,answer,category\n"
        "多久发货,,48小时内发货,物流\n"
        ",,没有问题,物流\n"
        "包邮吗,,,物流\n"
        "多久发货,,重复,物流\n"
        "多少钱,,{价格}元,商品\n"
        "太多列,,a,b,c\n"
    ).encode()
    with pytest.raises(KnowledgeFileError) as caught:
        parse_csv(data)
    got = [(e.row, e.key) for e in caught.value.errors]
    assert got == [
        (3, "question_empty"),
        (4, "answer_empty"),
        (5, "duplicate_question"),
        (6, "unknown_placeholder"),
        (7, "column_count"),
    ]
    zh, en = caught.value.messages("zh"), caught.value.messages("en")
    assert zh[2] == "第 5 行：标准问题“多久发货”与第 2 行重复"
    assert en[3] == "row 6: The answer has an unknown placeholder {价格}"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"", "empty_file"),
        ("问题,答案\n多久发货,48小时\n".encode(), "bad_header"),
        (b"question,similar_questions,answer,category\n", "no_entries"),
        ("question,similar_questions,answer,category\n多久,,发货,\n".encode("gbk"), "not_utf8"),
    ],
)
def test_file_level_errors(data: bytes, key: str) -> None:
    with pytest.raises(KnowledgeFileError) as caught:
        parse_csv(data)
    assert [e.key for e in caught.value.errors] == [key]


def test_xlsx_errors_name_the_spreadsheet_row() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["question", "similar_questions", "answer", "category"])
    sheet.append(["多久发货", None, "48小时内发货", "物流"])
    sheet.append(["包邮吗", None, None, "物流"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(KnowledgeFileError) as caught:
        parse_xlsx(out.getvalue())
    assert [(e.row, e.key) for e in caught.value.errors] == [(3, "answer_empty")]
    with pytest.raises(KnowledgeFileError):
        parse_xlsx(b"not a workbook")
    with pytest.raises(KnowledgeFileError):
        parse_knowledge(b"x", "kb.txt")
