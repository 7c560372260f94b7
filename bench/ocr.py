"""Image scan cost with text reading (OCR) against the QR-only scan, per typical chat image.

    nice .venv/bin/python bench/ocr.py [--images 40] [--json]

Typical chat images, generated (seeded): a phone screenshot of a chat (750x1334, eight to
twelve lines of Chinese and Latin text), a product photo (noise and gradients, a price tag),
a small picture with one line (a business card, an order number), and a QR code. Every image
is scanned once, as the server does at upload: ``Moderator.scan_image`` with OCR (QR codes and
text), and the baseline ``scan_image`` without OCR (QR codes only) in the same run. The bench
pins itself to one core; onnxruntime runs one thread. Prints p50/p99/max per kind and over
all, and the ratio of the two.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from feige.moderation import ModerationConfig, Moderator  # noqa: E402

FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
         "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")  # fmt: skip
LINES = ["亲，这款还有货吗", "今天下单明天发", "好的，谢谢亲", "订单号 260112345678901234",
         "收货地址改一下", "¥129.9 包邮", "尺码偏大一码", "已经帮您备注了", "请问什么时候发货",
         "wechat: lisa2024", "快递单号 SF1234567890123", "满299减30", "质量很好，下次还来",
         "加微信 meimei8821 领券", "颜色和图片一样吗"]  # fmt: skip


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def screenshot(rnd: random.Random) -> bytes:
    im = Image.new("RGB", (750, 1334), (237, 237, 237))
    d = ImageDraw.Draw(im)
    y = 120
    for _ in range(rnd.randint(8, 12)):
        text = rnd.choice(LINES)
        left = rnd.random() < 0.5
        w = 40 + 30 * len(text)
        x = 40 if left else 750 - 40 - w
        d.rounded_rectangle(
            (x, y, x + w, y + 70), 12, fill=(255, 255, 255) if left else (149, 236, 105)
        )
        d.text((x + 20, y + 18), text, fill=(20, 20, 20), font=font(30))
        y += 100
    return png(im)


def product_photo(rnd: random.Random) -> bytes:
    arr = np.random.default_rng(rnd.randrange(10**6)).integers(
        0, 255, (800, 800, 3), dtype=np.uint8
    )
    im = Image.fromarray(arr).resize((800, 800))
    d = ImageDraw.Draw(im)
    d.rectangle((500, 650, 780, 760), fill=(220, 30, 30))
    d.text((520, 670), f"¥{rnd.randint(19, 999)}", fill=(255, 255, 255), font=font(60))
    return png(im)


def small_card(rnd: random.Random) -> bytes:
    text = rnd.choice(LINES)
    im = Image.new("RGB", (40 + 28 * len(text), 90), (250, 250, 250))
    ImageDraw.Draw(im).text((16, 28), text, fill=(20, 20, 20), font=font(26))
    return png(im)


def qr_code(rnd: random.Random) -> bytes:
    import zxingcpp

    code = zxingcpp.create_barcode(f"https://feige.example/i/{rnd.randint(1, 9999)}",
                                   zxingcpp.BarcodeFormat.QRCode)  # fmt: skip
    return png(Image.fromarray(np.asarray(code.to_image(scale=8))).convert("RGB"))


KINDS = {"screenshot": screenshot, "product_photo": product_photo, "small_card": small_card,
         "qr_code": qr_code}  # fmt: skip


def stats(values: list[float]) -> dict[str, float]:
    v = sorted(values)
    n = len(v)
    return {"n": n, "p50_ms": v[n // 2] * 1000, "p99_ms": v[min(n - 1, int(n * 0.99))] * 1000,
            "max_ms": v[-1] * 1000, "mean_ms": statistics.fmean(v) * 1000}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=40, help="images per kind")
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {args.cpu})
    rnd = random.Random(5)
    images = [(kind, make(rnd)) for kind, make in KINDS.items() for _ in range(args.images)]
    with_ocr = Moderator(ModerationConfig())
    qr_only = Moderator(ModerationConfig(ocr=False))
    t0 = time.perf_counter()
    with_ocr.scan_image(images[0][1])  # build the OCR engine (about a second), not measured
    build_s = time.perf_counter() - t0
    results: dict[str, dict[str, list[float]]] = {"ocr": {}, "qr_only": {}}
    incomplete = 0
    for name, mod in (("ocr", with_ocr), ("qr_only", qr_only)):
        for kind, data in images:
            t = time.process_time()
            found = mod.scan_image(data)
            results[name].setdefault(kind, []).append(time.process_time() - t)
            incomplete += name == "ocr" and not found.text_complete
    out = {
        "load_avg": round(os.getloadavg()[0], 2),
        "ocr_engine_build_s": round(build_s, 2),
        "budget_s": with_ocr.config.ocr_budget_s,
        "incomplete_reads": incomplete,
        "cpu_seconds_per_image": {
            name: {kind: {k: round(x, 1) for k, x in stats(v).items()} for kind, v in per.items()}
            | {
                "all": {
                    k: round(x, 1) for k, x in stats([x for v in per.values() for x in v]).items()
                }
            }
            for name, per in results.items()
        },
    }
    all_ocr = out["cpu_seconds_per_image"]["ocr"]["all"]  # type: ignore[index]
    all_qr = out["cpu_seconds_per_image"]["qr_only"]["all"]  # type: ignore[index]
    out["ratio_p50_ocr_vs_qr_only"] = round(all_ocr["p50_ms"] / max(all_qr["p50_ms"], 0.01), 1)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return
    print(f"OCR engine built in {build_s:.2f} s; load average {out['load_avg']}; budget "
          f"{out['budget_s']} s per image; reads cut by the budget: {incomplete}")  # fmt: skip
    print(f"{'kind':16s} {'scan':8s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}  (CPU time)")
    for kind in [*KINDS, "all"]:
        for name in ("ocr", "qr_only"):
            s = out["cpu_seconds_per_image"][name][kind]  # type: ignore[index]
            print(f"{kind:16s} {name:8s} {s['p50_ms']:8.1f} {s['p99_ms']:8.1f} {s['max_ms']:8.1f}")
    print(f"ratio p50 OCR+QR / QR only: {out['ratio_p50_ocr_vs_qr_only']}x")


if __name__ == "__main__":
    main()
