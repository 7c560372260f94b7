"""The weekly assessment of a whole event log, column-wise (numpy) — the fast path.

Same definitions as :mod:`feige.metrics.summary` and :mod:`feige.metrics.assessment`
(docs/rules.md §3), computed with array operations over all events at once instead of a replay
and a summary object per session: :class:`ColumnLog` reads lines into typed columns
(:mod:`.log`, timestamps by :mod:`.timestamps`), :func:`assess_columns` turns them into a
week's results (:mod:`.assess`). The per-session replay stays the reference, and the tests
compare the two documents on random logs and the two decoders on odd lines.
"""

from feige.metrics.columnar.assess import assess_columns
from feige.metrics.columnar.log import ColumnLog
from feige.metrics.columnar.timestamps import parse_ts_column

__all__ = ["ColumnLog", "assess_columns", "parse_ts_column"]
