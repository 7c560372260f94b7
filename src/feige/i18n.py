"""User-facing text, Chinese first with English available.

Errors and notices carry a stable ``code``; the text is looked up here in the caller's
language (``Accept-Language`` over HTTP, ``lang`` at WebSocket auth).
"""

from __future__ import annotations

from typing import Any

CATALOG: dict[str, tuple[str, str]] = {
    "unauthenticated": ("请先登录", "Please sign in"),
    "token_expired": ("登录已过期，请重新登录", "Your sign-in has expired; please sign in again"),
    "token_invalid": ("登录凭证无效", "The sign-in token is invalid"),
    "bad_credentials": ("用户名或密码错误", "Wrong username or password"),
    "bad_signature": ("平台签名无效或已过期", "The platform signature is invalid or expired"),
    "forbidden": ("无权进行此操作", "You are not allowed to do this"),
    "not_found": ("{what}不存在", "{what} not found"),
    "invalid": ("请求无效：{detail}", "Invalid request: {detail}"),
    "malformed": ("消息格式错误：{detail}", "Malformed message: {detail}"),
    "too_large": ("内容过长（上限 {limit}）", "Content too large (limit {limit})"),
    "unknown_kind": ("不支持的消息类型：{kind}", "Unsupported message kind: {kind}"),
    "unknown_op": ("不支持的操作：{op}", "Unsupported operation: {op}"),
    "session_closed": ("会话已结束", "The session is closed"),
    "not_your_session": ("该会话不由您接待", "You are not serving this session"),
    "agent_busy": ("该客服已达接待上限或不在线", "That agent is at capacity or unavailable"),
    "has_open_sessions": (
        "仍有 {count} 个进行中的会话，不能下线",
        "You still hold {count} open sessions and cannot go offline",
    ),
    "not_waiting": ("该会话不在排队或留言中", "That session is not waiting"),
    "robot_held_by_rule": (
        "店铺近 60 分钟平均响应时长过长，智能辅助已由规则自动开启，恢复正常前不能关闭",
        "The shop's rolling average response time is too long: the rule holds intelligent "
        "assist on, and it cannot be turned off until the figure recovers",
    ),
    "blacklisted": ("您暂时无法联系该店铺", "You cannot contact this shop at the moment"),
    "bad_image": ("图片无效：{detail}", "Invalid image: {detail}"),
    "duplicate": ("{what}已存在", "{what} already exists"),
    # --- enforcement (docs/enforcement.md) ---
    "robot_held_by_measure": (
        "店铺处于违规限制期，智能辅助被强制开启，至 {until} 前不能关闭",
        "Your shop is restricted for a violation: intelligent assist is forced on and "
        "cannot be turned off until {until}",
    ),
    "consumer_appeal_hint": (
        "如对处理有异议，请联系平台客服申诉，说明账号与被限制的时间；核实有误将立即解除",
        "If you disagree, contact the platform's customer service to appeal, with your "
        "account and when it was restricted; a mistake found is lifted at once",
    ),
    "feature_restricted": (
        "店铺处于违规限制期，暂不能发送{feature}（至 {until}）",
        "Your shop is restricted for a violation: it cannot send {feature} until {until}",
    ),
    "consumer_muted": (
        "您的账号因违规被禁言至 {until}",
        "Your account is muted for breaking the rules until {until}",
    ),
    "consumer_banned": (
        "您的账号因违规已被封禁，如有异议请联系平台",
        "Your account is banned for breaking the rules; contact the platform to appeal",
    ),
    "appeal_closed": ("无法申诉：{detail}", "No appeal possible: {detail}"),
    "own_decision": (
        "不能复核自己作出的决定",
        "You cannot decide an appeal against your own decision",
    ),
    "recalled_notice": ("该消息因违规已被撤回", "This message was recalled for breaking the rules"),
    "blocked": (
        "消息未发送：违反平台规则 {clauses}",
        "Message not sent: it breaks platform rule {clauses}",
    ),
    # --- accounts and tokens (docs/security.md) ---
    "integration_not_configured": (
        "平台集成未配置：请设置 FEIGE_PLATFORM_SECRET",
        "The marketplace integration is not configured: set FEIGE_PLATFORM_SECRET",
    ),
    "token_revoked": ("登录已失效，请重新登录", "This sign-in was revoked; please sign in again"),
    "username_unavailable": ("该用户名不可用，请换一个", "That username is not available"),
    "outranked": (
        "只能管理级别低于您的账号",
        "You can only manage accounts of a lower rank than yours",
    ),
    "last_owner": ("店铺至少需要一位店主", "A shop needs at least one owner"),
    "last_admin": ("平台至少需要一位管理员", "The platform needs at least one admin"),
    "wrong_password": ("当前密码错误", "The current password is wrong"),
    "agent_left_notice": (
        "原客服已离开，正在为您安排其他客服",
        "Your agent has left; we are finding you another one",
    ),
    # --- consumer-visible content (saved shop text, card links) -----------------------------
    "content_refused": (
        "内容未保存：{field} 违反平台规则 {clauses}",
        "Not saved: {field} breaks platform rule {clauses}",
    ),
    "knowledge_file": (
        "知识库未导入，以下行有误：{detail}",
        "The knowledge base was not imported; these rows are wrong: {detail}",
    ),
    "card_url_refused": (
        "卡片链接必须指向平台自己的域名：{field}",
        "Card links must point to the marketplace's own domains: {field}",
    ),
    # --- sockets and odd input (security: ws limits, idempotency, input checks) ---
    "idempotency_conflict": (
        "消息编号 {client_id} 已用于另一条消息，请换一个编号",
        "Message id {client_id} was already used for a different message; use a new id",
    ),
    # --- abuse limits and HTTP hardening (docs/security.md) ---
    "rate_limited": (
        "操作过于频繁，请 {retry_after} 秒后再试",
        "Too many requests; please try again in {retry_after} seconds",
    ),
    "too_many_sockets": (
        "该账号打开的连接过多（上限 {limit}）",
        "This account has too many open connections (limit {limit})",
    ),
    "request_too_large": ("请求内容过大（上限 {limit}）", "Request too large (limit {limit})"),
    "link_expired": ("链接已过期，请重新获取", "The link has expired; please request a new one"),
    "link_invalid": ("链接无效", "The link is invalid"),
    "welcome_default": ("您好，欢迎光临，请问有什么可以帮您？", "Hello, how can we help you?"),
    "transferred_notice": ("已为您转接至客服 {agent}", "You have been transferred to {agent}"),
    "closed_notice": ("会话已结束，感谢您的咨询", "The session has ended. Thank you."),
    # --- the full-auto robot (docs/robot-modes.md, "Full-auto") ---
    "robot_greeting": (
        "您好，我是店铺智能客服，请直接描述您的问题；需要人工服务请发送“转人工”或点击“转人工”按钮",
        "Hello, I am the shop's assistant robot: ask me anything; for a person, write "
        "“转人工” or press the “转人工” button",
    ),
    "robot_missed": (
        "抱歉，机器人暂时无法回答这个问题，您可以换个说法，或点击“转人工”",
        "Sorry, the robot cannot answer that yet: try other words, or press “转人工”",
    ),
    "handover_notice": (
        "正在为您转接人工客服，请稍候",
        "Handing you over to a person from the shop; please wait",
    ),
    "not_robot_session": ("该会话不由机器人接待", "The robot is not serving this session"),
    # --- a consumer's block of a shop (docs/web.md, "Blocking a shop") ---
    "shop_blocked": (
        "您已屏蔽该店铺，解除屏蔽后才能继续咨询",
        "You have blocked this shop; unblock it to chat with it again",
    ),
}


LANGUAGES = ("zh-CN", "en")
_default = "zh-CN"


def set_default_language(lang: str) -> None:
    """The platform's language (setting ``language``): what a client that names none reads,
    and the language of notices written into sessions."""
    global _default
    if lang not in LANGUAGES:
        raise ValueError(f"language: one of {', '.join(LANGUAGES)}, not {lang!r}")
    _default = lang


def default_language() -> str:
    return _default


def text(code: str, lang: str | None = None, **params: Any) -> str:
    lang = lang or _default
    zh, en = CATALOG.get(code, (code, code))
    template = en if lang.lower().startswith("en") else zh
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def pick_language(accept_language: str | None) -> str:
    """The first language the client accepts that we have; the platform's otherwise."""
    if not accept_language:
        return _default
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return _default
