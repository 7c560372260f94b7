"""The packaged word vectors: the meaning layer's default sentence encoder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from feige.robot import Robot
from feige.robot.defaults import platform_defaults
from feige.robot.retriever import DEFAULT_WEIGHTS, LEXICAL_WEIGHTS
from feige.robot.wordvectors import PACKAGED, WordVectorEncoder, packaged_encoder, vectors_path

pytestmark = pytest.mark.skipif(not PACKAGED.exists(), reason="word_vectors.npz not built")

KB = Path(__file__).parent / "kb.csv"


@pytest.fixture(scope="module")
def encoder() -> WordVectorEncoder:
    enc = packaged_encoder()
    assert enc is not None
    return enc


def test_the_packaged_file_is_small_and_loads_once(encoder: WordVectorEncoder) -> None:
    assert PACKAGED.stat().st_size <= 6_000_000
    assert packaged_encoder() is encoder  # read once per process
    assert len(encoder.index) >= 30_000 and encoder.dim == 75
    assert vectors_path("none") is None and vectors_path("") == PACKAGED
    assert vectors_path("/x/v.npz") == Path("/x/v.npz")


def test_close_meanings_give_close_sentences(encoder: WordVectorEncoder) -> None:
    v = encoder.encode(["可以砍价吗", "能讲价吗", "什么时候发货", "", "砍个价"])
    assert v.shape == (5, 75) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[[0, 1, 2, 4]], axis=1), 1.0, atol=1e-5)
    assert not v[3].any()  # nothing to read: the zero vector, not NaN
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2] + 0.2
    assert sims[4, 1] > sims[4, 2]  # "砍个价": 砍 and 价 by characters


def test_a_robot_with_word_vectors(encoder: WordVectorEncoder) -> None:
    with_vectors = Robot(platform_defaults(), encoder=encoder)
    assert with_vectors.config.weights is DEFAULT_WEIGHTS
    assert Robot(platform_defaults()).config.weights is LEXICAL_WEIGHTS
    top = with_vectors.candidates("能讲讲价吗", limit=1)[0]
    assert top.entry.question == "能便宜点吗" and top.features[6] > 0.3
    assert with_vectors.answer("今天天气怎么样").answer is None


def test_the_command_uses_them_unless_told_not_to() -> None:
    def run(*extra: str) -> dict[str, object]:
        proc = subprocess.run(
            [sys.executable, "-m", "feige", "robot", "answer", "--kb", str(KB), *extra, "砍个价"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        out: dict[str, object] = json.loads(proc.stdout)
        return out

    assert run()["answer_question"] == "能便宜点吗"
    assert "answer_question" in run("--word-vectors", "none")
