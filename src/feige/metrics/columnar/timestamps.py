"""ISO 8601 timestamps of a whole block at once, as the column engine reads them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feige.domain import US_PER_SECOND
from feige.metrics.columnar.arrays import BOOL, I64


def _calendar() -> tuple[I64, I64]:
    """Days from 1970-01-01 to the first of each month of years 0–9999, and the month's length
    (index ``year * 12 + month - 1``; year 0 is never valid)."""
    year = np.repeat(np.arange(10_000, dtype=np.int64), 12)
    m0 = np.tile(np.arange(12, dtype=np.int64), 10_000)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    cum = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], np.int64)
    dim = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
    y = year - 1
    first = y * 365 + y // 4 - y // 100 + y // 400 + cum[m0] + (leap & (m0 >= 2)) - 719162
    return first, dim[m0] + (leap & (m0 == 1))


_MONTH_FIRST_DAY, _MONTH_DAYS = _calendar()


def _layouts() -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The six accepted forms, by length − 19: per form and position, the allowed byte range."""
    forms = {6: "+DD:DD", 1: "Z", 10: ".DDD+DD:DD", 5: ".DDDZ", 13: ".DDDDDD+DD:DD", 8: ".DDDDDDZ"}
    by_rest = np.zeros(64, np.intp)  # 0: no accepted form
    lo = np.zeros((len(forms) + 1, 32), np.uint8)
    hi = np.zeros((len(forms) + 1, 32), np.uint8)
    for k, (rest, tail) in enumerate(forms.items(), 1):
        by_rest[rest] = k
        for i, c in enumerate("DDDD-DD-DDTDD:DD:DD" + tail):
            lo[k, i], hi[k, i] = (48, 57) if c == "D" else (43, 45) if c == "+" else (ord(c),) * 2
        hi[k, 19 + len(tail) :] = 255  # the zero padding after the text
    return by_rest, lo, hi


_FORM_BY_REST, _FORM_LO, _FORM_HI = _layouts()
_FORM_SPAN = _FORM_HI - _FORM_LO


def parse_ts_column(texts: list[str]) -> tuple[I64, BOOL]:
    """ISO 8601 timestamps → (epoch µs, ok) without a Python object per row.

    Handles ``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff](±HH:MM|Z)`` and checks every field as
    ``datetime.fromisoformat`` does (digits, ranges, day of month, offset under 24 h); rows it
    cannot vouch for have ``ok`` False and are left to :func:`parse_ts_us`. The texts become a
    32 × n byte matrix (one column per text), checked against the byte ranges of their form
    and read a position at a time.
    """
    n = len(texts)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.bool_)
    lens = np.fromiter(map(len, texts), np.int64, n)
    try:
        fixed = np.array(texts, "S32")  # longer texts are cut, but have no accepted form
    except UnicodeEncodeError:
        return np.zeros(n, np.int64), np.zeros(n, np.bool_)
    return _parse_ts_bytes(fixed.view(np.uint8).reshape(n, 32), lens)


def _parse_ts_bytes(rows: npt.NDArray[np.uint8], lens: I64) -> tuple[I64, BOOL]:
    """Texts as an n × 32 byte matrix (anything after each text's length) → (epoch µs, ok)."""
    form = _FORM_BY_REST[np.clip(lens - 19, 0, 63)]
    # Each byte within its form's range (one comparison: below the range wraps around). The
    # first 19 bytes are alike in every form; the 13 after them depend on it.
    head = (rows[:, :16] - _FORM_LO[1, :16]) > _FORM_SPAN[1, :16]
    tail = (rows[:, 16:] - _FORM_LO[form, 16:]) > _FORM_SPAN[form, 16:]
    words = head.view(np.uint64)  # 16 bools = 2 words per text
    more = tail.view(np.uint64)
    ok = ((words[:, 0] | words[:, 1] | more[:, 0] | more[:, 1]) == 0) & (form > 0)
    c = np.ascontiguousarray(rows.T).astype(np.int32)  # c[i]: the i-th byte of every text
    sign = np.choose(form, [c[0], c[19], c[19], c[23], c[23], c[26], c[26]])
    ok &= sign != 44  # ',' lies between '+' and '-'
    c -= 48
    year = c[0] * 1000 + c[1] * 100 + c[2] * 10 + c[3]
    month = c[5] * 10 + c[6]
    day = c[8] * 10 + c[9]
    hour = c[11] * 10 + c[12]
    minute = c[14] * 10 + c[15]
    second = c[17] * 10 + c[18]
    milli = c[20] * 100 + c[21] * 10 + c[22]
    micro = c[23] * 100 + c[24] * 10 + c[25]
    frac = np.where(form >= 5, milli * 1000 + micro, np.where(form >= 3, milli * 1000, 0))
    off_h = np.choose(form, [c[0], c[20] * 10 + c[21], c[0], c[24] * 10 + c[25], c[0],
                             c[27] * 10 + c[28], c[0]])  # fmt: skip
    off_m = np.choose(form, [c[0], c[23] * 10 + c[24], c[0], c[27] * 10 + c[28], c[0],
                             c[30] * 10 + c[31], c[0]])  # fmt: skip
    zulu = (form == 2) | (form == 4) | (form == 6)
    ok &= zulu | ((off_h < 24) & (off_m < 60))
    offset = np.where(zulu, 0, np.where(sign == 45, -60, 60) * (off_h * 60 + off_m))
    month_key = np.clip(year, 0, 9_999) * 12 + np.clip(month - 1, 0, 11)
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    ok &= day <= _MONTH_DAYS[month_key]
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    days = _MONTH_FIRST_DAY[month_key] + (day - 1)
    secs = ((days * 24 + hour) * 60 + minute) * 60 + second - offset
    out = np.where(ok, secs * US_PER_SECOND + frac, 0)
    return out, ok
