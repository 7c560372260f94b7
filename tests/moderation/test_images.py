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
