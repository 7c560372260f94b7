"""Sockets, fan-out and presence."""
