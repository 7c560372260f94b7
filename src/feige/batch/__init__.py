"""Long jobs over whole files, outside the server: the event-log assessment spread over forked
workers (:mod:`.event_log`), and the progress such a job shows on a terminal (:mod:`.progress`).
"""
