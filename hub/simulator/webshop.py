"""The webshop: WooCommerce customers and orders, stored as the JSON the REST API serves.

People type their own details here: nicknames, lower case, no umlauts, Swedish city names.
One email can hold one account, so a second account of the same person has another address.
Guest checkouts (customer_id 0) carry only a billing block, typed afresh for every order,
from people who never register and from account holders who did not log in.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hub.simulator import clock, identity, jsondoc, people, sqlite_store, wordlists, writes_log
from hub.simulator.identity import Addresses
from hub.simulator.world import World

FILE = "webshop.sqlite"

TABLES = (
    """
CREATE TABLE customer (
  id                INTEGER PRIMARY KEY,
  email             TEXT NOT NULL,
  date_modified_gmt TEXT NOT NULL,
  doc               TEXT NOT NULL
);
CREATE TABLE orders (
  id                INTEGER PRIMARY KEY,
  customer_id       INTEGER NOT NULL,
  status            TEXT NOT NULL,
  date_modified_gmt TEXT NOT NULL,
  doc               TEXT NOT NULL
);
"""
    + writes_log.WRITES_TABLE
)
INDEXES = """
CREATE INDEX ix_customer_modified ON customer (date_modified_gmt, id);
CREATE INDEX ix_orders_modified ON orders (date_modified_gmt, id);
CREATE INDEX ix_orders_status ON orders (status);
"""

FIRST_ORDER_ID = 1001
TWO_YEARS = np.timedelta64(730, "D")
_PRODUCT_WEIGHTS = 1.0 / np.arange(1, len(wordlists.PRODUCTS) + 1) ** 0.8
_PRODUCT_WEIGHTS = np.random.default_rng(0).permutation(_PRODUCT_WEIGHTS / _PRODUCT_WEIGHTS.sum())
_PRODUCT_PRICES = np.array([price for _, price in wordlists.PRODUCTS])


def product_id(index: int) -> int:
    return 101 + index


@dataclass
class Accounts:
    """A batch of rendered customer accounts, documents not yet encoded."""

    ids: list[int]
    persons: np.ndarray
    created: np.ndarray
    docs: list[dict[str, Any]]


def _billing(
    firsts: list[str], lasts: list[str], addresses: Addresses, emails: list[str], phones: list[str], split: np.ndarray
) -> list[dict[str, str]]:
    out = []
    for i, apart in enumerate(split.tolist()):
        unit = addresses.unit[i]
        out.append(
            {
                "first_name": firsts[i],
                "last_name": lasts[i],
                "company": "",
                "address_1": addresses.street[i] if apart and unit else addresses.line(i),
                "address_2": unit if apart else "",
                "city": addresses.city[i],
                "state": "",
                "postcode": addresses.postcode[i],
                "country": "FI",
                "email": emails[i],
                "phone": phones[i],
            }
        )
    return out


SHIPPING_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
)


def _shipping(billing: dict[str, str]) -> dict[str, str]:
    return {key: billing[key] for key in SHIPPING_FIELDS}


def _accounts(
    world: World,
    idx: np.ndarray,
    created: np.ndarray,
    first_id: int,
    used_emails: set[str],
    history: bool,
    rng: np.random.Generator,
    r: random.Random,
) -> Accounts:
    """Accounts for persons `idx` opened at `created` (sorted); persons without a free email get none."""
    pop, habits = world.pop, world.profile.webshop_account
    wanted = identity.render_emails(pop, idx, habits, world.profile, rng, r)
    keep: list[int] = []
    emails: list[str] = []
    for k, p in enumerate(idx.tolist()):
        for candidate in (wanted[k], pop.email[p], pop.email_alt[p], pop.email_family[p]):
            if candidate and candidate.lower() not in used_emails:
                used_emails.add(candidate.lower())
                keep.append(k)
                emails.append(candidate)
                break
    idx, created = idx[keep], created[keep]
    count = len(idx)
    firsts, lasts = identity.render_names(pop, idx, habits, world.profile, rng, r)
    addresses = identity.render_addresses(pop, idx, created, habits, rng, r, world.clock)
    phones = identity.render_phones(pop, idx, habits, rng)
    u = rng.random((count, 8))
    billing = _billing(firsts, lasts, addresses, emails, phones, u[:, 0] < 0.4)
    opted_in = u[:, 1] < 0.2 + 0.5 * pop.engagement[idx]
    age = (world.clock - created).astype(np.int64)
    if history:
        decided = np.where(u[:, 2] < 0.3, created + (age * u[:, 3]).astype("timedelta64[s]"), created)
        touched = np.where(u[:, 4] < 0.5, created + (age * u[:, 5]).astype("timedelta64[s]"), created)
        modified = np.fmax(np.fmax(decided, touched), addresses.learned_at)
    else:
        decided = modified = created
    elsewhere = np.flatnonzero(u[:, 6] >= 0.95)
    other = people.draw_addresses(rng, world.atlas, len(elsewhere))
    other_at = {int(k): j for j, k in enumerate(elsewhere.tolist())}
    ids = list(range(first_id, first_id + count))
    docs = []
    for k, (cid, c, m, d, yes, ship) in enumerate(
        zip(
            ids,
            clock.iso(created),
            clock.iso(modified),
            clock.iso(decided),
            opted_in.tolist(),
            u[:, 6].tolist(),
            strict=False,
        )
    ):
        bill = billing[k]
        if ship < 0.75:
            shipping = _shipping(bill)
        elif ship < 0.95:
            shipping = dict.fromkeys(SHIPPING_FIELDS, "")
        else:
            j = other_at[k]
            shipping = _shipping(bill) | {
                "address_1": f"{other[0][j]} {other[1][j]}",
                "address_2": other[2][j],
                "postcode": other[3][j],
                "city": other[4][j],
            }
        named = u[k, 7] < 0.85
        docs.append(
            {
                "id": cid,
                "date_created_gmt": c,
                "date_modified_gmt": m,
                "email": emails[k],
                "first_name": bill["first_name"] if named else "",
                "last_name": bill["last_name"] if named else "",
                "role": "customer",
                "username": emails[k].partition("@")[0].lower(),
                "billing": bill,
                "shipping": shipping,
                "is_paying_customer": False,
                "meta_data": [
                    {"id": cid * 10 + 1, "key": "newsletter_opt_in", "value": "yes" if yes else "no"},
                    {"id": cid * 10 + 2, "key": "newsletter_opt_in_at", "value": d},
                ],
            }
        )
    return Accounts(ids, idx, created, docs)


def _line_items(rng: np.random.Generator, spend: np.ndarray, first_item_id: int) -> tuple[list[list[dict]], list[str]]:
    """Line items and the order total for orders placed by people with these spend levels."""
    counts = np.clip(1 + rng.poisson(0.4 + 0.3 * spend), 1, 8)
    products = rng.choice(len(wordlists.PRODUCTS), size=int(counts.sum()), p=_PRODUCT_WEIGHTS)
    quantities = 1 + (rng.random(len(products)) < 0.2) + (rng.random(len(products)) < 0.05)
    line_totals = np.round(_PRODUCT_PRICES[products] * quantities, 2)
    ends = np.cumsum(counts).tolist()
    products_l, quantities_l, totals_l = products.tolist(), quantities.tolist(), line_totals.tolist()
    items: list[list[dict]] = []
    totals: list[str] = []
    start = 0
    for end in ends:
        items.append(
            [
                {
                    "id": first_item_id + j,
                    "product_id": product_id(products_l[j]),
                    "name": wordlists.PRODUCTS[products_l[j]][0],
                    "quantity": quantities_l[j],
                    "total": f"{totals_l[j]:.2f}",
                }
                for j in range(start, end)
            ]
        )
        totals.append(f"{sum(totals_l[start:end]):.2f}")
        start = end
    return items, totals


def _statuses(rng: np.random.Generator, created: np.ndarray, now: np.datetime64) -> tuple[list[str], np.ndarray]:
    """Order status and the moment it was last modified, by the order's age.

    An order whose completion, cancellation or refund would fall after `now` is still processing.
    """
    count = len(created)
    recent = (now - created) < np.timedelta64(3, "D")
    u = rng.random(count)
    status = np.where(
        recent,
        np.where(u < 0.6, "processing", np.where(u < 0.95, "completed", "cancelled")),
        np.where(u < 0.88, "completed", np.where(u < 0.94, "cancelled", "refunded")),
    )
    delay_days = np.select(
        [status == "completed", status == "cancelled", status == "refunded"],
        [rng.uniform(0.2, 4, count), rng.uniform(0, 2, count), rng.uniform(3, 30, count)],
        0.0,
    )
    modified = created + (delay_days * 86400).astype("timedelta64[s]")
    pending = modified >= now
    status[pending] = "processing"
    return status.tolist(), np.where(pending, created, modified)


def _guest_billing(
    world: World, persons: np.ndarray, created: np.ndarray, rng: np.random.Generator, r: random.Random
) -> list[dict[str, str]]:
    pop, habits = world.pop, world.profile.webshop_guest
    firsts, lasts = identity.render_names(pop, persons, habits, world.profile, rng, r)
    addresses = identity.render_addresses(pop, persons, created, habits, rng, r, world.clock)
    phones = identity.render_phones(pop, persons, habits, rng)
    emails = identity.render_emails(pop, persons, habits, world.profile, rng, r)
    emails = [
        e or pop.email[p] or pop.email_alt[p] or pop.email_family[p]
        for e, p in zip(emails, persons.tolist(), strict=False)
    ]
    return _billing(firsts, lasts, addresses, emails, phones, rng.random(len(persons)) < 0.3)


def _moved_billing(pop: people.Population, pid: int, billing: dict[str, str]) -> dict[str, str]:
    """The billing block of an order placed before its buyer moved: the old home."""
    line = f"{pop.prev_street[pid]} {pop.prev_number[pid]}"
    return billing | {
        "address_1": f"{line} {pop.prev_unit[pid]}".strip(),
        "address_2": "",
        "postcode": pop.prev_postcode[pid],
        "city": pop.prev_city[pid],
    }


def _orders(
    world: World,
    kinds: np.ndarray,
    owners: np.ndarray,
    created: np.ndarray,
    accounts: Accounts,
    first_id: int,
    first_item_id: int,
    rng: np.random.Generator,
    r: random.Random,
) -> tuple[list[tuple], list[tuple]]:
    """Order rows (sorted by creation) for account orders (kind 0, owner = account row) and guest
    orders (kind 1, owner = person); returns the rows and the truth rows of the guest orders."""
    pop = world.pop
    persons = owners.copy()
    account_orders = kinds == 0
    if account_orders.any():
        persons[account_orders] = accounts.persons[owners[account_orders]]
    guests = np.flatnonzero(kinds == 1)
    guest_billing = dict(
        zip(guests.tolist(), _guest_billing(world, persons[guests], created[guests], rng, r), strict=False)
    )
    items, totals = _line_items(rng, pop.spend[persons], first_item_id)
    statuses, modified = _statuses(rng, created, world.clock)
    moved_on = pop.moved_on[persons].astype("datetime64[s]")
    before_move = (~np.isnat(moved_on) & (created < moved_on)).tolist()
    rows = []
    truth = []
    created_text, modified_text = clock.iso(created), clock.iso(modified)
    for k, (kind, owner, pid) in enumerate(zip(kinds.tolist(), owners.tolist(), persons.tolist(), strict=False)):
        oid = first_id + k
        if kind == 0:
            customer_id = accounts.ids[owner]
            billing = accounts.docs[owner]["billing"]
            if before_move[k] and pop.prev_street[pid]:
                billing = _moved_billing(pop, pid, billing)
        else:
            customer_id = 0
            billing = guest_billing[k]
            truth.append(("webshop", f"order:{oid}", people.person_key(pid)))
        doc = {
            "id": oid,
            "parent_id": 0,
            "status": statuses[k],
            "currency": "EUR",
            "date_created_gmt": created_text[k],
            "date_modified_gmt": modified_text[k],
            "total": totals[k],
            "customer_id": customer_id,
            "billing": billing,
            "line_items": items[k],
        }
        rows.append((oid, customer_id, statuses[k], modified_text[k], jsondoc.dumps(doc)))
    return rows, truth


def _plan(
    rng: np.random.Generator, rate: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson arrivals at `rate` per year over each [start, end): (owner index, moment)."""
    years = np.clip((end - start).astype(np.int64) / (365 * 86400), 0, None)
    counts = rng.poisson(rate * years)
    owner = np.repeat(np.arange(len(rate)), counts)
    return owner, clock.random_moments(rng, start[owner], end[owner])


def _active_end(pop: people.Population, persons: np.ndarray, now: np.datetime64) -> np.ndarray:
    lapsed = pop.lapsed_on[persons].astype("datetime64[s]")
    return np.where(np.isnat(lapsed), now, np.minimum(lapsed, now))


def generate(world: World) -> list[tuple[str, str, str]]:
    """Write webshop.sqlite for the whole population; returns the truth rows."""
    rng, r = world.streams("webshop")
    pop = world.pop
    idx = np.repeat(np.arange(len(pop)), pop.in_webshop)
    created = clock.random_moments(rng, np.full(len(idx), world.clock - 5 * np.timedelta64(365, "D")), world.clock)
    order = np.argsort(created, kind="stable")
    accounts = _accounts(world, idx[order], created[order], 1, set(), True, rng, r)
    kept = np.bincount(accounts.persons, minlength=len(pop)).astype(np.int8)
    pop.in_webshop[:] = kept

    window_start = np.maximum(accounts.created, world.clock - TWO_YEARS)
    account_end = np.maximum(_active_end(pop, accounts.persons, world.clock), window_start)
    account_owner, account_at = _plan(rng, 1.1 * pop.spend[accounts.persons] ** 0.9, window_start, account_end)

    reachable = np.array(
        [bool(a or b or c) for a, b, c in zip(pop.email, pop.email_alt, pop.email_family, strict=False)]
    )
    pop.guest[~reachable] = 0
    buyers = np.flatnonzero(pop.guest > 0)
    rate = np.where(pop.guest[buyers] == 2, 1.0 * pop.spend[buyers] ** 0.7, 0.3)
    guest_start = np.full(len(buyers), world.clock - TWO_YEARS)
    guest_owner, guest_at = _plan(
        rng, rate, guest_start, np.maximum(_active_end(pop, buyers, world.clock), guest_start)
    )
    only_guest = pop.guest[buyers] == 2
    first_orders = np.flatnonzero(only_guest & (np.bincount(guest_owner, minlength=len(buyers)) == 0))
    guest_owner = np.concatenate([guest_owner, first_orders])
    guest_at = np.concatenate([guest_at, clock.random_moments(rng, guest_start[first_orders], world.clock)])

    kinds = np.concatenate([np.zeros(len(account_owner), dtype=np.int8), np.ones(len(guest_owner), dtype=np.int8)])
    owners = np.concatenate([account_owner, buyers[guest_owner]])
    moments = np.concatenate([account_at, guest_at])
    order = np.argsort(moments, kind="stable")
    order_rows, guest_truth = _orders(
        world, kinds[order], owners[order], moments[order], accounts, FIRST_ORDER_ID, 1, rng, r
    )
    for owner in np.unique(account_owner).tolist():
        accounts.docs[owner]["is_paying_customer"] = True

    conn = sqlite_store.create(world.out_dir / FILE, TABLES)
    conn.executemany(
        "INSERT INTO customer VALUES (?,?,?,?)",
        ((doc["id"], doc["email"], doc["date_modified_gmt"], jsondoc.dumps(doc)) for doc in accounts.docs),
    )
    conn.executemany("INSERT INTO orders VALUES (?,?,?,?,?)", order_rows)
    sqlite_store.finish(conn, INDEXES)
    truth = [
        ("webshop", str(cid), people.person_key(p))
        for cid, p in zip(accounts.ids, accounts.persons.tolist(), strict=False)
    ]
    return truth + guest_truth


def _max_id(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]


def _max_item_id(conn: sqlite3.Connection) -> int:
    doc = conn.execute("SELECT doc FROM orders ORDER BY id DESC LIMIT 1").fetchone()
    return max((item["id"] for item in jsondoc.loads(doc[0])["line_items"]), default=0) if doc else 0


def advance_day(
    world: World, owners: dict[str, int], joiners: np.ndarray, taken_phones: set[str]
) -> list[tuple[str, str, str]]:
    """One day of webshop life: edited accounts, new accounts, new orders, orders completed."""
    rng, r = world.streams("webshop-day")
    pop = world.pop
    conn = sqlite_store.connect(world.out_dir / FILE)
    conn.execute("BEGIN IMMEDIATE")
    ids = [row[0] for row in conn.execute("SELECT id FROM customer ORDER BY id")]
    picks = np.sort(rng.choice(len(ids), size=min(len(ids), rng.binomial(len(ids), 0.003)), replace=False))
    moments = clock.iso(np.sort(clock.random_moments(rng, np.full(len(picks), world.start), world.clock)))
    for pick, moment in zip(picks.tolist(), moments, strict=False):
        cid = ids[pick]
        pid = owners[str(cid)]
        doc = jsondoc.loads(conn.execute("SELECT doc FROM customer WHERE id = ?", (cid,)).fetchone()[0])
        _edit_account(world, doc, pid, moment, taken_phones, rng, r)
        conn.execute(
            "UPDATE customer SET date_modified_gmt = ?, doc = ? WHERE id = ?", (moment, jsondoc.dumps(doc), cid)
        )

    used = {row[0].lower() for row in conn.execute("SELECT email FROM customer")}
    created = np.sort(clock.random_moments(rng, np.full(len(joiners), world.start), world.clock))
    accounts = _accounts(world, joiners, created, _max_id(conn, "customer") + 1, used, False, rng, r)
    conn.executemany(
        "INSERT INTO customer VALUES (?,?,?,?)",
        ((doc["id"], doc["email"], doc["date_modified_gmt"], jsondoc.dumps(doc)) for doc in accounts.docs),
    )
    truth = [
        ("webshop", str(cid), people.person_key(p))
        for cid, p in zip(accounts.ids, accounts.persons.tolist(), strict=False)
    ]
    for cid, p in zip(accounts.ids, accounts.persons.tolist(), strict=False):
        owners[str(cid)] = p
        pop.in_webshop[p] += 1

    all_ids = np.array(ids + accounts.ids, dtype=np.int64)
    holders = np.array([owners[str(cid)] for cid in all_ids.tolist()], dtype=np.int64)
    active = np.isnat(pop.lapsed_on[holders])
    daily = rng.poisson(np.where(active, 1.1 * pop.spend[holders] ** 0.9 / 365, 0))
    buyers_at = np.repeat(np.arange(len(all_ids)), daily)
    chosen = sorted(set(all_ids[buyers_at].tolist()))
    known = (
        {
            row[0]: jsondoc.loads(row[1])
            for row in conn.execute(f"SELECT id, doc FROM customer WHERE id IN ({','.join('?' * len(chosen))})", chosen)
        }
        if chosen
        else {}
    )
    picked = Accounts(
        ids=[int(all_ids[b]) for b in buyers_at.tolist()],
        persons=holders[buyers_at],
        created=np.zeros(len(buyers_at), dtype="datetime64[s]"),
        docs=[known[int(all_ids[b])] for b in buyers_at.tolist()],
    )
    guests = np.flatnonzero((pop.guest > 0) & np.isnat(pop.lapsed_on))
    guest_daily = rng.poisson(np.where(pop.guest[guests] == 2, 1.0 * pop.spend[guests] ** 0.7, 0.3) / 365)
    guest_persons = np.repeat(guests, guest_daily)
    kinds = np.concatenate([np.zeros(len(buyers_at), dtype=np.int8), np.ones(len(guest_persons), dtype=np.int8)])
    order_owners = np.concatenate([np.arange(len(buyers_at)), guest_persons])
    placed = clock.random_moments(rng, np.full(len(kinds), world.start), world.clock)
    order = np.argsort(placed, kind="stable")
    rows, guest_truth = _orders(
        world,
        kinds[order],
        order_owners[order],
        placed[order],
        picked,
        _max_id(conn, "orders") + 1,
        _max_item_id(conn) + 1,
        rng,
        r,
    )
    conn.executemany("INSERT INTO orders VALUES (?,?,?,?,?)", rows)

    processing = conn.execute("SELECT id, doc FROM orders WHERE status = 'processing' ORDER BY id").fetchall()
    cutoff = clock.iso(np.array([world.start - np.timedelta64(1, "D")]))[0]
    finished = 0
    for (oid, text), u in zip(processing, rng.random(len(processing)).tolist(), strict=False):
        doc = jsondoc.loads(text)
        if doc["date_created_gmt"] < cutoff and u < 0.7:
            finished += 1
            moment = clock.iso(clock.random_moments(rng, np.array([world.start]), world.clock))[0]
            doc["status"] = "completed" if u < 0.66 else "cancelled"
            doc["date_modified_gmt"] = moment
            conn.execute(
                "UPDATE orders SET status = ?, date_modified_gmt = ?, doc = ? WHERE id = ?",
                (doc["status"], moment, jsondoc.dumps(doc), oid),
            )
    conn.execute("COMMIT")
    conn.close()
    return truth + guest_truth


def _edit_account(
    world: World, doc: dict[str, Any], pid: int, moment: str, taken_phones: set[str], rng: np.random.Generator, r
) -> None:
    """A customer edits their account: a new address, a new phone or a changed newsletter choice."""
    pop, habits = world.pop, world.profile.webshop_account
    one = np.array([pid])
    kind = rng.choice(3, p=[0.4, 0.25, 0.35])
    doc["date_modified_gmt"] = moment
    if kind == 0:
        if not pop.prev_street[pid] or rng.random() < 0.5:
            people.relocate(pop, pid, rng, world.atlas, world.today)
        addresses = identity.render_addresses(pop, one, np.array([world.clock]), habits, rng, r, world.clock)
        doc["billing"] |= {
            "address_1": addresses.line(0),
            "address_2": "",
            "postcode": addresses.postcode[0],
            "city": addresses.city[0],
        }
        if doc["shipping"]["address_1"]:
            doc["shipping"] = _shipping(doc["billing"])
    elif kind == 1:
        people.change_phone(pop, pid, rng, taken_phones)
        doc["billing"]["phone"] = identity.render_phones(pop, one, habits, rng)[0]
    else:
        for meta in doc["meta_data"]:
            if meta["key"] == "newsletter_opt_in":
                meta["value"] = "no" if meta["value"] == "yes" else "yes"
            elif meta["key"] == "newsletter_opt_in_at":
                meta["value"] = moment


def count(out_dir: Path) -> dict[str, int]:
    conn = sqlite_store.connect(out_dir / FILE)
    customers = conn.execute("SELECT COUNT(*) FROM customer").fetchone()[0]
    orders = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    guests = conn.execute("SELECT COUNT(*) FROM orders WHERE customer_id = 0").fetchone()[0]
    conn.close()
    return {"webshop_customers": customers, "webshop_orders": orders, "webshop_guest_orders": guests}
