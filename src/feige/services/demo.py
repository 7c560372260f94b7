"""The demo platform ``feige serve --demo`` seeds on its first run.

Besides the accounts, the demo holds the two weeks before the current one, lived inside
assessment hours and already assessed as the Tuesday job would have done, so that the figures,
their drill-downs and the measures show something at whatever hour the demo starts
(docs/rules.md §3, §4). Each shop is written to pass or fail particular metrics:

- 飞鸽旗舰店: quick and liked, one session transferred; passes everything.
- 云端数码专营店: slow answers; fails the average response time and the 3-minute reply rate.
- 优品生活馆: quick answers but unhappy buyers, and one abusive message blocked; fails the
  dissatisfaction rate.
- 夜猫子零食铺: an offline message taken late and buyers left unanswered (last week ten in a
  row, rule 2.2.1); fails the no-service rate, the 3-minute reply rate and the average
  response time.

Then enforcement (docs/enforcement.md), on 优品生活馆 so that a new user sees every part of it:
two hours ago a reviewer upheld two of its agent's blocked attempts to take payment off the
platform (third_party.payment, severe: 12 points each), whose 24 points imposed a warning, a
restriction of images and cards in effect for seven days and a deposit withholding; the owner
appealed the withholding (pending); the inbox holds the notices unread; and the buyer whose
abusive message was blocked last week is muted (rules 4.2).

The history goes through the same in-transaction steps as live chat (open, assign, wait,
transfer, append message, close, record), so it leaves exactly the rows and session events
the real paths leave; only the clock is scripted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from feige.domain import (
    US_PER_SECOND,
    AgentStatus,
    MemberRole,
    ModerationAction,
    SenderRole,
)
from feige.metrics import parse_week
from feige.routing import Outcome
from feige.services.assessment.job import (
    last_finished_week,
    next_run_after,
    save_assessment_sync,
)
from feige.services.assessment.summaries import metrics_config
from feige.services.context import Outbox, Principal
from feige.services.lib import appeals, assignment, conversation, enforcement, moderation_records
from feige.services.lib.accounts import (
    consumer_signed_in,
    create_member,
    create_shop,
    create_staff,
    hash_password,
)
from feige.services.lib.quick_replies import add_reply
from feige.services.lib.screening import shown_name
from feige.store import accounts as account_store
from feige.store import assessments as assessment_store
from feige.store import enforcement as enforcement_store
from feige.store import moderation_records as violation_store

DEMO_PASSWORD = "feige123"
CONSUMERS = [
    ("buyer1", "爱购物的小王"),
    ("buyer2", "李女士"),
    ("buyer3", "张先生"),
    ("buyer4", "Tom"),
    ("buyer5", "陈阿姨"),
    ("buyer6", "小周"),
    ("buyer7", "Lily"),
    ("buyer8", "赵同学"),
]
QUICK_REPLIES = [
    ("发货时间", "亲，付款后 48 小时内发货，请耐心等待哦～"),
    ("尺码建议", "亲，建议参考详情页尺码表，平时穿 M 码选 M 即可。"),
    ("退换货", "支持七天无理由退换货，请在订单页申请售后。"),
    ("感谢", "感谢您的支持，祝您购物愉快！"),
]
QUESTIONS = [
    ("你好，这件衣服有黑色吗？", "亲，有的，黑色和白色都有现货。"),
    ("今天下单什么时候发货？", "今天 16 点前下单当天发货哦。"),
    ("这个耳机支持降噪吗？", "支持的亲，主动降噪，通勤很好用。"),
    ("能开发票吗？", "可以的，下单时填写抬头即可开电子发票。"),
    ("快递是哪家？", "默认发顺丰，偏远地区发邮政。"),
    ("保质期多久？", "生产日期是上个月的，保质期 12 个月。"),
    ("可以便宜一点吗？", "亲，现在是活动价了，叠加店铺券更划算哦。"),
    ("收到的有点破损怎么办？", "非常抱歉，请拍照发给我们，马上给您补发。"),
    ("尺码偏大还是偏小？", "正常尺码，按平时穿的选就可以。"),
    ("什么时候到货？", "江浙沪一般次日达，其他地区 2-3 天。"),
]
BLOCKED_TEXT = "你们这群骗子，去死吧，傻逼"  # abuse (2.2.4): blocked, and the session risky
# An agent diverting payment off the platform (2.2.3, third_party.payment): blocked, severe.
PAYMENT_TEXTS = (
    "亲，加我支付宝 zfb：xiaomei_88 直接转账，能便宜二十",
    "卡号 6222 0212 3456 7890 128 工商银行，转账后马上发货",
)


@dataclass(frozen=True)
class Visit:
    """One scripted session; times are seconds after its start."""

    consumer: int  # index into CONSUMERS
    agent: int = 0  # index into the shop's agents
    replies: tuple[int | None, ...] = (20, 25)  # per round: the answer's delay, None: none
    rating: int | None = None
    offline_for: int = 0  # left as an offline message, taken by the agent this much later
    transfer_to: int | None = None  # handed to this agent after the first round
    blocked: bool = False  # the buyer then sends an abusive message, which is blocked


@dataclass(frozen=True)
class ShopPlan:
    name: str
    prefix: str
    agents: tuple[str, ...]


SHOPS = (
    ShopPlan("飞鸽旗舰店", "shop1", ("小红", "小明", "小刚")),
    ShopPlan("云端数码专营店", "shop2", ("阿杰", "阿美", "阿强")),
    ShopPlan("优品生活馆", "shop3", ("小雅", "小林")),
    ShopPlan("夜猫子零食铺", "shop4", ("阿龙", "阿珍")),
)
STREAK = 10  # rule 2.2.1: ten human sessions in a row closing unanswered


def _week_plans(last_week: bool) -> list[tuple[list[Visit], list[Visit]]]:
    """Per shop: the sessions spread over the week's days, and those of one afternoon."""
    quick = [
        Visit(i % 8, agent=i % 3, rating=r, transfer_to=1 if i == 3 else None)
        for i, r in enumerate((5, 5, 4, 5, 3, 5, 4, None, 5, 5, 4, None))
    ]
    slow = [
        Visit(i % 8, agent=i % 3, replies=(200 + 20 * i, 240) if i < 6 else (30, 20), rating=r)
        for i, r in enumerate((4, 5, 4, 3, 5, 4, 5, None, 4, 5))
    ]
    unhappy = [
        Visit(i % 8, agent=i % 2, replies=(15, 30), rating=r)
        for i, r in enumerate((2, 1, 3, 5, 2, 4, 3, 1, None, 2))
    ]
    if last_week:
        unhappy.append(Visit(7, agent=1, replies=(20,), blocked=True))
    understaffed = [
        Visit(i % 8, agent=i % 2, replies=(25, 35), rating=r)
        for i, r in enumerate((5, 5, 4, 5, None))
    ]
    understaffed.append(Visit(5, replies=(30,), rating=4, offline_for=40 * 60))
    left_unanswered = [Visit(k % 8, agent=k % 2, replies=(None,)) for k in range(STREAK)]
    if not last_week:
        understaffed += left_unanswered[:3]
        left_unanswered = []
    return [(quick, []), (slow, []), (unhappy, []), (understaffed, left_unanswered)]


def seed_demo(
    conn: Connection, settings: Any, moderator: Any, now: float
) -> list[dict[str, Any]] | None:
    """Create the demo platform once; returns the logins, or None when already seeded."""
    if account_store.has_staff(conn):
        return None
    logins: list[dict[str, Any]] = []
    pw = hash_password(DEMO_PASSWORD)
    create_staff(conn, "admin", pw, "admin", "平台管理员", now)
    reviewer_id = create_staff(conn, "reviewer", pw, "reviewer", "平台审核员", now)
    logins += [
        {"who": "平台管理员 admin", "username": "admin", "kind": "staff"},
        {"who": "平台审核员 reviewer", "username": "reviewer", "kind": "staff"},
    ]
    consumer_ids = [
        consumer_signed_in(conn, external, nick, now)["id"] for external, nick in CONSUMERS
    ]
    shops: list[tuple[dict[str, Any], list[int]]] = []
    for plan in SHOPS:
        shop = create_shop(
            conn,
            plan.name,
            f"{plan.prefix}_owner",
            pw,
            now,
            "您好，欢迎光临" + plan.name + "，请问有什么可以帮您？",
            "priority",
            10,
        )
        logins.append(
            {"who": f"{plan.name} 店主", "username": f"{plan.prefix}_owner", "kind": "member"}
        )
        agent_ids = []
        for i, agent_name in enumerate(plan.agents, start=1):
            username = f"{plan.prefix}_agent{i}"
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
                {"who": f"{plan.name} 客服 {agent_name}", "username": username, "kind": "member"}
            )
        for title, content in QUICK_REPLIES:
            add_reply(
                conn,
                {
                    "shop_id": shop["id"],
                    "member_id": None,
                    "title": title,
                    "content": content,
                    "created_at": now,
                },
            )
        shops.append((shop, agent_ids))
    history = History(conn, settings, moderator, consumer_ids)
    history.two_weeks(shops, now)
    history.enforcement(shops[2], reviewer_id, now)
    for external, nick in CONSUMERS:
        logins.append({"who": f"消费者 {nick}", "username": external, "kind": "consumer"})
    return logins


class History:
    """Plays the scripted sessions of the two finished weeks, then assesses both weeks."""

    def __init__(
        self, conn: Connection, settings: Any, moderator: Any, consumer_ids: list[int]
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.moderator = moderator
        self.consumer_ids = consumer_ids
        self.config = metrics_config(settings)
        self.tz = ZoneInfo(self.config.timezone)
        self.outbox = Outbox()  # nobody is connected yet: the events go nowhere
        # The first hour of the assessment day, plus one: every round starts inside hours.
        first = self.config.hours_start_s + 3600
        self.day_start = time(first // 3600, first % 3600 // 60)

    def two_weeks(self, shops: list[tuple[dict[str, Any], list[int]]], now: float) -> None:
        week_before = last_finished_week(now - 7 * 86400, self.config)
        last_week = last_finished_week(now, self.config)
        for name in (week_before, last_week):
            week = parse_week(name, self.config)
            monday = datetime.fromtimestamp(week.start_us / US_PER_SECOND, self.tz).date()
            plans = _week_plans(last_week=name == last_week)
            for index, ((shop, agent_ids), (spread, afternoon)) in enumerate(
                zip(shops, plans, strict=True)
            ):
                for i, visit in enumerate(spread):
                    # Day i % 7, a slot of 75 minutes per lap of the week; shops 12 min apart.
                    offset = (i // 7) * 75 * 60 + index * 12 * 60
                    self.play(shop, agent_ids, visit, self.at(monday, i % 7, offset))
                for k, visit in enumerate(afternoon):  # Wednesday, from four hours in
                    self.play(shop, agent_ids, visit, self.at(monday, 2, 4 * 3600 + k * 35 * 60))
        for name in (week_before, last_week):
            self.assess(name, now)

    def at(self, monday: Any, day: int, seconds: int) -> float:
        start = datetime.combine(monday + timedelta(days=day), self.day_start, self.tz)
        return start.timestamp() + seconds

    def say(
        self, session: dict[str, Any], role: SenderRole, sender: int, text: str, t: float
    ) -> None:
        conversation.append_message(
            self.conn,
            self.outbox,
            session,
            role=role,
            sender_id=sender,
            kind="text",
            content={"text": text},
            now=t,
        )

    def play(self, shop: dict[str, Any], agent_ids: list[int], visit: Visit, t: float) -> None:
        """One session as chat would have written it: the buyer's first message opens and
        routes it, the agent answers each round after its delay, then it closes (by the agent,
        or for idleness when the buyer was left waiting) and may be rated."""
        conn, consumer_id = self.conn, self.consumer_ids[visit.consumer]
        session = conversation.open_session(conn, shop["id"], consumer_id, "product", None, t)
        agent = agent_ids[visit.agent]
        if visit.offline_for:
            assignment.wait(conn, self.outbox, session, Outcome.OFFLINE, self.settings, t)
        else:
            assignment.assign(conn, self.outbox, session, shop, agent, t)
        answered_last = True
        for n, delay in enumerate(visit.replies):
            question, answer = QUESTIONS[(session["id"] + n) % len(QUESTIONS)]
            self.say(session, SenderRole.BUYER, consumer_id, question, t)
            if n == 0 and visit.offline_for:
                t += visit.offline_for
                assignment.assign(conn, self.outbox, session, shop, agent, t)  # taken by hand
            if delay is None:
                answered_last = False
                break
            t += delay
            self.say(session, SenderRole.AGENT, agent, answer, t)
            if n == 0 and visit.transfer_to is not None:
                t += 20
                target = account_store.member_by_id(conn, agent_ids[visit.transfer_to])
                assert target is not None
                name = shown_name(self.moderator, target)
                assignment.move_to(conn, self.outbox, session, target, name, t)
                agent = target["id"]
            t += 40
        if visit.blocked:
            self.block(session, visit, t)
        if answered_last:
            assignment.close(conn, self.outbox, session, "agent", t + 30)
            t += 30
        else:
            t += self.settings.session_idle_close_seconds + 5
            assignment.close(conn, self.outbox, session, "idle", t)
        if visit.rating is not None:
            t += 20
            conversation.rate(conn, self.outbox, session, visit.rating, t)

    def block(self, session: dict[str, Any], visit: Visit, t: float) -> None:
        """What chat does with a buyer's message the checks block: no message, a record for
        the reviewers, and a risky (invalid) session."""
        buyer = Principal(
            "consumer", session["consumer_id"], "consumer", CONSUMERS[visit.consumer][1]
        )
        verdict = self.moderator.check_text(
            BLOCKED_TEXT,
            role=buyer.sender_role.value,
            sender=buyer.channel,
            recipient=f"shop:{session['shop_id']}",
        )
        assert verdict.action is ModerationAction.BLOCK, verdict
        moderation_records.record_violation(
            self.conn,
            self.outbox,
            session=session,
            shop_id=session["shop_id"],
            message_id=None,
            principal=buyer,
            verdict=verdict,
            original={"kind": "text", "text": BLOCKED_TEXT},
            now=t,
            client_id=f"demo-{session['id']}-1",
        )

    def enforcement(
        self, plan: tuple[dict[str, Any], list[int]], reviewer_id: int, now: float
    ) -> None:
        """The enforcement loop on one shop, as the reviewer and the owner would have driven
        it two hours ago (see the module's docstring)."""
        conn, outbox = self.conn, self.outbox
        shop, agent_ids = plan
        policy = enforcement.policy_of(self.settings)
        agent_row = account_store.member_by_id(conn, agent_ids[0])
        assert agent_row is not None
        agent = Principal(
            "member", agent_row["id"], "agent", agent_row["display_name"], shop_id=shop["id"]
        )
        reviewer = Principal("staff", reviewer_id, "reviewer", "平台审核员")
        t = now - 3 * 3600
        buyer_id = self.consumer_ids[5]
        session = conversation.open_session(conn, shop["id"], buyer_id, "product", None, t)
        assignment.assign(conn, outbox, session, shop, agent.id, t)
        self.say(session, SenderRole.BUYER, buyer_id, "可以便宜一点吗？", t)
        records = []
        for n, text in enumerate(PAYMENT_TEXTS, start=1):
            t += 30
            verdict = self.moderator.check_text(
                text, role=agent.sender_role.value, sender=agent.channel, recipient=None
            )
            assert verdict.action is ModerationAction.BLOCK, verdict
            assert "third_party.payment" in verdict.categories, verdict
            records.append(
                moderation_records.record_violation(
                    conn,
                    outbox,
                    session=session,
                    shop_id=shop["id"],
                    message_id=None,
                    principal=agent,
                    verdict=verdict,
                    original={"kind": "text", "text": text},
                    now=t,
                    client_id=f"demo-pay-{session['id']}-{n}",
                )
            )
        t += 30
        self.say(session, SenderRole.AGENT, agent.id, "亲，现在是活动价了，叠加店铺券更划算哦。", t)
        assignment.close(conn, outbox, session, "agent", t + 60)
        # The reviewer upholds both: 24 points → warning, restriction, deposit withholding.
        decided_at = now - 2 * 3600
        for record_id in records:
            enforcement.review_violation(
                conn, outbox, reviewer, record_id, "confirmed", policy, decided_at
            )
        # ... and last week's abusive buyer of the shop: muted (docs/rules.md 4.2).
        abusive = [
            r
            for r in violation_store.list_violations(conn, "pending", shop["id"], 50)
            if r["sender_role"] == "buyer"
        ]
        for record in abusive[:1]:
            enforcement.review_violation(
                conn, outbox, reviewer, record["id"], "confirmed", policy, decided_at + 60
            )
        # The owner appeals the deposit withheld, with text: pending for another reviewer.
        owner_row = account_store.member_by_username(conn, f"{SHOPS[2].prefix}_owner")
        assert owner_row is not None
        owner = Principal(
            "member", owner_row["id"], "owner", owner_row["display_name"], shop_id=shop["id"]
        )
        (withheld,) = [
            m
            for m in enforcement_store.measures_of(conn, shop["id"], 50)
            if m["measure"] == "deposit_withholding"
        ]
        appeals.file_appeal(
            conn,
            outbox,
            owner,
            "measure",
            withheld["id"],
            "两条消息是新客服误发，已培训整改并删除相关账号，恳请退还保证金",
            [],
            policy,
            now - 3600,
        )

    def assess(self, week_name: str, now: float) -> None:
        """The weekly job's work for a finished week, claimed and finished like it: the
        scheduler's catch-up then finds it done."""
        week = parse_week(week_name, self.config)
        s = self.settings
        due = next_run_after(
            week.end_us / US_PER_SECOND, s.assessment_run_weekday, s.assessment_run_time, s.timezone
        )
        ran_at = min(due, now)
        assert assessment_store.claim_job(self.conn, "assessment", week.name, ran_at, "demo")
        save_assessment_sync(self.conn, week, self.config, ran_at)
        assessment_store.finish_job(self.conn, "assessment", week.name, ran_at)
