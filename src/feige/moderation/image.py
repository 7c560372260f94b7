"""Images and files: QR codes (zxing-cpp over Pillow), the text in the picture (ocr.py), and
executables or software archives.

Decoding is CPU work on bytes already in memory; nothing is read from disk or network.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from feige.moderation.ocr import TextReader

#: Magic numbers of executables and archives (rules 2.2.10: no sending software).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "windows executable"),
    (b"\x7fELF", "ELF executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "Mach-O/Java class"),
    (b"PK\x03\x04", "zip archive"),
    (b"Rar!\x1a\x07", "rar archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"#!", "script"),
    (b"dex\n", "android dex"),
)


#: File names of software (rules 2.2.10), whatever the bytes say.
_SOFTWARE_EXTENSIONS = (".exe", ".msi", ".apk", ".ipa", ".dmg", ".bat", ".cmd", ".sh", ".jar",
    ".zip", ".rar", ".7z", ".tar", ".gz", ".dll", ".scr", ".vbs", ".ps1")  # fmt: skip


def software_by_name(name: str) -> bool:
    """The file name is that of an executable, script or archive."""
    return name.lower().endswith(_SOFTWARE_EXTENSIONS)


def file_kind(data: bytes) -> str | None:
    """Name of an executable or archive format, or None."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar archive"
    return None


@dataclass(frozen=True, slots=True)
class ImageScan:
    """What an image holds, whoever sends it: the role-free half of an image check, so it can
    be kept (keyed by the bytes' SHA-256) and judged again for every send without decoding."""

    ok: bool  # False: not a readable image
    codes: tuple[str, ...]  # decoded QR contents
    error: str = ""
    software: str = ""  # the executable or archive format the bytes really are (file_kind)
    text: str = ""  # text read in the picture (OCR), one line per text box, top to bottom
    text_complete: bool = True  # False: the OCR time budget ran out before every box was read


def scan(
    data: bytes,
    try_harder: bool = True,
    max_pixels: int = 40_000_000,
    reader: TextReader | None = None,
) -> ImageScan:
    """Decode every QR code in the image (retry inverted, sharpened and rescaled if none) and
    read the text in it with ``reader``."""
    import zxingcpp
    from PIL import Image, ImageFilter, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > max_pixels:
                return ImageScan(False, (), "image too large")
            im.load()
            oriented = ImageOps.exif_transpose(im)
            gray = oriented.convert("L")
    except Exception as exc:  # Pillow raises many types for bad input
        return ImageScan(False, (), f"not an image: {type(exc).__name__}")
    formats = zxingcpp.BarcodeFormats(
        [
            zxingcpp.BarcodeFormat.QRCode,
            zxingcpp.BarcodeFormat.MicroQRCode,
            zxingcpp.BarcodeFormat.RMQRCode,
        ]
    )

    def read(img: Image.Image) -> tuple[str, ...]:
        found = zxingcpp.read_barcodes(img, formats=formats, try_invert=True, try_rotate=True)
        return tuple(b.text for b in found if b.valid)

    text, complete = _read_text(oriented, reader)
    codes = read(gray)
    if codes or not try_harder:
        return ImageScan(True, codes, text=text, text_complete=complete)
    attempts: list[Callable[[], Image.Image]] = [
        lambda: ImageOps.invert(gray),
        lambda: ImageOps.autocontrast(gray, cutoff=2),
        lambda: gray.filter(ImageFilter.UnsharpMask(radius=3, percent=250, threshold=0)),
        lambda: gray.point(lambda p: 255 if p > 128 else 0),
        lambda: gray.filter(ImageFilter.MedianFilter(5)),
    ]
    if max(gray.size) < 400:
        attempts.append(
            lambda: gray.resize((gray.width * 3, gray.height * 3), Image.Resampling.NEAREST)
        )
    elif max(gray.size) > 1600:
        attempts.append(lambda: gray.reduce(3))
    for make in attempts:
        codes = read(make())
        if codes:
            return ImageScan(True, codes, text=text, text_complete=complete)
    return ImageScan(True, (), text=text, text_complete=complete)


def _read_text(image: PILImage.Image, reader: TextReader | None) -> tuple[str, bool]:
    """The picture's text lines joined by newlines (each line its own sentence to the text
    detectors), and whether all of it was read."""
    if reader is None:
        return "", True
    import numpy as np

    rgb = image.convert("RGB")
    if max(rgb.size) > reader.max_side:
        rgb.thumbnail((reader.max_side, reader.max_side))
    found = reader.read(np.asarray(rgb))
    return "\n".join(found.lines), found.complete
