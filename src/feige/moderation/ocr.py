"""Text inside images: RapidOCR (PP-OCR models run by onnxruntime; the models ship inside the
``rapidocr_onnxruntime`` wheel, nothing is downloaded), read once per distinct image.

One thread (the server bounds how many scans run at once), images reduced so that their
longer side is at most ``max_side`` pixels (chat screenshots stay legible, a 12-megapixel
photo does not cost seconds), and a time budget: text boxes are recognised top to bottom
until the budget is spent; what was read by then is judged, and the scan says it stopped.
The budget is CPU time of the scanning thread (onnxruntime with one thread computes on the
caller's thread), so a busy machine does not cut reads short while a picture crowded with
text boxes still cannot take more than its share.
The engine is built on first use (about a second), not at import.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class ImageText:
    """The lines read in one image, top to bottom, and whether every text box was read."""

    lines: tuple[str, ...]
    complete: bool = True
    seconds: float = 0.0


class TextReader:
    """Reads text in images with RapidOCR, within a time budget per image."""

    def __init__(self, budget_s: float = 2.0, max_side: int = 960, min_score: float = 0.5) -> None:
        self.budget_s = budget_s
        self.max_side = max_side
        self.min_score = min_score
        self._engine: Any = None

    def _ocr(self) -> Any:
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            self._engine = RapidOCR(
                intra_op_num_threads=1,
                inter_op_num_threads=1,
                det_limit_type="max",
                det_limit_side_len=self.max_side,
                max_side_len=self.max_side,
                use_cls=False,
            )
        return self._engine

    def read(self, rgb: npt.NDArray[np.uint8]) -> ImageText:
        """Text lines of an RGB image (height x width x 3)."""
        start = time.thread_time()
        engine = self._ocr()
        img, _rh, _rw = engine.preprocess(rgb[:, :, ::-1])  # the engine works in BGR
        img, _record = engine.maybe_add_letterbox(img, {})
        boxes, _elapsed = engine.auto_text_det(img)
        if boxes is None or len(boxes) == 0:
            return ImageText((), True, time.thread_time() - start)
        crops = engine.get_crop_img_list(img, boxes)
        lines: list[str] = []
        batch = 6
        for i in range(0, len(crops), batch):
            if time.thread_time() - start > self.budget_s:
                return ImageText(tuple(lines), False, time.thread_time() - start)
            results, _elapsed = engine.text_rec(crops[i : i + batch])
            lines.extend(text for text, score, *_ in results if text and score >= self.min_score)
        return ImageText(tuple(lines), True, time.thread_time() - start)
