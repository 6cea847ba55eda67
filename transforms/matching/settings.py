"""Everything that decides how records are matched, as data: blocking passes, comparison cut-offs, outcome
thresholds, and how u is measured. One object, validated when it is made, stored beside every fitted model,
so that a model can be reproduced from the database alone and another can be tried from a file.

The shape is the mapping of ``hub/settings/matching.toml``:

    [thresholds]     match, possible (probabilities), conflict_evidence (total weight in bits)
    [comparisons]    name_typo, name_close, street_typo (Jaro-Winkler similarities), swap_margin
    [estimation]     random_pairs (how many random pairs measure u), seed
    [[blocking]]     name (one of BLOCKING_KEYS), max_block (blocks shared by more records are skipped)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

# The blocking keys the code knows how to build (``blocking.blocking_keys``); settings choose among them.
BLOCKING_KEYS = (
    "email",
    "phone",
    "email_local",
    "email_words",
    "name_provider",
    "name_set",
    "last_birthday",
    "first_birthday",
    "postcode_first",
    "street_initial",
    "name_sounds_postcode",
)


class SettingsError(ValueError):
    """Matching settings that cannot be used; the message names the key."""


@dataclass(frozen=True)
class BlockingPass:
    name: str
    max_block: int


@dataclass(frozen=True)
class Thresholds:
    match: float = 0.97
    possible: float = 0.5
    conflict_evidence: float = -10.0  # features together say at least 1000:1 against


@dataclass(frozen=True)
class Comparisons:
    name_typo: float = 0.93  # a name this similar (and not equal) is a typo
    name_close: float = 0.88  # a first name this similar is a close variant
    street_typo: float = 0.93
    swap_margin: float = 0.2  # names read crosswise must fit this much better to count as swapped


@dataclass(frozen=True)
class Estimation:
    random_pairs: int = 1_000_000
    seed: int = 20261123


@dataclass(frozen=True)
class MatchSettings:
    blocking: tuple[BlockingPass, ...]
    thresholds: Thresholds = Thresholds()
    comparisons: Comparisons = Comparisons()
    estimation: Estimation = Estimation()

    @staticmethod
    def from_mapping(raw: Mapping[str, Any]) -> MatchSettings:
        """Settings from a mapping of the documented shape; ``SettingsError`` names what is wrong."""
        unknown = set(raw) - {"blocking", "thresholds", "comparisons", "estimation"}
        if unknown:
            raise SettingsError(f"unknown sections {sorted(unknown)}")
        passes = tuple(_blocking_pass(i, spec) for i, spec in enumerate(raw.get("blocking", ())))
        if not passes:
            raise SettingsError("blocking: at least one pass is needed")
        names = [p.name for p in passes]
        if len(set(names)) != len(names):
            raise SettingsError("blocking: a pass is named twice")
        settings = MatchSettings(
            passes,
            _section(Thresholds, raw, "thresholds"),
            _section(Comparisons, raw, "comparisons"),
            _section(Estimation, raw, "estimation"),
        )
        settings._check()
        return settings

    def to_mapping(self) -> dict[str, Any]:
        """The settings as plain data (what is stored beside a fitted model)."""
        return {
            "blocking": [asdict(p) for p in self.blocking],
            "thresholds": asdict(self.thresholds),
            "comparisons": asdict(self.comparisons),
            "estimation": asdict(self.estimation),
        }

    def _check(self) -> None:
        t, c = self.thresholds, self.comparisons
        if not 0 < t.possible < t.match < 1:
            raise SettingsError("thresholds: 0 < possible < match < 1")
        if t.conflict_evidence >= 0:
            raise SettingsError("thresholds.conflict_evidence: evidence against is negative")
        for name in ("name_typo", "name_close", "street_typo"):
            if not 0 < getattr(c, name) < 1:
                raise SettingsError(f"comparisons.{name}: a similarity between 0 and 1")
        if c.name_close > c.name_typo:
            raise SettingsError("comparisons: name_close may not exceed name_typo")
        if self.estimation.random_pairs < 1_000:
            raise SettingsError("estimation.random_pairs: at least 1000")


def _blocking_pass(position: int, spec: Any) -> BlockingPass:
    where = f"blocking[{position}]"
    if not isinstance(spec, Mapping) or set(spec) != {"name", "max_block"}:
        raise SettingsError(f"{where}: give exactly name and max_block")
    if spec["name"] not in BLOCKING_KEYS:
        raise SettingsError(f"{where}.name: {spec['name']!r} is not one of {', '.join(BLOCKING_KEYS)}")
    if not isinstance(spec["max_block"], int) or isinstance(spec["max_block"], bool) or spec["max_block"] < 2:
        raise SettingsError(f"{where}.max_block: a whole number of at least 2")
    return BlockingPass(spec["name"], spec["max_block"])


def _section(kind: type, raw: Mapping[str, Any], name: str):
    given = raw.get(name, {})
    if not isinstance(given, Mapping):
        raise SettingsError(f"{name}: a table of settings")
    known = {f.name: f.type for f in fields(kind)}
    unknown = set(given) - set(known)
    if unknown:
        raise SettingsError(f"{name}: unknown settings {sorted(unknown)}")
    values = {}
    for key, value in given.items():
        wanted = int if known[key] in ("int", int) else float
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (wanted is int and value != int(value)):
            raise SettingsError(f"{name}.{key}: a {'whole ' if wanted is int else ''}number")
        values[key] = wanted(value)
    return kind(**values)
