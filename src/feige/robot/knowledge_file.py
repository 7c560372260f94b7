"""Knowledge files: CSV and XLSX in and out, bytes to entries and back (no I/O).

The format merchants edit in Excel::

    question,similar_questions,answer,category
    多久发货,什么时候发货|几天能发,付款后48小时内发货,物流

* exactly these four columns, in this order, with this header row;
* ``similar_questions`` separated by ``|`` (empty allowed);
* CSV is UTF-8, with or without a byte-order mark; XLSX reads the first sheet.

API (all a caller needs)::

    entries = parse_knowledge(data, "kb.csv")      # or parse_csv(data) / parse_xlsx(data)
    data = write_csv(entries)                       # or write_xlsx(entries)

A bad file raises ``KnowledgeFileError`` listing every bad row (``RowError``: the row number as
the spreadsheet shows it, the header being row 1, a message key and its parameters, rendered in
zh-CN or English by ``RowError.message(lang)``). Nothing is half-read: either every row is good
and all entries come back, or none does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from feige.robot.entries import KnowledgeEntry, unknown_placeholders

COLUMNS = ("question", "similar_questions", "answer", "category")
SIMILAR_SEPARATOR = "|"
MAX_ROWS = 20_000
MAX_QUESTION = 200
MAX_ANSWER = 2_000
MAX_CATEGORY = 50
MAX_SIMILAR = 100

#: Message key -> (zh-CN, English); parameters in braces.
MESSAGES: dict[str, tuple[str, str]] = {
    "not_utf8": ("文件不是 UTF-8 编码", "The file is not UTF-8 encoded"),
    "not_xlsx": ("无法读取 Excel 文件：{detail}", "Cannot read the Excel file: {detail}"),
    "not_csv": ("无法读取 CSV 文件：{detail}", "Cannot read the CSV file: {detail}"),
    "unknown_format": (
        "不支持的文件格式：{name}（请使用 .csv 或 .xlsx）",
        "Unsupported file format: {name} (use .csv or .xlsx)",
    ),
    "empty_file": ("文件为空", "The file is empty"),
    "bad_header": (
        "表头应为 {expected}，实际为 {found}",
        "The header must be {expected}; found {found}",
    ),
    "column_count": (
        "应有 {expected} 列，实际 {found} 列",
        "Expected {expected} columns, found {found}",
    ),
    "too_many_rows": ("行数超过上限 {limit}", "More rows than the limit of {limit}"),
    "no_entries": ("文件中没有知识条目", "The file holds no entries"),
    "question_empty": ("标准问题为空", "The question is empty"),
    "answer_empty": ("答案为空", "The answer is empty"),
    "too_long": ("{column} 过长（上限 {limit} 字）", "{column} is too long (limit {limit})"),
    "too_many_similar": (
        "相似问题过多（上限 {limit} 个）",
        "Too many similar questions (limit {limit})",
    ),
    "duplicate_question": (
        "标准问题“{question}”与第 {other} 行重复",
        "The question “{question}” repeats row {other}",
    ),
    "unknown_placeholder": (
        "答案中有未知的占位符 {{{name}}}",
        "The answer has an unknown placeholder {{{name}}}",
    ),
}


@dataclass(frozen=True, slots=True)
class RowError:
    """One reason a row (or, with row 0, the whole file) was refused."""

    row: int
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        zh, en = MESSAGES[self.key]
        english = lang.lower().startswith("en")
        text = (en if english else zh).format(**self.params)
        if self.row <= 0:
            return text
        return f"row {self.row}: {text}" if english else f"第 {self.row} 行：{text}"


class KnowledgeFileError(ValueError):
    """The file was refused; ``errors`` lists every reason, row by row."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.message("en") for e in self.errors[:5]))

    def messages(self, lang: str = "zh") -> list[str]:
        return [e.message(lang) for e in self.errors]


def parse_knowledge(data: bytes, filename: str) -> list[KnowledgeEntry]:
    """Entries from a ``.csv`` or ``.xlsx`` file, chosen by the file name's ending."""
    name = filename.lower()
    if name.endswith(".csv"):
        return parse_csv(data)
    if name.endswith(".xlsx"):
        return parse_xlsx(data)
    raise KnowledgeFileError([RowError(0, "unknown_format", {"name": filename})])


def parse_csv(data: bytes) -> list[KnowledgeEntry]:
    """Entries from CSV bytes (UTF-8, BOM optional)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise KnowledgeFileError([RowError(0, "not_utf8")]) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise KnowledgeFileError([RowError(0, "not_csv", {"detail": str(exc)})]) from None
    return _entries(rows)


def parse_xlsx(data: bytes) -> list[KnowledgeEntry]:
    """Entries from the first sheet of an XLSX workbook."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise KnowledgeFileError([RowError(0, "not_xlsx", {"detail": str(exc)})]) from None
    try:
        sheet = book.worksheets[0]
        rows = []
        for i, values in enumerate(sheet.iter_rows(values_only=True)):
            if i > MAX_ROWS + 1:
                raise KnowledgeFileError([RowError(0, "too_many_rows", {"limit": MAX_ROWS})])
            cells = ["" if v is None else str(v) for v in values]
            while cells and cells[-1] == "":
                cells.pop()  # Excel keeps trailing empty cells of formatted columns
            if cells:  # an empty cell at the end of a row is an empty column in Excel
                cells += [""] * (len(COLUMNS) - len(cells))
            rows.append(cells)
    finally:
        book.close()
    return _entries(rows)


def _entries(rows: list[list[str]]) -> list[KnowledgeEntry]:
    """Check every row; all entries or a ``KnowledgeFileError`` with every problem."""
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise KnowledgeFileError([RowError(0, "empty_file")])
    header = [c.strip().lstrip("\ufeff") for c in rows[0]]
    if tuple(header) != COLUMNS:
        found = ",".join(header)
        raise KnowledgeFileError(
            [RowError(1, "bad_header", {"expected": ",".join(COLUMNS), "found": found})]
        )
    if len(rows) - 1 > MAX_ROWS:
        raise KnowledgeFileError([RowError(0, "too_many_rows", {"limit": MAX_ROWS})])
    errors: list[RowError] = []
    entries: list[KnowledgeEntry] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank lines between entries are harmless
        if len(cells) != len(COLUMNS):
            errors.append(
                RowError(number, "column_count", {"expected": len(COLUMNS), "found": len(cells)})
            )
            continue
        entry, row_errors = _row(number, cells)
        errors.extend(row_errors)
        if entry is None:
            continue
        if entry.question in seen:
            errors.append(
                RowError(
                    number,
                    "duplicate_question",
                    {"question": entry.question, "other": seen[entry.question]},
                )
            )
            continue
        seen[entry.question] = number
        entries.append(entry)
    if errors:
        raise KnowledgeFileError(errors)
    if not entries:
        raise KnowledgeFileError([RowError(0, "no_entries")])
    return entries


def _row(number: int, cells: list[str]) -> tuple[KnowledgeEntry | None, list[RowError]]:
    question, similar_cell, answer, category = (c.strip() for c in cells)
    errors: list[RowError] = []
    if not question:
        errors.append(RowError(number, "question_empty"))
    if not answer:
        errors.append(RowError(number, "answer_empty"))
    similar = tuple(
        dict.fromkeys(s.strip() for s in similar_cell.split(SIMILAR_SEPARATOR) if s.strip())
    )
    for column, value, limit in (
        ("question", question, MAX_QUESTION),
        ("answer", answer, MAX_ANSWER),
        ("category", category, MAX_CATEGORY),
        *(("similar_questions", s, MAX_QUESTION) for s in similar),
    ):
        if len(value) > limit:
            errors.append(RowError(number, "too_long", {"column": column, "limit": limit}))
    if len(similar) > MAX_SIMILAR:
        errors.append(RowError(number, "too_many_similar", {"limit": MAX_SIMILAR}))
    for name in dict.fromkeys(unknown_placeholders(answer)):
        errors.append(RowError(number, "unknown_placeholder", {"name": name}))
    if errors:
        return None, errors
    similar = tuple(s for s in similar if s != question)
    return KnowledgeEntry(question=question, answer=answer, similar=similar, category=category), []


def _cells(entry: KnowledgeEntry) -> list[str]:
    return [entry.question, SIMILAR_SEPARATOR.join(entry.similar), entry.answer, entry.category]


def write_csv(entries: Iterable[KnowledgeEntry], bom: bool = True) -> bytes:
    """CSV bytes in the import format; with a BOM by default so Excel reads it as UTF-8."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow(_cells(entry))
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


def write_xlsx(entries: Iterable[KnowledgeEntry]) -> bytes:
    """An XLSX workbook in the import format (one sheet, header row first)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    sheet = book.create_sheet("knowledge")
    sheet.append(list(COLUMNS))
    for entry in entries:
        # XLSX cannot carry most control characters (an entry saved through the API may hold
        # some): they are left out of the workbook rather than failing the whole export.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in _cells(entry)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
