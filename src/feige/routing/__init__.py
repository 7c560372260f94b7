"""Which agent gets a session (docs/rules.md 2.2.1). Pure: caller supplies loads and statuses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from feige.domain import AgentStatus, RoutingMode


@dataclass(frozen=True, slots=True)
class AgentLoad:
    agent_id: int
    status: AgentStatus
    capacity: int
    open_sessions: int
    last_assigned_at: float = 0.0

    @property
    def has_room(self) -> bool:
        return self.open_sessions < self.capacity

    @property
    def takes_new_sessions(self) -> bool:
        """Online and below capacity: break receives transfers only (docs/rules.md 2.2.1)."""
        return self.status is AgentStatus.ONLINE and self.has_room


class Outcome(StrEnum):
    ASSIGN = "assign"
    QUEUE = "queue"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Reception:
    outcome: Outcome
    agent_id: int | None = None


def _least_loaded(candidates: list[AgentLoad]) -> AgentLoad:
    # Least loaded first; ties go to whoever has waited longest since their last assignment,
    # then the lower id so the choice is deterministic.
    return min(candidates, key=lambda a: (a.open_sessions, a.last_assigned_at, a.agent_id))


def choose_agent(
    agents: list[AgentLoad], mode: RoutingMode, last_served_by: int | None = None
) -> int | None:
    """An online agent below capacity for a new session, or None when there is none."""
    available = [a for a in agents if a.takes_new_sessions]
    if not available:
        return None
    if mode is RoutingMode.PRIORITY and last_served_by is not None:
        for agent in available:
            if agent.agent_id == last_served_by:
                return agent.agent_id
    return _least_loaded(available).agent_id


def receive(
    agents: list[AgentLoad], mode: RoutingMode, last_served_by: int | None = None
) -> Reception:
    """Assign, queue (someone online or on break) or leave as an offline message (nobody)."""
    agent_id = choose_agent(agents, mode, last_served_by)
    if agent_id is not None:
        return Reception(Outcome.ASSIGN, agent_id)
    if any(a.status in (AgentStatus.ONLINE, AgentStatus.BREAK) for a in agents):
        return Reception(Outcome.QUEUE)
    return Reception(Outcome.OFFLINE)


def drain_queue(
    agents: list[AgentLoad],
    mode: RoutingMode,
    waiting: list[tuple[int, int | None]],
) -> list[tuple[int, int]]:
    """Assign queued sessions first come first served while capacity lasts.

    ``waiting`` is ``(session_id, last_served_by)`` in queue order; returns
    ``(session_id, agent_id)`` pairs. Loads are updated as sessions are handed out.
    """
    loads = {a.agent_id: a for a in agents}
    assignments: list[tuple[int, int]] = []
    tick = 1e18  # later than any real timestamp: the agent just used sorts last on ties
    for session_id, last_served_by in waiting:
        agent_id = choose_agent(list(loads.values()), mode, last_served_by)
        if agent_id is None:
            break
        current = loads[agent_id]
        tick += 1.0
        loads[agent_id] = AgentLoad(
            current.agent_id, current.status, current.capacity, current.open_sessions + 1, tick
        )
        assignments.append((session_id, agent_id))
    return assignments


def free_seats(agents: list[AgentLoad]) -> int:
    """How many new sessions the shop can take now: at most this many leave the queue."""
    return sum(a.capacity - a.open_sessions for a in agents if a.takes_new_sessions)


def can_receive_transfer(agent: AgentLoad) -> bool:
    """Transfers go to agents online or on break, below capacity (docs/rules.md 2.2.1)."""
    return agent.status in (AgentStatus.ONLINE, AgentStatus.BREAK) and agent.has_room


def can_go_offline(open_sessions: int) -> bool:
    """An agent may not go offline while still holding open sessions (docs/rules.md 2.2.1)."""
    return open_sessions == 0
