"""How ``feige assess`` shows a week's assessment and a drill-down on a terminal: a readable,
Chinese-first table that fits 80 columns (the ``--json`` document is the contract)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import orjson


def _pct(m: dict[str, Any]) -> tuple[str, str]:
    if m["value"] is None:
        return "—", ""
    return f"{m['value'] * 100:.1f}%", f"{m['numerator']}/{m['denominator']}"


def _secs(m: dict[str, Any]) -> tuple[str, str]:
    if m["value"] is None:
        return "—", ""
    return f"{m['value']:.1f} s", f"{m['denominator']} 轮"


def _mark(m: dict[str, Any], cell: tuple[str, str]) -> str:
    """The value (✗ when below standard) over its fraction, dimmed."""
    value, detail = cell
    if m["passed"] is None:
        head = f"[dim]{value}[/dim]"
    elif m["passed"]:
        head = f"[green]{value}[/green]"
    else:
        head = f"[red]{value} ✗[/red]"
    return f"{head}\n[dim]{detail}[/dim]" if detail else head


def _shop_label(shop: str, names: dict[str, str] | None) -> Any:
    """The shop's name over its id when the name is known, else the id; too long a name ends
    in an ellipsis instead of widening the table."""
    from rich.text import Text

    name = (names or {}).get(shop)
    label = Text(no_wrap=True, overflow="ellipsis")
    if name:
        label.append(name)
        label.append(f"\n#{shop}", style="dim")
    else:
        label.append(shop)
    return label


def _local(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


# Header, standard: each figure's column.
_FIGURE_COLUMNS = (
    ("no_service_rate", "不服务率\nNo-serv.\n< 20%"),
    ("three_minute_reply_rate", "3分钟回复\n3-min\n≥ 80%"),
    ("avg_response_seconds", "平均响应\nAvg resp\n< 90 s"),
    ("dissatisfaction_rate", "不满意率\nDissat.\n< 30%"),
)


def _width(cells: list[Any]) -> int:
    """The widest line of any of these cells (markup strings or rich Text), in terminal cells."""
    from rich.cells import cell_len
    from rich.text import Text

    plain = [c.plain if isinstance(c, Text) else Text.from_markup(c).plain for c in cells]
    return max((cell_len(line) for text in plain for line in text.split("\n")), default=0)


SHOP_MIN_WIDTH = 8  # a narrower terminal squeezes every column, not the shop column alone
COLUMN_GAP = 2  # between columns (collapsed padding around the blank divider)


def print_table(doc: dict[str, Any], names: dict[str, str] | None = None) -> None:
    """A readable, Chinese-first table of the assessment that fits an 80-column terminal.

    ``names`` maps shop ids to shop names (the store knows them; an event log does not).
    The shop column gets what the other columns leave of the terminal's width: a longer name
    ends in an ellipsis."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    headers = ["店铺\nShop", "会话 *\nSessions", *(h for _, h in _FIGURE_COLUMNS), "结果\nResult"]
    rows = []
    for shop in doc["shops"]:
        m = shop["metrics"]
        s = shop["sessions"]
        cells = [
            _mark(m[key], _secs(m[key]) if key == "avg_response_seconds" else _pct(m[key]))
            for key, _ in _FIGURE_COLUMNS
        ]
        rows.append(
            [
                _shop_label(shop["shop"], names),
                f"{s['assessed']}/{s['human']}/{s['total']}",
                *cells,
                "[green]合格\npassed[/green]" if shop["passed"] else "[red]不合格\nfailed[/red]",
            ]
        )
    console = Console()
    others = sum(_width([h, *(r[i] for r in rows)]) for i, h in enumerate(headers) if i > 0)
    room = console.width - others - COLUMN_GAP * (len(headers) - 1)
    table = Table(
        title=f"服务考核 Service assessment {doc['week']}\n"
        f"{_local(doc['from'])} – {_local(doc['to'])} ({doc['timezone']})",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
        show_edge=False,
    )
    table.add_column(headers[0], no_wrap=True, max_width=max(SHOP_MIN_WIDTH, room))
    for i, header in enumerate(headers[1:], start=1):
        table.add_column(header, no_wrap=True, justify="left" if i == 6 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    failed = sum(not s["passed"] for s in doc["shops"])
    console.print(f"{len(doc['shops'])} 家店铺 shops, {failed} 家不合格 failed")
    if doc["shops"]:
        console.print(
            "[dim]* 会话 Sessions: 考核/人工/全部 assessed/human/total\n"
            "  ✗ 未达标 below the standard; — 无数据 no data; 轮 rounds[/dim]"
        )


def print_drill(doc: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console()
    console.print(
        f"[bold]{doc['shop']} {doc['week']} {doc['figure']}[/bold]: "
        f"{doc['numerator']} / {doc['denominator']} = {doc['value']}"
    )
    for item in doc["items"]:
        flag = "[red]✗[/red]" if item["bad"] else "[green]✓[/green]"
        when = item.get("human_entry") or item.get("start")
        console.print(f" {flag} {item['session']}  {when}  {item.get('why', '')}")


def print_json(doc: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()
