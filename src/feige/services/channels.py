"""The fan-out channels: every channel name, who listens on which, and who an event goes to.

``consumer:{id}``, ``member:{id}``, ``staff:{id}`` — an account's sockets;
``shop:{id}:supervisors`` — the shop's owners and managers; ``shop:{id}:agents`` — every
member of the shop (sessions waiting for any agent); ``platform:reviewers`` — violation
records; ``platform:revocations`` — every node's ``RevocationWatch`` (docs/security.md);
``platform:nodes`` — every node's broker, told by another that its publishes were lost
(``realtime/redis_broker.NODES``, docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from feige.domain import WAITING_STATES

if TYPE_CHECKING:
    from feige.services.context import Principal

REVIEWERS = "platform:reviewers"
REVOCATIONS = "platform:revocations"


def account(kind: str, account_id: int) -> str:
    """An account's own channel (``kind`` is ``consumer``, ``member`` or ``staff``)."""
    return f"{kind}:{account_id}"


def shop_agents(shop_id: int) -> str:
    return f"shop:{shop_id}:agents"


def shop_supervisors(shop_id: int) -> str:
    return f"shop:{shop_id}:supervisors"


def subscriptions(principal: Principal) -> list[str]:
    """The channels a socket of this principal listens on."""
    channels = [account(principal.kind, principal.id)]
    if principal.kind == "member" and principal.shop_id is not None:
        channels.append(shop_agents(principal.shop_id))
        if principal.is_supervisor:
            channels.append(shop_supervisors(principal.shop_id))
    if principal.kind == "staff":
        channels.append(REVIEWERS)
    return channels


def session_audience(session: dict[str, Any], *extra_agents: int | None) -> tuple[str, ...]:
    """Who sees a session's events: its consumer, its agent (and ``extra_agents``: one who
    just left it), the shop's supervisors, and while it waits every agent of the shop (who
    may take it)."""
    shop_id = session["shop_id"]
    channels = [account("consumer", session["consumer_id"]), shop_supervisors(shop_id)]
    for agent in (session["agent_id"], *extra_agents):
        if agent is not None:
            channels.append(account("member", agent))
    if session["state"] in WAITING_STATES:
        channels.append(shop_agents(shop_id))
    return tuple(dict.fromkeys(channels))


def agent_status_audience(member_id: int, shop_id: int) -> tuple[str, ...]:
    """Who hears an agent's status change: the agent and its shop's supervisors."""
    return account("member", member_id), shop_supervisors(shop_id)


def revocation_audience(kind: str, account_id: int) -> tuple[str, ...]:
    """The account's sockets, and every node's watch."""
    return account(kind, account_id), REVOCATIONS


def robot_audience(shop_id: int) -> tuple[str, ...]:
    """Who hears the robot's mode change (docs/rules.md 2.2.1): the shop's supervisors."""
    return (shop_supervisors(shop_id),)


def no_reply_alert_audience(shop_id: int) -> tuple[str, ...]:
    """Who hears that a shop left 10 sessions in a row unanswered (docs/rules.md 2.2.1): its
    supervisors, and the platform's reviewers (a record for them)."""
    return shop_supervisors(shop_id), REVIEWERS


def enforcement_audience(shop_id: int) -> tuple[str, ...]:
    """Who hears of a shop's measures, decisions and appeals live: its owners and managers."""
    return (shop_supervisors(shop_id),)


def restrictions_audience(shop_id: int) -> tuple[str, ...]:
    """Who hears what restricts a shop now (a measure started, ended or reversed): every
    member of the shop, agents included, whose composer holds the refused buttons."""
    return (shop_agents(shop_id),)


def suggestion_audience(agent_id: int) -> tuple[str, ...]:
    """Who sees the robot's suggestions for a buyer message (assist mode): the session's
    agent alone."""
    return (account("member", agent_id),)
