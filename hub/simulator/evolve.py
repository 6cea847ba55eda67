"""`advance`: let simulated days pass in a generated world.

Each day some people are born into the population, some existing people become customers of a
system they were not in, and every system changes a small share of its records (moves, new
phones, consent flips, orders, invoices, a campaign, the loyalty night drop). Only changed
records get new modification times, all strictly inside the day, so an incremental reader can
prove it reads exactly what changed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from hub.simulator import clock, erp, esp, loyalty, state, truth, webshop
from hub.simulator.generate import without_gc
from hub.simulator.meta import SimulatorMeta, load_meta, save_meta
from hub.simulator.people import Population, build_atlas, generate_population
from hub.simulator.world import World

NEWCOMERS_PER_DAY = 0.0005  # share of the population born into it each day
JOINING_PER_DAY = {"erp": 0.0003, "webshop": 0.0005, "loyalty": 0.0003, "esp": 0.0004}


def _membership(pop: Population, system: str) -> np.ndarray:
    return getattr(pop, f"in_{system}")


def _joiners(world: World, newcomers: np.ndarray) -> dict[str, np.ndarray]:
    """Who opens a record in each system today: newcomers who chose it, and some existing persons."""
    rng, _ = world.streams("joiners")
    pop = world.pop
    out = {}
    for system, rate in JOINING_PER_DAY.items():
        flags = _membership(pop, system)
        chosen_new = newcomers[flags[newcomers] > 0]
        flags[newcomers] = 0
        outsiders = np.flatnonzero(flags[: newcomers[0] if len(newcomers) else len(pop)] == 0)
        taken = rng.random(len(outsiders)) < rate
        out[system] = np.concatenate([outsiders[taken], chosen_new]).astype(np.int64)
    return out


def advance(out_dir: Path, days: int = 1, seed: int | None = None) -> SimulatorMeta:
    """Move the simulated clock of the world in `out_dir` forward by `days`, applying each day's changes.

    The world keeps the profile it was generated with (recorded in simulation.json): newcomers and
    new records have the same habits as the first ones.
    """
    out_dir = Path(out_dir)
    meta = load_meta(out_dir)
    seed = meta.seed if seed is None else seed
    with without_gc():
        pop, members = state.load(out_dir)
        owners = truth.owners(out_dir)
        atlas = build_atlas(meta.seed)
        taken_phones = {p for p in pop.phone if p}
        taken_emails = {e for column in (pop.email, pop.email_alt, pop.email_family) for e in column if e}
        now = clock.seconds(meta.clock)
        counts = dict(meta.counts)
        for day in range(1, days + 1):
            step = meta.days_advanced + day
            world = World(out_dir, pop, atlas, seed, clock=now + clock.DAY, start=now, profile=meta.profile, step=step)
            rng, _ = world.streams("newcomers")
            born = generate_population(
                int(rng.poisson(NEWCOMERS_PER_DAY * len(pop))),
                seed,
                (meta.clock + timedelta(days=day)).date(),
                meta.profile,
                stream=10_000 + step,
                first_household=int(pop.household.max()) + 1,
                first_person=len(pop),
                taken_emails=taken_emails,
                taken_phones=taken_phones,
                atlas=atlas,
            )
            born.lapsed_on[:] = np.datetime64("NaT", "D")
            newcomers = np.arange(len(pop), len(pop) + len(born))
            pop.extend(born)
            joining = _joiners(world, newcomers)
            rows = erp.advance_day(world, owners["erp"], joining["erp"], taken_phones)
            rows += webshop.advance_day(world, owners["webshop"], joining["webshop"], taken_phones)
            loyalty_rows, purchases = loyalty.advance_day(world, members, joining["loyalty"])
            rows += loyalty_rows
            esp_rows, _ = esp.advance_day(world, owners["esp"], joining["esp"], meta.esp_list_id)
            rows += esp_rows
            truth.append(out_dir, rows)
            counts["truth_records"] = counts.get("truth_records", 0) + len(rows)
            counts["loyalty_purchases"] = counts.get("loyalty_purchases", 0) + purchases
            now = world.clock
        state.save(out_dir, pop, members)
    counts |= {
        "persons": len(pop),
        **erp.count(out_dir),
        **webshop.count(out_dir),
        **loyalty.count(members, out_dir / loyalty.FOLDER),
        **esp.count(out_dir),
    }
    meta = replace(
        meta, clock=meta.clock + timedelta(days=days), days_advanced=meta.days_advanced + days, counts=counts
    )
    save_meta(out_dir, meta)
    return meta
