"""Who to greet on a given day: birthdays from golden birth dates, name days from an operator's calendar.

Someone born on 29 February is greeted on 28 February in years without one, so that the greeting
still comes in their birthday month and before the day rather than after it; a calendar's names of
29 February are greeted the same way. A calendar maps 'MM-DD' to the names of that day (parsing the
calendar file is the caller's business). Names compare in the folded form the matching uses
(``transforms.standardise.names.fold_name``): case, diacritics and hyphens do not matter, so
'PÄIVI' has her name day with 'Päivi' and 'Anna-Liisa' with 'Anna Liisa'.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd

from transforms.standardise.names import fold_name
from transforms.standardise.text import per_unique


def _greeted_month_days(day: date) -> list[tuple[int, int]]:
    """The (month, day) pairs celebrated on ``day``: 28 February also takes 29 February in common years."""
    pairs = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        pairs.append((2, 29))
    return pairs


def birthdays_on(profiles: pd.DataFrame, day: date) -> pd.DataFrame:
    """The rows of ``profiles`` whose birthday is celebrated on ``day``; unknown birth dates never match.

    ``birth_date`` may hold dates, timestamps or ISO strings; unreadable ones count as unknown.
    """
    born = pd.to_datetime(profiles["birth_date"], errors="coerce")
    wanted = pd.Series(False, index=profiles.index)
    for month, month_day in _greeted_month_days(day):
        wanted |= (born.dt.month == month) & (born.dt.day == month_day)
    return profiles.loc[wanted.to_numpy()]


def name_days_on(profiles: pd.DataFrame, name_days: Mapping[str, Sequence[str]], day: date) -> pd.DataFrame:
    """The rows of ``profiles`` with a name day on ``day``, with the calendar's spelling in ``name_day``.

    A customer matches on their whole first name or, when it holds several given names separated by
    spaces, on the first of them: 'Anna Maria' celebrates Anna's day, 'Anna-Liisa' only her own.
    A calendar key that is not a valid 'MM-DD' raises ``ValueError`` naming it.
    """
    names: dict[str, str] = {}
    for key, day_names in name_days.items():
        try:
            month_day = date(2000, int(key[:2]), int(key[3:])) if len(key) == 5 and key[2] == "-" else None
        except ValueError:
            month_day = None
        if month_day is None:
            raise ValueError(f"name-day calendar: key {key!r} is not a month and day 'MM-DD'")
        if (month_day.month, month_day.day) in _greeted_month_days(day):
            names.update({folded: name for name in day_names if (folded := fold_name(name))})
    whole = per_unique(profiles["first_name"], fold_name).map(names)
    first_given = per_unique(
        profiles["first_name"], lambda value: fold_name(value.split()[0]) if value.split() else None
    )
    matched = whole.where(whole.notna(), first_given.map(names))
    return profiles.loc[matched.notna().to_numpy()].assign(name_day=matched[matched.notna()].to_numpy())
