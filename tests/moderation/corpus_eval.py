"""Shared by the corpus tests and ``tests/moderation/corpus_report.py``: load the labelled
corpus, render its image cases (QR codes written with zxing-cpp), score the engine."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from feige.domain import ModerationAction
from feige.moderation import CATEGORIES, Moderator, Verdict

CORPUS = Path(__file__).with_name("corpus.jsonl")
#: Shopping-chat cases by family with train / heldout / family splits (make_chat_corpus.py).
CHAT_CORPUS = Path(__file__).with_name("chat_corpus.jsonl")
SPLITS = ("train", "heldout", "family")


def load(path: Path = CORPUS) -> list[dict[str, Any]]:
    """Rows of a corpus file; rows without a split (the first corpus, written with the
    engine) are ``train``."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for row in rows:
        row.setdefault("split", "train")
    return rows


def load_all(split: str | None = None) -> list[dict[str, Any]]:
    """Both corpora, or one split of them."""
    rows = load(CORPUS) + load(CHAT_CORPUS)
    return [r for r in rows if split is None or r["split"] == split]


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def qr_image(content: str, scale: int = 6, margin: int = 24) -> Image.Image:
    """A QR code written by zxing-cpp, on a white canvas (a screenshot-like picture)."""
    code = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.QRCode)
    im = Image.fromarray(np.asarray(code.to_image(scale=scale)))
    return ImageOps.expand(im, border=margin, fill=255)


def render(row: dict[str, Any]) -> bytes:
    """PNG bytes for an image row of the corpus."""
    if "qr" in row:
        im = qr_image(row["qr"], scale=2 if row.get("small") else 6)
        if row.get("invert"):
            im = ImageOps.invert(im)
        if row.get("blur"):
            im = im.filter(ImageFilter.GaussianBlur(row["blur"]))
        if row.get("noise"):
            rng = np.random.default_rng(7)
            arr = np.asarray(im).astype(np.int16) + rng.normal(0, 25, (im.height, im.width))
            im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).rotate(8, fillcolor=255)
        return png(im.convert("RGB"))
    kind = row["image_kind"]
    if kind == "ean13":
        code = zxingcpp.create_barcode(row["content"], zxingcpp.BarcodeFormat.EAN13)
        return png(Image.fromarray(np.asarray(code.to_image(scale=3))))
    if kind == "gradient":
        rnd = random.Random(3)
        im = Image.new("RGB", (320, 240))
        px = im.load()
        assert px is not None
        for y in range(240):
            for x in range(320):
                px[x, y] = (x % 256, y % 256, rnd.randrange(256))
        return png(im)
    # A screenshot-like picture of text: a CJK font where the system has one.
    content = row.get("content", "")
    im = Image.new("RGB", (40 + 26 * len(content), 90), (250, 250, 250))
    ImageDraw.Draw(im).text((16, 28), content, fill=(20, 20, 20), font=_font(26))
    return png(im)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _CJK_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
)


def check(mod: Moderator, row: dict[str, Any]) -> Verdict:
    if "turns" in row:  # pieces sent one after another in one session: judge the last
        session = ("corpus", row["id"])
        verdict = Verdict(ModerationAction.ALLOW)
        for piece in row["turns"]:
            verdict = mod.check_text(piece, row.get("role", "buyer"), row["id"], None, session)
            if verdict.action != ModerationAction.ALLOW:
                break
        return verdict
    if "text" in row:
        return mod.check_text(row["text"], row.get("role", "buyer"), row.get("sender"))
    return mod.check_image(render(row), row.get("role", "buyer"))


@dataclass
class Report:
    violations: int = 0
    clean: int = 0
    detected: int = 0
    #: Violations only the meaning classifier found (no detector or lexicon named them).
    by_classifier: int = 0
    false_positives: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    misses: list[tuple[str, str, list[str], tuple[str, ...]]] = field(default_factory=list)
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)

    @property
    def recall(self) -> float:
        return self.detected / self.violations if self.violations else 1.0

    @property
    def false_positive_rate(self) -> float:
        return len(self.false_positives) / self.clean if self.clean else 0.0

    def per_category(self) -> list[tuple[str, int, int, int, float, float]]:
        """(category, tp, fp, fn, precision, recall) for every category of docs/rules.md."""
        out = []
        for c in CATEGORIES:
            tp, fp, fn = self.tp[c], self.fp[c], self.fn[c]
            p = tp / (tp + fp) if tp + fp else 1.0
            r = tp / (tp + fn) if tp + fn else 1.0
            out.append((c, tp, fp, fn, p, r))
        return out


def evaluate(mod: Moderator, rows: list[dict[str, Any]]) -> Report:
    """A violation is detected when the verdict is not allow and names a labelled category;
    a clean row is a false positive when its verdict is anything but allow."""
    rep = Report()
    for row in rows:
        v = check(mod, row)
        label = set(row["label"])
        got = set(v.categories) if v.action != ModerationAction.ALLOW else set()
        what = row.get("text", row.get("turns", row.get("qr", row.get("image_kind", ""))))
        if label:
            rep.violations += 1
            if got & label:
                rep.detected += 1
                if all(e.detector == "classifier" for e in v.evidence if e.category in label):
                    rep.by_classifier += 1
            else:
                rep.misses.append((row["id"], what, sorted(label), v.categories))
        else:
            rep.clean += 1
            if got:
                rep.false_positives.append((row["id"], what, v.categories))
        for c in got & label:
            rep.tp[c] += 1
        for c in got - label:
            rep.fp[c] += 1
        for c in label - got:
            rep.fn[c] += 1
    return rep
