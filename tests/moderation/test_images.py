"""Images: QR codes written by zxing-cpp, inverted, blurred, noisy; files that are software."""

from __future__ import annotations

from PIL import ImageFilter, ImageOps

from feige.domain import ModerationAction as A
from feige.moderation import Moderator
from tests.moderation.corpus_eval import png, qr_image, render


def test_qr_code_blocked_whatever_it_encodes(mod: Moderator) -> None:
    for content in ("https://u.wechat.com/abc", "hello", "https://feige.example/item/1"):
        v = mod.check_image(png(qr_image(content)), role="buyer")
        assert v.action == A.BLOCK
        assert "third_party.qr_code" in v.categories
        assert v.evidence[0].match == content and v.text is None


def test_payment_qr_is_also_payment(mod: Moderator) -> None:
    v = mod.check_image(png(qr_image("wxp://f2f0abc")), role="agent")
    assert v.categories == ("third_party.payment", "third_party.qr_code")


def test_inverted_and_blurred(mod: Moderator) -> None:
    im = qr_image("加我微信 abc123")
    assert mod.check_image(png(ImageOps.invert(im))).action == A.BLOCK
    assert mod.check_image(png(im.filter(ImageFilter.GaussianBlur(1.5)))).action == A.BLOCK
    noisy = render({"qr": "tel:13812345678", "noise": True})
    assert mod.check_image(noisy).action == A.BLOCK


def test_clean_images_pass(mod: Moderator) -> None:
    for row in (
        {"image_kind": "ean13", "content": "6901234567892"},
        {"image_kind": "gradient"},
        {"image_kind": "text", "content": "order 12345"},
    ):
        assert mod.check_image(render(row)).action == A.ALLOW


def test_software_and_garbage(mod: Moderator) -> None:
    v = mod.check_image(b"MZ\x90\x00" + b"\x00" * 100, role="buyer")
    assert v.action == A.BLOCK and v.categories == ("misuse",)
    assert mod.check_file(b"PK\x03\x04rest", "tool.zip").action == A.BLOCK
    assert mod.check_file(b"plain", "setup.exe").categories == ("misuse",)
    garbage = mod.check_image(b"not an image at all", role="buyer")
    assert garbage.action == A.REVIEW


def test_a_scan_is_kept_and_judged_per_role_without_decoding_again(mod: Moderator) -> None:
    """scan_image finds what is in the bytes, whoever sends them; judge_image applies the
    policy for a role, so a stored scan answers every later send (docs/moderation.md)."""
    data = png(qr_image("wxp://f2f0abc"))
    before = mod.images_scanned
    found = mod.scan_image(data)
    assert mod.images_scanned == before + 1 and found.codes == ("wxp://f2f0abc",)
    for role in ("buyer", "agent"):
        assert mod.judge_image(found, role) == mod.check_image(data, role)
    assert mod.images_scanned == before + 3  # check_image scans; judge_image never does
    software = mod.scan_image(b"MZ\x90\x00" + b"\x00" * 100)
    assert software.software == "windows executable" and not software.ok
    assert mod.judge_image(software, "agent").categories == ("misuse",)


def test_text_in_images_is_read_and_judged(mod: Moderator) -> None:
    """OCR (RapidOCR, models inside the package) reads the picture; the text detectors judge
    what it says, with the sender's role; a picture cannot be masked, so mask is block."""
    contact = render({"image_kind": "text", "content": "加微信 meimei8821 领券"})
    found = mod.scan_image(contact)
    assert "meimei8821" in found.text and found.text_complete
    for role in ("agent", "buyer"):
        v = mod.judge_image(found, role)
        assert v.action == A.BLOCK and v.categories == ("third_party.contact",), v
        assert v.evidence[0].detector == "image_text"
    link = mod.check_image(render({"image_kind": "text", "content": "www.haohuo88.com"}), "agent")
    assert link.categories == ("third_party.link",)
    for clean in ("订单号 260112345678901234", "尺码表 S M L XL"):
        assert mod.check_image(render({"image_kind": "text", "content": clean})).action == A.ALLOW


def test_text_reading_can_be_switched_off_and_has_a_budget() -> None:
    from feige.moderation import ModerationConfig

    data = render({"image_kind": "text", "content": "wechat: lisa2024"})
    assert Moderator(ModerationConfig(ocr=False)).scan_image(data).text == ""
    rushed = Moderator(ModerationConfig(ocr_budget_s=0.0)).scan_image(data)
    assert not rushed.text_complete and rushed.text == ""
