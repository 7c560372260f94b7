"""``feige moderate`` (docs/interfaces.md contract): in-process through Typer's runner, and
once as a real process for what only a process shows (pipes, encoding, flushing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import Result
from PIL import ImageOps
from typer.testing import CliRunner

from feige.cli import app
from tests.moderation.corpus_eval import png, qr_image

ROOT = Path(__file__).resolve().parents[2]
#: The documented example of docs/interfaces.md: one input line and its output line.
DOC_INPUT = {"id": "m1", "text": "加我薇信 abc123", "role": "agent"}
DOC_OUTPUT = (
    '{"id": "m1", "action": "block", "categories": ["third_party.contact"], '
    '"clauses": ["2.2.3"], "text": null, "spans": [[2, 11]]}'
)


def run(*args: str, stdin: str = "") -> Result:
    return CliRunner().invoke(app, ["moderate", *args], input=stdin)


def jsonl(*lines: object, args: tuple[str, ...] = ()) -> list[dict[str, object]]:
    text = "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n"
                   for x in lines)  # fmt: skip
    out = run("--jsonl", *args, stdin=text)
    assert out.exit_code == 0, out.output
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_readable_verdict_chinese_and_english() -> None:
    zh = run("加我薇信 abc123", "--role", "agent")
    assert zh.exit_code == 0, zh.output
    assert "拦截" in zh.stdout and "third_party.contact" in zh.stdout and "2.2.3" in zh.stdout
    en = run("加我薇信 abc123", "--role", "agent", "--lang", "en")
    assert "blocked" in en.stdout and "clause 2.2.3" in en.stdout
    ok = run("这款有M码吗")
    assert "通过" in ok.stdout


def test_jsonl_contract_bad_lines_and_order(tmp_path: Path) -> None:
    qr = tmp_path / "qr.png"
    qr.write_bytes(png(qr_image("https://u.wechat.com/abc")))
    out = jsonl(
        DOC_INPUT,
        "this is not json",
        {"id": "m3"},
        {"id": "m4", "image": str(qr), "role": "buyer"},
        {"id": "m5", "image": str(tmp_path / "missing.png")},
        {"id": "m6", "text": "我的电话 13812345678"},
        {"id": "m7", "text": "我的微信 lisi_1990"},
        {"id": "m8", "text": "你好"},
    )
    assert [o["id"] for o in out] == ["m1", None, "m3", "m4", "m5", "m6", "m7", "m8"]
    assert out[0] == {
        "id": "m1",
        "action": "block",
        "categories": ["third_party.contact"],
        "clauses": ["2.2.3"],
        "text": None,
        "spans": [[2, 11]],
    }
    assert set(out[1]) == {"id", "error"} and set(out[2]) == {"id", "error"}
    assert out[3]["action"] == "block" and out[3]["categories"] == ["third_party.qr_code"]
    assert "error" in out[4]
    assert out[5]["action"] == "allow" and out[5]["categories"] == []  # buyer's own phone
    assert out[6]["action"] == "mask" and out[6]["text"] == "我的** *********"
    assert out[7] == {"id": "m8", "action": "allow", "categories": [], "clauses": [],
                      "text": "你好", "spans": []}  # fmt: skip


def test_role_option_is_the_default_for_lines() -> None:
    line = {"id": 1, "text": "我的电话 13812345678"}
    assert jsonl(line)[0]["action"] == "allow"
    assert jsonl(line, args=("--role", "agent"))[0]["action"] == "block"


def test_allow_domain_repeatable() -> None:
    lines = [
        {"id": "a", "text": "链接 https://m.mall.example/item/1", "role": "agent"},
        {"id": "b", "text": "链接 https://outlet.example/item/1", "role": "agent"},
    ]
    assert [o["action"] for o in jsonl(*lines)] == ["block", "block"]
    args = ("--allow-domain", "mall.example", "--allow-domain", "outlet.example")
    assert [o["action"] for o in jsonl(*lines, args=args)] == ["allow", "allow"]


def test_sender_history_across_the_stream() -> None:
    ad = "限时特价！全场五折，点击进店领取优惠券，先到先得"
    lines = [{"id": i, "text": ad + "!" * i, "role": "agent", "sender": "shop1"} for i in range(3)]
    out = jsonl(*lines, {"id": 9, "text": ad, "role": "agent", "sender": "shop2"})
    assert [o["action"] for o in out] == ["allow", "allow", "block", "allow"]
    assert out[2]["categories"] == ["spam"] and out[2]["clauses"] == ["2.2.7"]


def test_process_contract_flushes_each_line() -> None:
    """A real ``feige moderate --jsonl`` process: the documented line comes back byte for byte,
    and each answer comes back before stdin is closed (the stream is usable interactively)."""
    assert DOC_OUTPUT in (ROOT / "docs" / "interfaces.md").read_text(encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "feige", "moderate", "--jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(json.dumps(DOC_INPUT, ensure_ascii=False) + "\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == DOC_OUTPUT + "\n"
        for i in range(2):
            proc.stdin.write(json.dumps({"id": i, "text": "你个傻逼"}) + "\n")
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())
            assert answer["id"] == i and answer["action"] == "block"
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_image_lexicon_and_bad_role(tmp_path: Path) -> None:
    qr = tmp_path / "inv.png"
    qr.write_bytes(png(ImageOps.invert(qr_image("hello"))))
    res = run("--image", str(qr), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["categories"] == ["third_party.qr_code"]
    (tmp_path / "abuse.txt").write_text("蠢材\n", encoding="utf-8")
    res = run("你个蠢材", "--lexicon", str(tmp_path), "--json")
    assert json.loads(res.output)["categories"] == ["abuse"]
    res = run("x", "--role", "boss")
    assert res.exit_code != 0


def test_jsonl_session_reads_pieces_together() -> None:
    """Lines with "session" (and "sender") are read with the sender's earlier pieces in that
    session; the completing line names them in "pieces"; lines without keep the contract."""
    out = jsonl(
        {"id": 1, "text": "138", "role": "agent", "sender": "a", "session": "s1"},
        {"id": 2, "text": "1234", "role": "agent", "sender": "a", "session": "s1"},
        {"id": 3, "text": "5678", "role": "agent", "sender": "a", "session": "s1"},
        {"id": 4, "text": "5678", "role": "agent", "sender": "a"},
        {"id": 5, "text": "x", "session": ["not", "an", "id"]},
    )
    assert [o.get("action") for o in out[:4]] == ["allow", "allow", "block", "allow"]
    assert out[2]["pieces"] == ["138", "1234"] and out[2]["spans"] == [[0, 4]]
    assert set(out[3]) == {"id", "action", "categories", "clauses", "text", "spans"}
    assert out[4] == {"id": 5, "error": "session must be a string"}
