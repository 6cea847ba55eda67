"""What every system renderer needs to know about the simulated world at one moment.

Random streams are derived from (seed, purpose, step), never shared between systems, so adding
a column to one system does not reshuffle the records of another, and a run is reproducible.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hub.simulator.people import Population, StreetAtlas
from hub.simulator.profiles import Profile


@dataclass
class World:
    """The population, clock and habits a system renders from; `step` is 0 for `generate`, the day for `advance`."""

    out_dir: Path
    pop: Population
    atlas: StreetAtlas
    seed: int
    clock: np.datetime64  # datetime64[s]: the end of the period being rendered, exclusive
    start: np.datetime64  # datetime64[s]: the start of that period
    profile: Profile  # the world's habits: how sloppy each system is, how alike people are
    step: int = 0

    def streams(self, purpose: str) -> tuple[np.random.Generator, random.Random]:
        """A numpy and a Python random stream private to `purpose` at this step."""
        tag = zlib.crc32(purpose.encode())
        return (
            np.random.default_rng([self.seed, tag, self.step]),
            random.Random(f"{self.seed}:{purpose}:{self.step}"),
        )

    @property
    def today(self) -> np.datetime64:
        """The calendar day of the clock."""
        return self.clock.astype("datetime64[D]")
