"""The demo platform ``feige serve --demo`` seeds on its first run."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection

from feige.domain import AgentStatus, EventType, MemberRole, SenderRole, SessionState
from feige.services.context import Outbox
from feige.services.lib.accounts import create_member, create_shop, create_staff, hash_password
from feige.services.lib.conversation import append_message, open_session, record
from feige.store import accounts as account_store
from feige.store import sql
from feige.store.tables import consumers, quick_replies, sessions

DEMO_PASSWORD = "feige123"
SHOPS = [
    ("飞鸽旗舰店", "shop1", ["小红", "小明", "小刚"]),
    ("云端数码专营店", "shop2", ["阿杰", "阿美", "阿强"]),
]
CONSUMERS = [
    ("buyer1", "爱购物的小王"),
    ("buyer2", "李女士"),
    ("buyer3", "张先生"),
    ("buyer4", "Tom"),
]
QUICK_REPLIES = [
    ("发货时间", "亲，付款后 48 小时内发货，请耐心等待哦～"),
    ("尺码建议", "亲，建议参考详情页尺码表，平时穿 M 码选 M 即可。"),
    ("退换货", "支持七天无理由退换货，请在订单页申请售后。"),
    ("感谢", "感谢您的支持，祝您购物愉快！"),
]
HISTORY = [
    (SenderRole.BUYER, "你好，这件衣服有黑色吗？"),
    (SenderRole.AGENT, "亲，有的，黑色和白色都有现货。"),
    (SenderRole.BUYER, "好的，今天下单什么时候发货？"),
    (SenderRole.AGENT, "今天 16 点前下单当天发货哦。"),
]


def seed_demo(conn: Connection, now: float) -> list[dict[str, Any]] | None:
    """Create the demo platform once; returns the logins, or None when already seeded."""
    if account_store.has_staff(conn):
        return None
    logins: list[dict[str, Any]] = []
    pw = hash_password(DEMO_PASSWORD)
    create_staff(conn, "admin", pw, "admin", "平台管理员", now)
    create_staff(conn, "reviewer", pw, "reviewer", "平台审核员", now)
    logins += [
        {"who": "平台管理员 admin", "username": "admin", "kind": "staff"},
        {"who": "平台审核员 reviewer", "username": "reviewer", "kind": "staff"},
    ]
    rng = random.Random(7)
    for name, prefix, agents in SHOPS:
        shop = create_shop(
            conn,
            name,
            f"{prefix}_owner",
            pw,
            now,
            "您好，欢迎光临" + name + "，请问有什么可以帮您？",
            "priority",
            10,
        )
        logins.append({"who": f"{name} 店主", "username": f"{prefix}_owner", "kind": "member"})
        agent_ids = []
        for i, agent_name in enumerate(agents, start=1):
            username = f"{prefix}_agent{i}"
            member = create_member(
                conn,
                {
                    "shop_id": shop["id"],
                    "username": username,
                    "password_hash": pw,
                    "role": MemberRole.AGENT.value,
                    "display_name": agent_name,
                    "status": AgentStatus.OFFLINE.value,
                    "capacity": 10,
                    "created_at": now,
                },
            )
            agent_ids.append(member["id"])
            logins.append(
                {"who": f"{name} 客服 {agent_name}", "username": username, "kind": "member"}
            )
        for title, content in QUICK_REPLIES:
            sql.insert_row(
                conn,
                quick_replies,
                shop_id=shop["id"],
                member_id=None,
                title=title,
                content=content,
                created_at=now,
            )
        consumer_ids = []
        for external, nick in CONSUMERS:
            row = account_store.consumer_by_external(conn, external)
            consumer_ids.append(
                row["id"]
                if row
                else sql.insert_row(
                    conn, consumers, external_id=external, nickname=nick, created_at=now
                )
            )
        for k, consumer_id in enumerate(consumer_ids[:2]):
            _seed_history(conn, shop["id"], consumer_id, agent_ids[k], now - 86400 * (k + 1), rng)
    for external, nick in CONSUMERS:
        logins.append({"who": f"消费者 {nick}", "username": external, "kind": "consumer"})
    return logins


def _seed_history(
    conn: Connection,
    shop_id: int,
    consumer_id: int,
    agent_id: int,
    start: float,
    rng: random.Random,
) -> None:
    session = open_session(conn, shop_id, consumer_id, "product", None, start)
    session.update(agent_id=agent_id, state=SessionState.ASSIGNED.value, assigned_at=start)
    sql.update_row(
        conn, sessions, session["id"], agent_id=agent_id, state=session["state"], assigned_at=start
    )
    record(conn, session, EventType.ASSIGNED, start, agent=str(agent_id))
    outbox = Outbox()
    t = start
    for role, text in HISTORY:
        t += rng.randint(5, 60)
        sender = consumer_id if role is SenderRole.BUYER else agent_id
        append_message(
            conn,
            outbox,
            session,
            role=role,
            sender_id=sender,
            kind="text",
            content={"text": text},
            now=t,
        )
    t += 60
    score = rng.choice([4, 5])
    sql.update_row(
        conn,
        sessions,
        session["id"],
        state=SessionState.CLOSED.value,
        closed_at=t,
        close_reason="agent",
        rating=score,
    )
    record(conn, session, EventType.CLOSED, t)
    record(conn, session, EventType.RATED, t + 5, score=score)
