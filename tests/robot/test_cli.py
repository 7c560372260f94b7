"""``feige robot answer``: the JSON-lines contract and the one-question form."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

KB = Path(__file__).parent / "kb.csv"


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feige", "robot", "answer", "--kb", str(KB), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_jsonl_contract() -> None:
    lines = [
        {"id": 1, "question": "拉萨能收到吗"},
        {"id": "x", "question": "今天天气怎么样"},
        {"id": 3, "question": "转人工"},
        {
            "id": 4,
            "question": "这个多少钱",
            "context": {"product_title": "耳机", "product_price": "9"},
        },
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\nnot json\n"
    proc = run("--jsonl", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, "x", 3, 4, None]
    first = out[0]
    assert set(first) == {"id", "answer_question", "answer", "confidence", "handover"}
    assert first["answer_question"] == "偏远地区能发货吗" and "西藏" in first["answer"]
    assert 0 <= first["confidence"] <= 1 and first["handover"] is False
    assert out[1]["answer"] is None and out[1]["answer_question"] is None
    assert out[2]["handover"] is True and out[2]["answer"] is None
    assert out[3]["answer"] == "耳机现在的价格是9元，以下单页面显示为准。"
    assert "error" in out[4]


def test_one_question_and_bad_files(tmp_path: Path) -> None:
    proc = run("抹个零呗")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["answer_question"] == "能便宜点吗" and got["id"] is None
    bad = tmp_path / "bad.csv"
    bad.write_text("question,similar_questions,answer,category\n多久发货,,,物流\n", "utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "feige", "robot", "answer", "--kb", str(bad), "x"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0 and "row 2" in proc.stderr
