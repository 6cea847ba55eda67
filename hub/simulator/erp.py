"""The ERP: a relational database of invoiced customers, in the contract's exact DDL.

Clerks type these records from phone calls and paper forms: official given names (often both),
upper-case cities, abbreviated streets, old addresses nobody updated, first and last name swapped
(the world profile's `erp` habits), duplicates that were soft-deleted (or not). Soft-deleted
customers stay in the table and in the truth. Invoices follow each person's spend level; credit
notes are negative.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np

from hub.simulator import clock, identity, people, sqlite_store
from hub.simulator.world import World

FILE = "erp.sqlite"

SCHEMA = """
CREATE TABLE customer (
  customer_no    VARCHAR PRIMARY KEY,
  first_name     VARCHAR NOT NULL,
  last_name      VARCHAR NOT NULL,
  street_address VARCHAR NULL,
  postal_code    VARCHAR NULL,
  city           VARCHAR NULL,
  country_code   CHAR(2) NOT NULL DEFAULT 'FI',
  phone          VARCHAR NULL,
  email          VARCHAR NULL,
  birth_date     DATE NULL,
  marketing_ban  BOOLEAN NOT NULL,
  created_at     TIMESTAMP NOT NULL,
  updated_at     TIMESTAMP NOT NULL,
  is_deleted     BOOLEAN NOT NULL
);
CREATE TABLE invoice (
  invoice_no     VARCHAR PRIMARY KEY,
  customer_no    VARCHAR NOT NULL REFERENCES customer (customer_no),
  invoice_date   DATE NOT NULL,
  total_eur      NUMERIC(12,2) NOT NULL,
  status         VARCHAR NOT NULL,
  updated_at     TIMESTAMP NOT NULL
);
"""
INDEXES = """
CREATE INDEX ix_customer_updated_at ON customer (updated_at);
CREATE INDEX ix_invoice_updated_at ON invoice (updated_at);
CREATE INDEX ix_invoice_customer_no ON invoice (customer_no);
"""

FIRST_CUSTOMER_NO = 100_000
FIRST_INVOICE_NO = 10_000_001
INSERT_CUSTOMER = "INSERT INTO customer VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
INSERT_INVOICE = "INSERT INTO invoice VALUES (?,?,?,?,?,?)"
YEAR = np.timedelta64(365, "D")


def customer_no(number: int) -> str:
    return f"C{number:07d}"


def _customer_rows(
    world: World,
    idx: np.ndarray,
    created: np.ndarray,
    updated: np.ndarray,
    deleted: np.ndarray,
    numbers: list[str],
    rng: np.random.Generator,
    r: random.Random,
) -> tuple[list[tuple], np.ndarray]:
    """Customer rows and their final updated_at (a move learned later bumps it)."""
    pop, habits = world.pop, world.profile.erp
    firsts, lasts = identity.render_names(pop, idx, habits, world.profile, rng, r)
    addresses = identity.render_addresses(pop, idx, created, habits, rng, r, world.clock)
    phones = identity.render_phones(pop, idx, habits, rng)
    emails = identity.render_emails(pop, idx, habits, world.profile, rng, r)
    births = clock.sql_date(identity.render_births(pop, idx, habits, rng))
    bans = (rng.random(len(idx)) < 0.07).astype(int).tolist()
    updated = np.where(deleted, updated, np.fmax(updated, addresses.learned_at))
    created_text = clock.sql_timestamp(created)
    updated_text = clock.sql_timestamp(updated)
    rows = [
        (
            numbers[i],
            firsts[i],
            lasts[i],
            addresses.line(i) or None,
            addresses.postcode[i] or None,
            addresses.city[i] or None,
            "FI",
            phones[i] or None,
            emails[i] or None,
            births[i],
            bans[i],
            created_text[i],
            updated_text[i],
            int(deleted[i]),
        )
        for i in range(len(idx))
    ]
    return rows, updated


def _invoice_rows(
    rng: np.random.Generator,
    owners: list[str],
    spend: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    now: np.datetime64,
    first_no: int,
) -> list[tuple]:
    """Invoices of customers over their windows [start, end), with paid/open status and credit notes."""
    years = np.clip((end - start).astype(np.int64) / (365 * 86400), 0, None)
    counts = rng.poisson(1.2 * spend**0.8 * years)
    who = np.repeat(np.arange(len(owners)), counts)
    issued = clock.random_moments(rng, start[who], end[who])
    order = np.argsort(issued, kind="stable")
    who, issued = who[order], issued[order]
    amount = np.round(rng.lognormal(np.log(95), 0.85, size=len(who)) * spend[who] ** 0.35, 2)
    paid_at = issued + (rng.uniform(1, 45, size=len(who)) * 86400).astype("timedelta64[s]")
    paid = (paid_at < now) & (rng.random(len(who)) > 0.03)
    updated = np.where(paid, paid_at, issued)
    rows = [
        (f"L{first_no + i:08d}", owners[w], day, a, "paid" if p else "open", u)
        for i, (w, day, a, p, u) in enumerate(
            zip(
                who.tolist(),
                clock.sql_date(issued),
                amount.tolist(),
                paid.tolist(),
                clock.sql_timestamp(updated),
                strict=False,
            )
        )
    ]
    credited = np.flatnonzero(paid & (rng.random(len(who)) < 0.03))
    share = rng.choice([1.0, 0.5, 0.3], size=len(credited), p=[0.6, 0.25, 0.15])
    credit_at = updated[credited] + (rng.uniform(1, 60, size=len(credited)) * 86400).astype("timedelta64[s]")
    done = credit_at < now
    credited, share, credit_at = credited[done], share[done], credit_at[done]
    credit_days = clock.sql_date(credit_at)
    credit_times = clock.sql_timestamp(credit_at)
    for k, (i, s) in enumerate(zip(credited.tolist(), share.tolist(), strict=False)):
        rows.append(
            (
                f"H{first_no + i:08d}",
                owners[who[i]],
                credit_days[k],
                -round(amount[i] * s, 2),
                "credited",
                credit_times[k],
            )
        )
    return rows


def generate(world: World) -> list[tuple[str, str, str]]:
    """Write erp.sqlite for the whole population; returns the truth rows."""
    rng, r = world.streams("erp")
    pop = world.pop
    idx = np.repeat(np.arange(len(pop)), pop.in_erp)
    duplicate = np.zeros(len(idx), dtype=bool)
    duplicate[1:] = idx[1:] == idx[:-1]
    created = clock.random_moments(rng, np.full(len(idx), world.clock - 6 * YEAR), world.clock)
    order = np.argsort(created, kind="stable")
    idx, created, duplicate = idx[order], created[order], duplicate[order]
    ever_updated = rng.random(len(idx)) < 0.55
    updated = np.where(
        ever_updated,
        created + ((world.clock - created).astype(np.int64) * rng.random(len(idx)) ** 2).astype("timedelta64[s]"),
        created,
    )
    profile = world.profile
    deleted = (rng.random(len(idx)) < profile.erp_deleted) | (
        duplicate & (rng.random(len(idx)) < profile.erp_duplicate_deleted)
    )
    numbers = [customer_no(FIRST_CUSTOMER_NO + i) for i in range(len(idx))]
    rows, updated = _customer_rows(world, idx, created, updated, deleted, numbers, rng, r)

    end = np.where(deleted, updated, world.clock)
    lapsed = pop.lapsed_on[idx].astype("datetime64[s]")
    end = np.where(np.isnat(lapsed), end, np.minimum(end, lapsed))
    start = np.maximum(created, world.clock - 3 * YEAR)
    invoices = _invoice_rows(rng, numbers, pop.spend[idx], start, np.maximum(end, start), world.clock, FIRST_INVOICE_NO)

    conn = sqlite_store.create(world.out_dir / FILE, SCHEMA)
    conn.executemany(INSERT_CUSTOMER, rows)
    conn.executemany(INSERT_INVOICE, invoices)
    sqlite_store.finish(conn, INDEXES)
    return [("erp", no, people.person_key(p)) for no, p in zip(numbers, idx.tolist(), strict=False)]


def advance_day(
    world: World, owners: dict[str, int], joiners: np.ndarray, taken_phones: set[str]
) -> list[tuple[str, str, str]]:
    """One day of ERP life: some customers updated, new customers, new and paid invoices."""
    rng, r = world.streams("erp-day")
    pop, habits = world.pop, world.profile.erp
    conn = sqlite_store.connect(world.out_dir / FILE)
    conn.execute("BEGIN IMMEDIATE")
    active = [
        row[0] for row in conn.execute("SELECT customer_no FROM customer WHERE is_deleted = 0 ORDER BY customer_no")
    ]
    picks = np.sort(rng.choice(len(active), size=min(len(active), rng.binomial(len(active), 0.002)), replace=False))
    moments = clock.sql_timestamp(clock.random_moments(rng, np.full(len(picks), world.start), world.clock))
    kinds = rng.choice(5, size=len(picks), p=[0.35, 0.25, 0.15, 0.15, 0.10])
    for pick, kind, moment in zip(picks.tolist(), kinds.tolist(), moments, strict=False):
        number = active[pick]
        pid = owners[number]
        one = np.array([pid])
        if kind == 0:
            if not pop.prev_street[pid] or rng.random() < 0.5:
                people.relocate(pop, pid, rng, world.atlas, world.today)
            address = identity.render_addresses(pop, one, np.array([world.clock]), habits, rng, r, world.clock)
            conn.execute(
                "UPDATE customer SET street_address = ?, postal_code = ?, city = ?, updated_at = ?"
                " WHERE customer_no = ?",
                (address.line(0) or None, address.postcode[0] or None, address.city[0] or None, moment, number),
            )
        elif kind == 1:
            people.change_phone(pop, pid, rng, taken_phones)
            phone = identity.render_phones(pop, one, habits, rng)[0]
            conn.execute(
                "UPDATE customer SET phone = ?, updated_at = ? WHERE customer_no = ?", (phone or None, moment, number)
            )
        elif kind == 2:
            email = identity.render_emails(pop, one, habits, world.profile, rng, r)[0]
            conn.execute(
                "UPDATE customer SET email = ?, updated_at = ? WHERE customer_no = ?", (email or None, moment, number)
            )
        elif kind == 3:
            conn.execute(
                "UPDATE customer SET marketing_ban = 1 - marketing_ban, updated_at = ? WHERE customer_no = ?",
                (moment, number),
            )
        else:
            conn.execute("UPDATE customer SET is_deleted = 1, updated_at = ? WHERE customer_no = ?", (moment, number))

    next_no = _next_number(conn, "SELECT MAX(customer_no) FROM customer", FIRST_CUSTOMER_NO)
    created = np.sort(clock.random_moments(rng, np.full(len(joiners), world.start), world.clock))
    numbers = [customer_no(next_no + i) for i in range(len(joiners))]
    rows, _ = _customer_rows(world, joiners, created, created, np.zeros(len(joiners), dtype=bool), numbers, rng, r)
    conn.executemany(INSERT_CUSTOMER, rows)

    billable = active + numbers
    spend = np.array([pop.spend[owners[n]] if n in owners else 1.0 for n in active] + pop.spend[joiners].tolist())
    weights = spend / spend.sum()
    daily = rng.poisson(0.0033 * len(billable))
    chosen = rng.choice(len(billable), size=daily, p=weights) if daily and len(billable) else np.array([], dtype=int)
    issued = np.sort(clock.random_moments(rng, np.full(len(chosen), world.start), world.clock))
    amounts = np.round(rng.lognormal(np.log(95), 0.85, size=len(chosen)) * spend[chosen] ** 0.35, 2)
    first_invoice = _next_number(
        conn, "SELECT MAX(invoice_no) FROM invoice WHERE invoice_no LIKE 'L%'", FIRST_INVOICE_NO
    )
    conn.executemany(
        INSERT_INVOICE,
        [
            (f"L{first_invoice + i:08d}", billable[c], day, a, "open", t)
            for i, (c, day, a, t) in enumerate(
                zip(
                    chosen.tolist(), clock.sql_date(issued), amounts.tolist(), clock.sql_timestamp(issued), strict=False
                )
            )
        ],
    )
    due = (world.today - np.timedelta64(10, "D")).astype(str)
    open_invoices = [
        row[0]
        for row in conn.execute(
            "SELECT invoice_no FROM invoice WHERE status = 'open' AND invoice_date < ? ORDER BY invoice_no", (due,)
        )
    ]
    paying = [open_invoices[i] for i in np.flatnonzero(rng.random(len(open_invoices)) < 0.08).tolist()]
    paid_at = clock.sql_timestamp(clock.random_moments(rng, np.full(len(paying), world.start), world.clock))
    conn.executemany(
        "UPDATE invoice SET status = 'paid', updated_at = ? WHERE invoice_no = ?",
        list(zip(paid_at, paying, strict=False)),
    )
    conn.execute("COMMIT")
    conn.close()
    for number, p in zip(numbers, joiners.tolist(), strict=False):
        owners[number] = p
        pop.in_erp[p] += 1
    return [("erp", no, people.person_key(p)) for no, p in zip(numbers, joiners.tolist(), strict=False)]


def _next_number(conn: sqlite3.Connection, query: str, default: int) -> int:
    highest = conn.execute(query).fetchone()[0]
    return int(highest[1:]) + 1 if highest else default


def count(out_dir: Path) -> dict[str, int]:
    conn = sqlite_store.connect(out_dir / FILE)
    customers = conn.execute("SELECT COUNT(*) FROM customer").fetchone()[0]
    invoices = conn.execute("SELECT COUNT(*) FROM invoice").fetchone()[0]
    conn.close()
    return {"erp_customers": customers, "erp_invoices": invoices}
