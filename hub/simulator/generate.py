"""`generate`: build a whole simulated world of four systems from a seed and a profile of habits.

The population is drawn first; each system then renders its own records of the persons who
are its customers, from its own random stream. Same (persons, seed, today, profile), same bytes.
"""

from __future__ import annotations

import gc
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from hub.simulator import clock, erp, esp, loyalty, state, truth, webshop
from hub.simulator.meta import META_FILE, SimulatorMeta, credentials, save_meta
from hub.simulator.people import build_atlas, generate_population
from hub.simulator.profiles import Profile, resolve
from hub.simulator.world import World

Progress = Callable[[str, int, int], None]
OUTPUTS = (erp.FILE, webshop.FILE, esp.FILE, state.STATE_FILE, truth.TRUTH_FILE, META_FILE)
_STAGES = ("people", "erp", "webshop", "loyalty", "esp", "state", "done")


@contextmanager
def without_gc() -> Iterator[None]:
    """Millions of small objects and no cycles: the cyclic collector would only burn time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def clear(out_dir: Path) -> None:
    """Remove a previous simulation from `out_dir` (and nothing else)."""
    for name in OUTPUTS:
        for path in (out_dir / name, out_dir / f"{name}-journal"):
            path.unlink(missing_ok=True)
    shutil.rmtree(out_dir / loyalty.FOLDER, ignore_errors=True)


def generate(
    out_dir: Path,
    persons: int,
    seed: int = 42,
    today: date | None = None,
    progress: Progress | None = None,
    profile: str | Profile = "standard",
) -> SimulatorMeta:
    """Write a simulated world of `persons` people into `out_dir`, replacing any previous one.

    `profile` ('standard', 'hard' or a `Profile`) sets the habits of people and systems; it is
    recorded in simulation.json, and `advance` keeps it.
    """
    out_dir = Path(out_dir)
    habits = resolve(profile)
    today = today or date.today()
    report = progress or (lambda stage, done, total: None)
    total = len(_STAGES) - 1
    with without_gc():
        out_dir.mkdir(parents=True, exist_ok=True)
        clear(out_dir)
        keys = credentials(seed)
        report("people", 0, total)
        atlas = build_atlas(seed)
        pop = generate_population(persons, seed, today, habits, atlas=atlas)
        now = clock.seconds(clock.start_clock(today))
        world = World(out_dir, pop, atlas, seed, clock=now, start=now, profile=habits)
        report("erp", 1, total)
        rows = erp.generate(world)
        report("webshop", 2, total)
        rows += webshop.generate(world)
        report("loyalty", 3, total)
        members, loyalty_rows, purchases = loyalty.generate(world)
        rows += loyalty_rows
        report("esp", 4, total)
        esp_rows, activity = esp.generate(world, keys["esp_list_id"])
        rows += esp_rows
        report("state", 5, total)
        state.save(out_dir, pop, members)
        truth.write(out_dir, rows)
        counts = {
            "persons": len(pop),
            **erp.count(out_dir),
            **webshop.count(out_dir),
            **loyalty.count(members, out_dir / loyalty.FOLDER),
            "loyalty_purchases": purchases,
            **esp.count(out_dir),
            "truth_records": len(rows),
        }
        meta = SimulatorMeta(
            persons=persons,
            seed=seed,
            today=today,
            clock=clock.start_clock(today),
            days_advanced=0,
            counts=counts,
            profile=habits,
            **keys,
        )
        save_meta(out_dir, meta)
        report("done", total, total)
    return meta
