"""The segment models' rules and thresholds, with defaults, loadable from a TOML table.

Every model reads its settings from one frozen dataclass, so a run is reproducible from its
configuration alone. ``SegmentConfig.from_mapping`` takes the parsed ``[segments]`` table of a TOML
file (sub-tables ``rfm``, ``lifecycle``, ``abc``, ``quadrant``, ``purchase_model``, ``churn``); a key
left out keeps its default. A wrong key, type or value raises ``ConfigError`` naming the key by its
dotted path (``rfm.segments[2].r``), because an operator editing the file must find the line to fix.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, get_args, get_origin, get_type_hints

SCORES = (1, 2, 3, 4, 5)


class ConfigError(ValueError):
    """A setting that cannot be used; ``key`` is its dotted path."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def _require(condition: bool, key: str, problem: str) -> None:
    if not condition:
        raise ConfigError(key, problem)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _convert(value: Any, hint: Any, key: str) -> Any:
    """``value`` as read from TOML, checked against the field's annotation and converted to it."""
    if get_origin(hint) is tuple:
        args = get_args(hint)
        _require(isinstance(value, list | tuple), key, f"expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(item, args[0], f"{key}[{i}]") for i, item in enumerate(value))
        _require(len(value) == len(args), key, f"expected {len(args)} values, got {len(value)}")
        return tuple(_convert(item, arg, f"{key}[{i}]") for i, (item, arg) in enumerate(zip(value, args, strict=True)))
    if issubclass(hint, _Settings):
        return hint.from_mapping(value, prefix=key)
    if hint is float:
        _require(
            isinstance(value, int | float) and not isinstance(value, bool), key, f"expected a number, got {value!r}"
        )
        return float(value)
    if hint is int:
        _require(isinstance(value, int) and not isinstance(value, bool), key, f"expected an integer, got {value!r}")
        return value
    _require(isinstance(value, hint), key, f"expected {hint.__name__}, got {value!r}")
    return value


class _Settings:
    """Construction from a mapping, for the frozen dataclasses below."""

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, prefix: str = "") -> Any:
        """Build from ``mapping``; missing keys keep their defaults, anything wrong names its key."""
        _require(isinstance(mapping, Mapping), prefix or cls.__name__, f"expected a table, got {mapping!r}")
        hints = get_type_hints(cls)
        known = {item.name for item in fields(cls)}  # type: ignore[arg-type]
        for key in mapping:
            _require(key in known, _join(prefix, key), f"unknown key (known: {', '.join(sorted(known))})")
        for item in fields(cls):  # type: ignore[arg-type]
            required = item.default is MISSING and item.default_factory is MISSING
            _require(item.name in mapping or not required, _join(prefix, item.name), "missing")
        values = {key: _convert(value, hints[key], _join(prefix, key)) for key, value in mapping.items()}
        try:
            return cls(**values)
        except ConfigError as error:
            raise ConfigError(_join(prefix, error.key), error.problem) from None


@dataclass(frozen=True)
class SegmentRule(_Settings):
    """One named RFM segment: inclusive score ranges (low, high) for recency, frequency, monetary."""

    name: str
    r: tuple[int, int] = (1, 5)
    f: tuple[int, int] = (1, 5)
    m: tuple[int, int] = (1, 5)

    def __post_init__(self) -> None:
        _require(bool(self.name.strip()), "name", "must not be empty")
        for key in ("r", "f", "m"):
            low, high = getattr(self, key)
            _require(1 <= low <= high <= 5, key, f"expected 1 <= low <= high <= 5, got {[low, high]}")

    def matches(self, r: int, f: int, m: int) -> bool:
        return all(low <= score <= high for score, (low, high) in zip((r, f, m), (self.r, self.f, self.m), strict=True))


# The first rule that matches wins, so the narrow rules come before the broad ones they overlap:
# champions before loyal, new before promising, cant_lose before at_risk. Every combination of
# scores matches some rule (lost takes whatever is left: with these ranges, r = 1 and f <= 2).
DEFAULT_SEGMENTS = (
    SegmentRule("champions", r=(4, 5), f=(4, 5), m=(4, 5)),
    SegmentRule("loyal", r=(3, 5), f=(3, 5)),
    SegmentRule("new", r=(5, 5), f=(1, 1)),
    SegmentRule("potential_loyalists", r=(4, 5), f=(1, 2), m=(3, 5)),
    SegmentRule("promising", r=(4, 5), f=(1, 2)),
    SegmentRule("need_attention", r=(3, 3), f=(1, 2), m=(3, 5)),
    SegmentRule("about_to_sleep", r=(3, 3), f=(1, 2)),
    SegmentRule("cant_lose", r=(1, 2), f=(4, 5), m=(4, 5)),
    SegmentRule("at_risk", r=(1, 2), f=(3, 5)),
    SegmentRule("hibernating", r=(2, 2), f=(1, 2)),
    SegmentRule("lost"),
)


@dataclass(frozen=True)
class RfmConfig(_Settings):
    """Named segments over RFM scores, evaluated in the listed order; the first match wins.

    ``no_purchase_segment`` is the segment of customers who never bought (they have no scores):
    'prospect', as Shopify names customers without orders.
    """

    segments: tuple[SegmentRule, ...] = DEFAULT_SEGMENTS
    no_purchase_segment: str = "prospect"

    def __post_init__(self) -> None:
        names = [rule.name for rule in self.segments]
        _require(len(names) == len(set(names)), "segments", f"segment names repeat: {names}")
        for r, f, m in itertools.product(SCORES, SCORES, SCORES):
            _require(
                any(rule.matches(r, f, m) for rule in self.segments),
                "segments",
                f"scores r={r} f={f} m={m} match no rule; every combination needs a segment",
            )


@dataclass(frozen=True)
class LifecycleConfig(_Settings):
    """Day counts and order counts that move a customer from one lifecycle stage to the next."""

    new_within_days: int = 90
    regular_min_orders_12m: int = 3
    lapsing_after_days: int = 180
    churned_after_days: int = 365
    rhythm_factor: float = 2.0
    rhythm_min_purchase_days: int = 3

    def __post_init__(self) -> None:
        for key in ("new_within_days", "lapsing_after_days", "regular_min_orders_12m"):
            _require(getattr(self, key) >= 1, key, "must be at least 1")
        _require(
            self.churned_after_days > self.lapsing_after_days, "churned_after_days", "must exceed lapsing_after_days"
        )
        _require(self.rhythm_factor > 0, "rhythm_factor", "must be positive")
        _require(self.rhythm_min_purchase_days >= 2, "rhythm_min_purchase_days", "a rhythm needs at least 2 days")


@dataclass(frozen=True)
class AbcConfig(_Settings):
    """Shares of the last twelve months' revenue: A brings the first ``a_share``, B the next ``b_share``."""

    a_share: float = 0.80
    b_share: float = 0.15

    def __post_init__(self) -> None:
        _require(0 < self.a_share < 1, "a_share", "must be between 0 and 1")
        _require(0 < self.b_share <= 1 - self.a_share, "b_share", "must be positive and at most 1 - a_share")


@dataclass(frozen=True)
class QuadrantConfig(_Settings):
    """The quantiles (among customers who bought) above which current and potential value count as high."""

    current_quantile: float = 0.5
    potential_quantile: float = 0.5

    def __post_init__(self) -> None:
        for key in ("current_quantile", "potential_quantile"):
            _require(0 < getattr(self, key) < 1, key, "must be between 0 and 1")


@dataclass(frozen=True)
class PurchaseModelConfig(_Settings):
    """The BG/NBD and Gamma-Gamma fits: their time unit and the least data they are fitted on."""

    time_unit_days: float = 7.0
    min_repeat_customers: int = 20

    def __post_init__(self) -> None:
        _require(self.time_unit_days > 0, "time_unit_days", "must be positive")
        _require(self.min_repeat_customers >= 2, "min_repeat_customers", "must be at least 2")


@dataclass(frozen=True)
class ChurnConfig(_Settings):
    """When each churn signal fires, and the weights that add them up to a risk."""

    weight_model: float = 0.5
    weight_rhythm_broken: float = 0.2
    weight_unsubscribed: float = 0.15
    weight_bouncing: float = 0.1
    weight_long_silence: float = 0.4
    rhythm_factor: float = 2.0
    rhythm_min_purchase_days: int = 3
    min_bounces: int = 1
    silence_days: int = 180

    def __post_init__(self) -> None:
        for item in fields(self):
            if item.name.startswith("weight_"):
                _require(getattr(self, item.name) >= 0, item.name, "must not be negative")
        _require(self.rhythm_factor > 0, "rhythm_factor", "must be positive")
        _require(self.rhythm_min_purchase_days >= 2, "rhythm_min_purchase_days", "a rhythm needs at least 2 days")
        _require(self.min_bounces >= 1, "min_bounces", "must be at least 1")
        _require(self.silence_days >= 1, "silence_days", "must be at least 1")


@dataclass(frozen=True)
class SegmentConfig(_Settings):
    """All segment models' settings: the ``[segments]`` table of the hub's configuration."""

    rfm: RfmConfig = field(default_factory=RfmConfig)
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    abc: AbcConfig = field(default_factory=AbcConfig)
    quadrant: QuadrantConfig = field(default_factory=QuadrantConfig)
    purchase_model: PurchaseModelConfig = field(default_factory=PurchaseModelConfig)
    churn: ChurnConfig = field(default_factory=ChurnConfig)
