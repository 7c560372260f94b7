"""The word-vector sentence encoder (the meaning layer's opt-in embedding model).

A tiny vectors file in the real format drives the mechanics; the cnsyn file, when built
(``tools/build_word_vectors.py``), is checked for size and sense.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from feige.robot import KnowledgeEntry, Robot
from feige.robot.retriever import DEFAULT_WEIGHTS, WORD_VECTOR_WEIGHTS
from feige.robot.wordvectors import PACKAGED, WordVectorEncoder, packaged_encoder, vectors_path

KB = Path(__file__).parent / "kb.csv"

#: bargaining along axis 0, shipping along axis 1, a little of axis 2 everywhere.
TINY = {
    "砍价": (1.0, 0.0, 0.2), "讲价": (0.9, 0.1, 0.2), "便宜": (0.8, 0.0, 0.2),
    "发货": (0.0, 1.0, 0.2), "快递": (0.1, 0.9, 0.2),
    "砍": (0.7, 0.0, 0.3), "价": (0.6, 0.1, 0.3), "发": (0.1, 0.7, 0.3), "货": (0.0, 0.6, 0.3),
}  # fmt: skip


def write_tiny(path: Path) -> Path:
    words = list(TINY)
    vecs = np.asarray([TINY[w] for w in words], dtype=np.float32)
    scale = np.abs(vecs).max(axis=1) / 127.0
    np.savez_compressed(
        path,
        words=np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8),
        vectors=np.rint(vecs / scale[:, None]).astype(np.int8),
        scale=scale.astype(np.float32),
        logp=np.full(len(words), np.log(1e-5), dtype=np.float32),
        common=np.asarray([0.0, 0.0, 1.0], dtype=np.float32),
    )
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny(tmp_path_factory.mktemp("vectors") / "tiny.npz")


def test_the_setting_names_the_file(tiny: Path) -> None:
    assert vectors_path("none") is None and vectors_path(" off ") is None
    assert vectors_path(str(tiny)) == tiny
    assert vectors_path("") == (PACKAGED if PACKAGED.exists() else None)
    enc = packaged_encoder(str(tiny))
    assert enc is not None and packaged_encoder(str(tiny)) is enc  # read once per process


def test_sentences_by_meaning_and_characters(tiny: Path) -> None:
    enc = WordVectorEncoder.load(tiny)
    v = enc.encode(["可以砍价吗", "能讲价吗", "什么时候发货", "", "砍个价呗", "哈哈"])
    assert v.shape == (6, 3) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[[0, 1, 2, 4]], axis=1), 1.0, atol=1e-5)
    assert not v[3].any() and not v[5].any()  # nothing known to read: zero, never NaN
    assert abs(float(v[0] @ enc.common)) < 1e-5  # the common direction is removed
    sims = v @ v.T
    assert sims[0, 1] > 0.9 > 0.2 > sims[0, 2]
    assert sims[4, 1] > 0.9  # "砍个价": no vector for the word, its characters have one


def test_a_robot_with_word_vectors_uses_their_weights(tiny: Path) -> None:
    enc = WordVectorEncoder.load(tiny)
    entries = [
        KnowledgeEntry("能便宜点吗", "亲，价格已是最低"),
        KnowledgeEntry("多久发货", "48小时内"),
    ]
    robot = Robot(entries, encoder=enc)
    assert robot.config.weights is WORD_VECTOR_WEIGHTS
    assert Robot(entries).config.weights is DEFAULT_WEIGHTS
    top = robot.candidates("可以讲价吗", limit=1)[0]
    assert top.entry.question == "能便宜点吗" and top.features[6] > 0.9


def test_the_command_takes_the_setting(tiny: Path) -> None:
    def run(*extra: str) -> dict[str, object]:
        proc = subprocess.run(
            [sys.executable, "-m", "feige", "robot", "answer", "--kb", str(KB), *extra, "抹个零呗"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        out: dict[str, object] = json.loads(proc.stdout)
        return out

    assert run("--word-vectors", str(tiny))["answer_question"] == "能便宜点吗"
    assert run("--word-vectors", "none")["answer_question"] == "能便宜点吗"


@pytest.mark.skipif(not PACKAGED.exists(), reason="word_vectors.npz not built (tools/)")
def test_the_built_cnsyn_file() -> None:
    assert PACKAGED.stat().st_size <= 6_000_000
    enc = packaged_encoder()
    assert enc is not None and len(enc.index) >= 30_000 and enc.dim == 75
    v = enc.encode(["可以砍价吗", "能不能杀价", "能便宜点吗", "什么时候发货"])
    assert float(v[0] @ v[1]) > float(v[0] @ v[3])
    assert float(v[2] @ v[1]) > float(v[2] @ v[3])
