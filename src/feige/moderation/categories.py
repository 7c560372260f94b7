"""Compliance categories and their rule clauses, exactly as docs/rules.md names them."""

from __future__ import annotations

from typing import Final

THIRD_PARTY_LINK: Final = "third_party.link"
THIRD_PARTY_CONTACT: Final = "third_party.contact"
THIRD_PARTY_PAYMENT: Final = "third_party.payment"
THIRD_PARTY_QR_CODE: Final = "third_party.qr_code"
THIRD_PARTY_AD: Final = "third_party.ad"
ABUSE: Final = "abuse"
POLITICAL: Final = "political"
PORN_VULGAR_VIOLENCE: Final = "porn_vulgar_violence"
SPAM: Final = "spam"
FRAUD: Final = "fraud"
EXTORTION: Final = "extortion"
MISUSE: Final = "misuse"

#: category -> clause of the platform rules (docs/rules.md 2.2.3–2.2.10), in table order.
CLAUSES: Final[dict[str, str]] = {
    THIRD_PARTY_LINK: "2.2.3",
    THIRD_PARTY_CONTACT: "2.2.3",
    THIRD_PARTY_PAYMENT: "2.2.3",
    THIRD_PARTY_QR_CODE: "2.2.3",
    THIRD_PARTY_AD: "2.2.3",
    ABUSE: "2.2.4",
    POLITICAL: "2.2.5",
    PORN_VULGAR_VIOLENCE: "2.2.6",
    SPAM: "2.2.7",
    FRAUD: "2.2.8",
    EXTORTION: "2.2.9",
    MISUSE: "2.2.10",
}

CATEGORIES: Final[tuple[str, ...]] = tuple(CLAUSES)

#: Readable names for verdicts shown to people: (Chinese, English).
LABELS: Final[dict[str, tuple[str, str]]] = {
    THIRD_PARTY_LINK: ("站外链接", "off-platform link"),
    THIRD_PARTY_CONTACT: ("第三方联系方式", "third-party contact details"),
    THIRD_PARTY_PAYMENT: ("第三方支付/收款账户", "third-party payment account"),
    THIRD_PARTY_QR_CODE: ("二维码", "QR code"),
    THIRD_PARTY_AD: ("站外商品广告", "advertising outside the shop or platform"),
    ABUSE: ("辱骂/人身攻击", "abuse, insults, threats"),
    POLITICAL: ("政治有害信息", "political content"),
    PORN_VULGAR_VIOLENCE: ("色情/低俗/暴力", "pornographic, vulgar or violent content"),
    SPAM: ("垃圾广告/刷单引流", "spam or metric-gaming promotion"),
    FRAUD: ("诱导站外交易/诈骗", "fraud or off-platform payment"),
    EXTORTION: ("骚扰/威胁消费者", "harassing or threatening a consumer"),
    MISUSE: ("其他违规使用", "other misuse"),
}
