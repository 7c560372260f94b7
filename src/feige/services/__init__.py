"""The only place state changes and events are sent, in two levels (docs/architecture.md):
``actions`` — one module per kind of request, each action pure checks plus at most one
write job run by the group-commit writer, its events published after the commit — over
``lib``, the library of steps the actions share, which alone talks to the store.
"""
