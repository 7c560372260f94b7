"""The actions: the only place state changes and events are sent.

Each action is pure logic plus one store transaction (a write job run by the group-commit
writer) plus events published to the broker after the commit.
"""
