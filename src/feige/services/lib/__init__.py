"""The library the actions call: the steps of a write job (functions of a ``Connection``:
visible session, record, flag, append message, assign, close, drain…), the checks before one
(``screening``, ``outgoing``, ``cards``) and the views every answer shares. It alone talks
to the store; its modules may call each other, never an action.
"""
