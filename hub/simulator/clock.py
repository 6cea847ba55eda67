"""The simulated clock and the time formats of the four systems.

All times are UTC and held as numpy `datetime64[s]`, so whole columns are drawn and formatted
at once. A generated world ends at 06:00 on `today`: the night's batch jobs have run, and every
record generated is strictly older than the clock, so anything a later `advance` or a write to
the server stamps is strictly newer than everything before it.
"""

from __future__ import annotations

from datetime import date, datetime, time

import numpy as np

CLOCK_TIME = time(6, 0)
SECOND = np.timedelta64(1, "s")
DAY = np.timedelta64(1, "D")

# When people shop and read email, by hour of the day (UTC, Finland being UTC+2/+3).
_HOUR_WEIGHTS = np.array([1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 12, 12, 10, 7, 4, 2, 1], dtype=float)
_HOUR_WEIGHTS /= _HOUR_WEIGHTS.sum()


def start_clock(today: date) -> datetime:
    """The clock of a freshly generated world."""
    return datetime.combine(today, CLOCK_TIME)


def seconds(moment: datetime | date) -> np.datetime64:
    """A Python date or datetime as a numpy second."""
    return np.datetime64(moment, "s")


def random_moments(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray | np.datetime64, size: int | None = None
) -> np.ndarray:
    """Uniform instants in [start, end), strictly before `end`; empty spans give `start`."""
    start = np.asarray(start, dtype="datetime64[s]")
    end = np.asarray(end, dtype="datetime64[s]")
    if size is None:
        size = int(np.broadcast(start, end).size)
    span = np.maximum((end - start).astype(np.int64), 1)
    offsets = (rng.random(size) * span).astype(np.int64)
    return start + offsets.astype("timedelta64[s]")


# When shops are open (local time, as the loyalty vendor writes it).
SHOP_HOURS = np.array([0, 0, 0, 0, 0, 0, 0, 1, 4, 6, 8, 9, 10, 9, 9, 10, 11, 12, 11, 9, 6, 3, 1, 0], dtype=float)
SHOP_HOURS /= SHOP_HOURS.sum()


def moments_in_days(rng: np.random.Generator, days: np.ndarray, hours: np.ndarray = _HOUR_WEIGHTS) -> np.ndarray:
    """An instant within each given day, at the hours given by `hours` (people awake by default)."""
    hours = rng.choice(24, size=len(days), p=hours).astype(np.int64)
    within = hours * 3600 + rng.integers(0, 3600, size=len(days))
    return days.astype("datetime64[D]").astype("datetime64[s]") + within.astype("timedelta64[s]")


def iso(moments: np.ndarray) -> list[str]:
    """'2025-03-01T12:00:00' for each instant (the JSON form of both HTTP systems)."""
    return np.datetime_as_string(moments.astype("datetime64[s]"), unit="s").tolist()


def sql_timestamp(moments: np.ndarray) -> list[str]:
    """'2025-03-01 12:00:00' for each instant (the form SQLAlchemy's SQLite DateTime reads)."""
    return [text.replace("T", " ") for text in iso(moments)]


def sql_date(days: np.ndarray) -> list[str | None]:
    """'2025-03-01' for each day, None for NaT."""
    texts = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()
    return [None if text == "NaT" else text for text in texts]


def finnish_date(days: np.ndarray) -> list[str]:
    """'01.03.2025' for each day, '' for NaT (the loyalty vendor's dialect)."""
    texts = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()
    return ["" if t == "NaT" else f"{t[8:10]}.{t[5:7]}.{t[:4]}" for t in texts]


def finnish_time(moments: np.ndarray) -> list[str]:
    """'01.03.2025 12:00' for each instant."""
    return [f"{t[8:10]}.{t[5:7]}.{t[:4]} {t[11:16]}" for t in iso(moments)]


def parse_iso(text: str) -> datetime:
    """An ISO 8601 instant from a query string, as naive UTC (offsets and 'Z' converted).

    An unencoded '+' of an offset arrives as a space; it is put back.
    """
    text = text.strip().replace("Z", "+00:00")
    text = text[:11] + text[11:].replace(" ", "+")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = (moment - moment.utcoffset()).replace(tzinfo=None)
    return moment
