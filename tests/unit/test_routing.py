"""Routing (docs/rules.md 2.2.1): who gets a session, when it queues, when it is an
offline message."""

from __future__ import annotations

from feige.domain import AgentStatus, RoutingMode
from feige.routing import (
    AgentLoad,
    Outcome,
    can_go_offline,
    can_receive_transfer,
    choose_agent,
    drain_queue,
    free_seats,
    receive,
)

ON, BREAK, OFF = AgentStatus.ONLINE, AgentStatus.BREAK, AgentStatus.OFFLINE


def agent(
    i: int, status: AgentStatus = ON, load: int = 0, cap: int = 10, last: float = 0.0
) -> AgentLoad:
    return AgentLoad(i, status, cap, load, last)


def test_priority_prefers_the_last_agent_when_online_with_room() -> None:
    agents = [agent(1, load=5), agent(2, load=0)]
    assert choose_agent(agents, RoutingMode.PRIORITY, last_served_by=1) == 1
    assert choose_agent(agents, RoutingMode.EVEN, last_served_by=1) == 2


def test_priority_falls_back_to_least_loaded_when_last_agent_is_full_or_away() -> None:
    assert choose_agent([agent(1, load=10), agent(2, load=3)], RoutingMode.PRIORITY, 1) == 2
    assert choose_agent([agent(1, BREAK), agent(2, load=3)], RoutingMode.PRIORITY, 1) == 2
    assert choose_agent([agent(1, OFF), agent(2, load=3)], RoutingMode.PRIORITY, 1) == 2


def test_even_ties_go_to_the_longest_idle_agent() -> None:
    agents = [agent(1, load=2, last=200.0), agent(2, load=2, last=100.0), agent(3, load=4)]
    assert choose_agent(agents, RoutingMode.EVEN) == 2


def test_break_agents_get_no_new_sessions_but_make_buyers_queue() -> None:
    assert receive([agent(1, BREAK)], RoutingMode.EVEN).outcome is Outcome.QUEUE
    assert receive([agent(1, load=10)], RoutingMode.EVEN).outcome is Outcome.QUEUE


def test_nobody_online_or_on_break_means_offline_message() -> None:
    assert receive([agent(1, OFF), agent(2, OFF)], RoutingMode.PRIORITY).outcome is Outcome.OFFLINE
    assert receive([], RoutingMode.PRIORITY).outcome is Outcome.OFFLINE


def test_assign_outcome_names_the_agent() -> None:
    result = receive([agent(1, load=1), agent(2, load=0)], RoutingMode.EVEN)
    assert result.outcome is Outcome.ASSIGN and result.agent_id == 2


def test_drain_queue_is_first_come_first_served_and_respects_capacity() -> None:
    agents = [agent(1, load=9), agent(2, load=8, cap=9)]
    waiting = [(101, None), (102, None), (103, None)]
    # Two free seats (one each): the first two sessions are served in queue order.
    assert drain_queue(agents, RoutingMode.EVEN, waiting) == [(101, 2), (102, 1)]


def test_free_seats_count_only_online_agents_below_capacity() -> None:
    agents = [agent(1, load=7), agent(2, BREAK, load=0), agent(3, load=12), agent(4, OFF)]
    assert free_seats(agents) == 3  # break takes transfers only; an over-full agent adds none
    waiting = [(100 + i, None) for i in range(5)]
    assert len(drain_queue(agents, RoutingMode.EVEN, waiting)) == free_seats(agents)


def test_drain_queue_spreads_ties_across_agents() -> None:
    agents = [agent(1), agent(2)]
    pairs = drain_queue(agents, RoutingMode.EVEN, [(1, None), (2, None), (3, None), (4, None)])
    assert sorted(a for _, a in pairs) == [1, 1, 2, 2]


def test_drain_queue_honours_priority_for_returning_consumers() -> None:
    pairs = drain_queue([agent(1, load=3), agent(2)], RoutingMode.PRIORITY, [(7, 1), (8, None)])
    assert pairs == [(7, 1), (8, 2)]


def test_transfer_and_offline_rules() -> None:
    assert can_receive_transfer(agent(1, BREAK))
    assert not can_receive_transfer(agent(1, OFF))
    assert not can_receive_transfer(agent(1, load=10))
    assert can_go_offline(0) and not can_go_offline(1)
