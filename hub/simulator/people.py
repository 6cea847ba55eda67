"""The simulated persons: who each one really is, before any system records them.

A `Population` is a set of columns (numpy arrays and string lists) indexed by person id, so a
million-record world is drawn with vectorised numpy and a few cheap list comprehensions. People
live in households (shared address, often a shared last name, sometimes one family email), some
have moved or changed their name, and each carries latent spend and engagement levels that drive
what the systems later record about them. Which systems a person is in is decided here too, since
`advance` needs to know who is not yet a customer somewhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date

import numpy as np

from hub.simulator import habits, namebook, wordlists
from hub.simulator.noise import email_fold
from hub.simulator.profiles import Profile

NOT_A_TIME = np.datetime64("NaT", "D")
HOUSEHOLD_SIZES, HOUSEHOLD_SHARES = [1, 2, 3, 4, 5], [0.40, 0.34, 0.12, 0.10, 0.04]


def person_key(pid: int) -> str:
    """The ground-truth identifier of a person in truth.csv."""
    return f"P{pid:07d}"


@dataclass
class Population:
    """Column store of persons; the person id is the row index."""

    sex: np.ndarray  # int8, 0 female, 1 male
    first: list[str]
    middle: list[str]  # second given name, '' when none
    last: list[str]  # current last name
    maiden: list[str]  # last name before a marriage, '' when unchanged
    birth: np.ndarray  # datetime64[D]
    household: np.ndarray  # int64
    street: list[str]
    number: list[str]
    unit: list[str]  # 'B 7', 'as 3' or ''
    postcode: list[str]
    city: list[str]
    prev_street: list[str]  # the address before the last move, '' when never moved
    prev_number: list[str]
    prev_unit: list[str]
    prev_postcode: list[str]
    prev_city: list[str]
    moved_on: np.ndarray  # datetime64[D], NaT when never moved
    phone: list[str]  # national mobile number '0401234567', '' when none
    email: list[str]  # personal address, '' when none
    email_alt: list[str]  # an older or second address, '' when none
    email_family: list[str]  # the household's shared address, '' when none
    spend: np.ndarray  # float64, latent spending level (1 is typical)
    engagement: np.ndarray  # float64 in [0, 1], how much marketing email is read
    lapsed_on: np.ndarray  # datetime64[D], when the person stopped buying and reading, NaT if active
    in_erp: np.ndarray  # int8, number of records the person has in each system
    in_webshop: np.ndarray
    in_loyalty: np.ndarray
    in_esp: np.ndarray
    guest: np.ndarray  # int8, 0 never checks out as a guest, 1 sometimes, 2 only as a guest
    namesake: np.ndarray  # int64, a person of the same first and last name in another household, -1 if none

    def __len__(self) -> int:
        return len(self.first)

    def extend(self, other: Population) -> None:
        """Append the persons of `other` (their ids continue this population's)."""
        for field in fields(self):
            mine = getattr(self, field.name)
            theirs = getattr(other, field.name)
            if isinstance(mine, list):
                mine.extend(theirs)
            else:
                setattr(self, field.name, np.concatenate([mine, theirs]))

    @classmethod
    def empty(cls) -> Population:
        """A population of nobody (a day on which nobody was born)."""
        arrays = {
            "birth": "datetime64[D]",
            "moved_on": "datetime64[D]",
            "lapsed_on": "datetime64[D]",
            "spend": np.float64,
            "engagement": np.float64,
            "household": np.int64,
            "namesake": np.int64,
        }
        return cls(
            **{
                f.name: (np.array([], dtype=arrays.get(f.name, np.int8)) if f.type != "list[str]" else [])
                for f in fields(cls)
            }
        )


@dataclass(frozen=True)
class StreetAtlas:
    """Every street of the simulated country with its city and postal code.

    Drawn from its own seed stream, so `advance` rebuilds the same atlas to move people around.
    """

    street: list[str]
    city: list[str]
    postcode: list[str]
    by_city: list[np.ndarray]  # street indices of each city of wordlists.CITIES
    city_weights: np.ndarray
    apartment_share: np.ndarray  # per city, the share of homes that are flats


def build_atlas(seed: int) -> StreetAtlas:
    rng = np.random.default_rng([seed, 7001])
    suffixes = list(wordlists.STREET_SUFFIXES)
    suffix_weights = np.array(wordlists.STREET_SUFFIX_WEIGHTS) / sum(wordlists.STREET_SUFFIX_WEIGHTS)
    streets: list[str] = []
    cities: list[str] = []
    postcodes: list[str] = []
    by_city: list[np.ndarray] = []
    table = wordlists.cities()
    for city in table:
        wanted = int(np.clip(city.weight * 1.5, 25, 900))
        names: list[str] = []
        seen: set[str] = set()
        while len(names) < wanted:
            stem = wordlists.STREET_STEMS[rng.integers(len(wordlists.STREET_STEMS))]
            name = stem + suffixes[rng.choice(len(suffixes), p=suffix_weights)]
            if name not in seen:
                seen.add(name)
                names.append(name)
        codes = rng.choice(len(city.postcodes), size=wanted)
        by_city.append(np.arange(len(streets), len(streets) + wanted))
        streets.extend(names)
        cities.extend([city.name] * wanted)
        postcodes.extend(city.postcodes[c] for c in codes)
    weights = np.array([city.weight for city in table])
    return StreetAtlas(
        street=streets,
        city=cities,
        postcode=postcodes,
        by_city=by_city,
        city_weights=weights / weights.sum(),
        apartment_share=np.where(weights >= 100, 0.72, 0.45),
    )


def draw_addresses(
    rng: np.random.Generator, atlas: StreetAtlas, count: int, cities: np.ndarray | None = None
) -> tuple[list[str], ...]:
    """`count` homes: (street, number, unit, postcode, city) columns; cities drawn if not given."""
    if cities is None:
        cities = rng.choice(len(atlas.city_weights), size=count, p=atlas.city_weights)
    picks = rng.random(count)
    street_idx = np.array(
        [
            atlas.by_city[c][int(p * len(atlas.by_city[c]))]
            for c, p in zip(cities.tolist(), picks.tolist(), strict=False)
        ],
        dtype=np.int64,
    )
    numbers = np.clip(rng.geometric(0.07, size=count), 1, 180)
    flat = rng.random(count) < atlas.apartment_share[cities]
    stairs = rng.choice(list("ABCDEFGH"), size=count, p=[0.34, 0.26, 0.16, 0.1, 0.06, 0.04, 0.02, 0.02])
    flats = np.clip(rng.geometric(0.06, size=count), 1, 140)
    flat_only = rng.random(count) < 0.2
    units = [
        ("" if not f else (f"as {a}" if only else f"{s} {a}"))
        for f, only, s, a in zip(flat.tolist(), flat_only.tolist(), stairs.tolist(), flats.tolist(), strict=False)
    ]
    return (
        [atlas.street[i] for i in street_idx],
        [str(n) for n in numbers.tolist()],
        units,
        [atlas.postcode[i] for i in street_idx],
        [atlas.city[i] for i in street_idx],
    )


def draw_phones(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    """Distinct national mobile numbers not in `taken` (which is updated)."""
    prefixes = rng.choice(len(wordlists.MOBILE_PREFIXES), size=count, p=wordlists.MOBILE_PREFIX_WEIGHTS)
    subscribers = rng.integers(0, 10_000_000, size=count)
    out = []
    for prefix, subscriber in zip(prefixes.tolist(), subscribers.tolist(), strict=False):
        number = f"{wordlists.MOBILE_PREFIXES[prefix]}{subscriber:07d}"
        while number in taken:
            subscriber = (subscriber * 7919 + 104729) % 10_000_000
            number = f"{wordlists.MOBILE_PREFIXES[prefix]}{subscriber:07d}"
        taken.add(number)
        out.append(number)
    return out


_EMAIL_PATTERNS = (
    "{f}.{l}",
    "{f}{l}",
    "{f}.{l}{n}",
    "{f}_{l}",
    "{fi}.{l}",
    "{f}{yy}",
    "{l}.{f}",
    "{f}{l}{yyyy}",
    "{f}.{mi}.{l}",
    "{f}{li}",
    "{w}{n}",
    "{l}{n}",
    "{f}.{l}.{yy}",
    "{fi}{l}",
)
_EMAIL_PATTERN_WEIGHTS = np.array([0.34, 0.07, 0.10, 0.03, 0.08, 0.05, 0.04, 0.04, 0.03, 0.05, 0.07, 0.04, 0.03, 0.03])


def compose_email(
    pattern: int, first: str, last: str, middle: str, birth_year: int, number: int, word: str, domain: str
) -> str:
    """An address following one of the habits Finns name their mailboxes by."""
    given = email_fold(first)
    family = email_fold(last)
    local = _EMAIL_PATTERNS[pattern].format(
        f=given,
        l=family,
        n=number,
        fi=given[:1],
        li=family[:1],
        mi=email_fold(middle)[:1] or given[:1],
        yy=f"{birth_year % 100:02d}",
        yyyy=birth_year,
        w=word,
    )
    return f"{local}@{domain}"


def make_unique(email: str, taken: set[str], r: random.Random) -> str:
    """Append digits until nobody else has the address, as a mail provider makes people do."""
    while email in taken:
        local, _, domain = email.partition("@")
        email = f"{local}{r.randrange(1, 1000)}@{domain}"
    taken.add(email)
    return email


def _family_email(last: str, firsts: list[str], r: random.Random, domain: str) -> str:
    family = email_fold(last)
    style = r.randrange(4)
    if style == 0:
        local = f"perhe.{family}"
    elif style == 1 and family.endswith("nen"):
        local = family[:-3] + "set"
    elif style == 2 and len(firsts) >= 2:
        local = f"{email_fold(firsts[0])}.ja.{email_fold(firsts[1])}"
    else:
        local = f"{family}.koti"
    return f"{local}@{domain}"


def _pairs(table: np.ndarray) -> zip:
    """Rows of a two-column array as Python tuples (far cheaper than a 2-D `tolist`)."""
    return zip(table[:, 0].tolist(), table[:, 1].tolist(), strict=False)


def _draw_names(rng: np.random.Generator, female: np.ndarray, table: Callable[[bool], namebook.NameTable]) -> list[str]:
    """One name per person from the women's or the men's table of `table`."""
    women, men = table(False), table(True)
    for_women = rng.choice(len(women.names), size=len(female), p=women.weights).tolist()
    for_men = rng.choice(len(men.names), size=len(female), p=men.weights).tolist()
    return [women.names[w] if f else men.names[m] for f, w, m in zip(female.tolist(), for_women, for_men, strict=True)]


def _household_sizes(rng: np.random.Generator, count: int) -> np.ndarray:
    """Sizes of households enough to hold ``count`` persons (the last is cut to fit by the caller). A draw
    of mostly single households can fall short: more are drawn then, as many as the first draw."""
    draw = count // 2 + 8
    sizes = rng.choice(HOUSEHOLD_SIZES, size=draw, p=HOUSEHOLD_SHARES)
    while sizes.sum() < count:
        sizes = np.concatenate([sizes, rng.choice(HOUSEHOLD_SIZES, size=draw, p=HOUSEHOLD_SHARES)])
    return sizes


def generate_population(
    count: int,
    seed: int,
    today: date,
    profile: Profile,
    stream: int = 0,
    first_household: int = 0,
    first_person: int = 0,
    taken_emails: set[str] | None = None,
    taken_phones: set[str] | None = None,
    atlas: StreetAtlas | None = None,
) -> Population:
    """Draw `count` persons living in households, deterministic in (seed, stream, profile).

    The persons get ids from `first_person` and their households from `first_household` on.
    `taken_emails` and `taken_phones` hold the addresses and numbers already in use (updated in
    place), so that persons born later in `advance` never collide with earlier ones. The profile's
    habits are drawn from a stream of their own, so two profiles share the same people underneath.
    """
    if count == 0:
        return Population.empty()
    rng = np.random.default_rng([seed, 1, stream])
    r = random.Random(f"{seed}:people:{stream}")
    habit_rng = np.random.default_rng([seed, 2, stream])
    habit_r = random.Random(f"{seed}:habits:{stream}")
    taken_emails = set() if taken_emails is None else taken_emails
    taken_phones = set() if taken_phones is None else taken_phones
    atlas = atlas or build_atlas(seed)
    today64 = np.datetime64(today, "D")

    sizes = _household_sizes(rng, count)
    household_local = np.repeat(np.arange(len(sizes)), sizes)[:count]
    sizes = np.bincount(household_local)
    households = len(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    role = np.arange(count) - starts[household_local]

    head_age = np.clip(rng.normal(50, 16, size=households), 19, 92)[household_local]
    age = head_age.copy()
    spouse = role == 1
    age[spouse] = np.clip(head_age[spouse] + rng.normal(0, 3.5, size=spouse.sum()), 18, 95)
    child = role >= 2
    child_age = head_age[child] - rng.uniform(22, 38, size=child.sum())
    roommate = np.zeros(count, dtype=bool)
    roommate[np.flatnonzero(child)[child_age < 18]] = True
    child_age = np.where(child_age < 18, head_age[child] + rng.normal(0, 2, size=child.sum()), child_age)
    age[child] = np.clip(child_age, 18, 95)
    birth = today64 - (age * 365.25).astype(np.int64).astype("timedelta64[D]")

    head_sex = rng.integers(0, 2, size=households)[household_local]
    sex = rng.integers(0, 2, size=count).astype(np.int8)
    sex[role == 0] = head_sex[role == 0]
    opposite = spouse & (rng.random(count) < 0.93)
    sex[opposite] = 1 - head_sex[opposite]

    female = sex == 0
    first = _draw_names(rng, female, namebook.first_names)
    second = _draw_names(rng, female, namebook.middle_names)
    has_middle = rng.random(count) < 0.85
    habits.give_similar_names(
        first,
        sex,
        child & ~roommate,
        birth,
        starts,
        sizes,
        profile.similar_names,
        profile.similar_twins,
        habit_rng,
        habit_r,
    )
    middle = [m if wanted and m != f else "" for f, m, wanted in zip(first, second, has_middle.tolist(), strict=True)]

    surnames = namebook.surnames()
    names = surnames.names
    own_last = rng.choice(len(names), size=count, p=surnames.weights)
    family_last = own_last[starts][household_local]
    # Wives mostly took their husband's name, husbands rarely; most replaced their own, some joined both.
    changes_name = spouse & (rng.random(count) < np.where(female, 0.75, 0.08))
    replaces = habit_rng.random(count) < profile.married_name_replaced
    takes_name = changes_name & replaces
    double_name = changes_name & ~replaces
    married_elsewhere = (role == 0) & female & (rng.random(count) < 0.15)
    other_last = rng.choice(len(names), size=count, p=surnames.weights)
    last: list[str] = []
    maiden: list[str] = []
    for rl, own, fam, other, elsewhere, replaced, takes, double, sp, mate in zip(
        role.tolist(),
        own_last.tolist(),
        family_last.tolist(),
        other_last.tolist(),
        married_elsewhere.tolist(),
        replaces.tolist(),
        takes_name.tolist(),
        double_name.tolist(),
        spouse.tolist(),
        roommate.tolist(),
        strict=False,
    ):
        if rl == 0 and elsewhere and other != own:
            last.append(names[own] if replaced else f"{names[other]}-{names[own]}")
            maiden.append(names[other])
        elif rl == 0:
            last.append(names[own])
            maiden.append("")
        elif takes and own != fam:
            last.append(names[fam])
            maiden.append(names[own])
        elif double and own != fam:
            last.append(f"{names[own]}-{names[fam]}")
            maiden.append(names[own])
        elif sp or mate:
            last.append(names[own])
            maiden.append("")
        else:
            last.append(names[fam])
            maiden.append("")
    namesake = habits.find_namesakes(first, last, household_local)

    home = draw_addresses(rng, atlas, households)
    kin = habits.find_kin([last[s] for s in starts.tolist()])
    moving = np.flatnonzero((kin >= 0) & (habit_rng.random(households) < profile.kin_neighbours))
    settled: set[int] = set()
    habits.move_together(home, moving, kin[moving], settled)
    near = np.flatnonzero((namesake >= 0) & (habit_rng.random(count) < profile.namesake_neighbours))
    habits.move_together(home, household_local[near], household_local[namesake[near]], settled)
    moved = rng.random(households) < 0.12
    same_city = rng.random(households) < 0.7
    previous_cities = rng.choice(len(atlas.city_weights), size=households, p=atlas.city_weights)
    city_index = {city.name: i for i, city in enumerate(wordlists.cities())}
    current_cities = np.array([city_index[c] for c in home[4]], dtype=np.int64)
    previous_cities = np.where(same_city, current_cities, previous_cities)
    previous = draw_addresses(rng, atlas, households, previous_cities)
    moved_days = rng.integers(20, 1100, size=households)
    moved_on_household = np.where(moved, today64 - moved_days.astype("timedelta64[D]"), NOT_A_TIME)

    def per_person(column: list[str], only_movers: bool = False) -> list[str]:
        if only_movers:
            return [column[h] if moved[h] else "" for h in household_local.tolist()]
        return [column[h] for h in household_local.tolist()]

    phone_known = rng.random(count) < 0.92
    phones = draw_phones(rng, count, taken_phones)
    phone = [p if k else "" for p, k in zip(phones, phone_known.tolist(), strict=False)]
    habits.share_household_phones(phone, starts, sizes, household_local, profile.household_phone, habit_rng)

    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    patterns = rng.choice(
        len(_EMAIL_PATTERNS), size=(count, 2), p=_EMAIL_PATTERN_WEIGHTS / _EMAIL_PATTERN_WEIGHTS.sum()
    )
    domain_weights = np.array(wordlists.EMAIL_DOMAIN_WEIGHTS) / sum(wordlists.EMAIL_DOMAIN_WEIGHTS)
    domains = rng.choice(len(wordlists.EMAIL_DOMAINS), size=(count, 2), p=domain_weights)
    numbers = rng.integers(1, 100, size=(count, 2))
    words = rng.integers(0, len(wordlists.EMAIL_WORDS), size=(count, 2))
    email_draw = rng.random((count, 3))
    email: list[str] = []
    email_alt: list[str] = []
    rows = zip(
        range(count),
        birth_year.tolist(),
        _pairs(patterns),
        _pairs(domains),
        _pairs(numbers),
        _pairs(words),
        zip(*(email_draw[:, k].tolist() for k in range(3)), strict=False),
        strict=False,
    )
    for i, year, pat, dom, num, word, draw in rows:
        given = first[i]
        nick = namebook.NICKNAMES.get(given)
        if nick and draw[2] < profile.nickname_email:
            given = nick[0]
        if draw[0] < 0.93:
            address = compose_email(
                pat[0],
                given,
                last[i],
                middle[i],
                year,
                num[0],
                wordlists.EMAIL_WORDS[word[0]],
                wordlists.EMAIL_DOMAINS[dom[0]],
            )
            email.append(make_unique(address, taken_emails, r))
        else:
            email.append("")
        if draw[1] < 0.22:
            surname = maiden[i] if maiden[i] and draw[2] < 0.6 else last[i]
            domain = dom[1] if dom[1] != dom[0] else (dom[1] + 1) % len(wordlists.EMAIL_DOMAINS)
            address = compose_email(
                pat[1],
                first[i],
                surname,
                middle[i],
                year,
                num[1],
                wordlists.EMAIL_WORDS[word[1]],
                wordlists.EMAIL_DOMAINS[domain],
            )
            email_alt.append(make_unique(address, taken_emails, r))
        else:
            email_alt.append("")

    family_mail = (sizes >= 2) & (rng.random(households) < profile.family_email)
    family_domains = rng.choice(len(wordlists.EMAIL_DOMAINS), size=households, p=domain_weights)
    household_email = [""] * households
    for h in np.flatnonzero(family_mail).tolist():
        s = int(starts[h])
        address = _family_email(last[s], first[s : s + int(sizes[h])], r, wordlists.EMAIL_DOMAINS[family_domains[h]])
        household_email[h] = make_unique(address, taken_emails, r)

    spend = rng.lognormal(0.0, 0.8, size=count)
    engagement = rng.beta(2.0, 2.5, size=count)
    lapsed = rng.random(count) < 0.22
    lapsed_on = np.where(lapsed, today64 - rng.integers(20, 400, size=count).astype("timedelta64[D]"), NOT_A_TIME)

    young = age < 50
    u = rng.random((count, 8))
    in_erp = (u[:, 0] < np.where(age >= 40, 0.40, 0.25)).astype(np.int8)
    in_erp[(in_erp == 1) & (u[:, 4] < 0.02)] = 2
    in_webshop = (u[:, 1] < np.where(young, 0.68, 0.48)).astype(np.int8)
    in_webshop[(in_webshop == 1) & (u[:, 5] < 0.05)] = 2
    in_loyalty = (u[:, 2] < 0.50).astype(np.int8)
    in_esp = (u[:, 3] < 0.34 + 0.65 * engagement).astype(np.int8)
    in_esp[(in_esp == 1) & (u[:, 6] < 0.03)] = 2
    guest = np.where(in_webshop > 0, (u[:, 7] < 0.15).astype(np.int8), 2 * (u[:, 7] < 0.38).astype(np.int8))

    return Population(
        sex=sex,
        first=first,
        middle=middle,
        last=last,
        maiden=maiden,
        birth=birth,
        household=household_local.astype(np.int64) + first_household,
        street=per_person(home[0]),
        number=per_person(home[1]),
        unit=per_person(home[2]),
        postcode=per_person(home[3]),
        city=per_person(home[4]),
        prev_street=per_person(previous[0], True),
        prev_number=per_person(previous[1], True),
        prev_unit=per_person(previous[2], True),
        prev_postcode=per_person(previous[3], True),
        prev_city=per_person(previous[4], True),
        moved_on=moved_on_household[household_local],
        phone=phone,
        email=email,
        email_alt=email_alt,
        email_family=[household_email[h] for h in household_local.tolist()],
        spend=spend,
        engagement=engagement,
        lapsed_on=lapsed_on,
        in_erp=in_erp,
        in_webshop=in_webshop,
        in_loyalty=in_loyalty,
        in_esp=in_esp,
        guest=guest.astype(np.int8),
        namesake=np.where(namesake >= 0, namesake + first_person, -1),
    )


def relocate(pop: Population, pid: int, rng: np.random.Generator, atlas: StreetAtlas, day: np.datetime64) -> None:
    """The household of `pid` moves to a new home (usually in the same city) on `day`."""
    members = np.flatnonzero(pop.household == pop.household[pid]).tolist()
    city_index = {city.name: i for i, city in enumerate(wordlists.cities())}
    cities = None
    if rng.random() < 0.7:
        cities = np.array([city_index[pop.city[pid]]])
    street, number, unit, postcode, city = (column[0] for column in draw_addresses(rng, atlas, 1, cities))
    for p in members:
        pop.prev_street[p], pop.prev_number[p], pop.prev_unit[p] = pop.street[p], pop.number[p], pop.unit[p]
        pop.prev_postcode[p], pop.prev_city[p] = pop.postcode[p], pop.city[p]
        pop.street[p], pop.number[p], pop.unit[p], pop.postcode[p], pop.city[p] = street, number, unit, postcode, city
        pop.moved_on[p] = day


def change_phone(pop: Population, pid: int, rng: np.random.Generator, taken: set[str]) -> None:
    """The person gets a new mobile number."""
    pop.phone[pid] = draw_phones(rng, 1, taken)[0]
