"""Which audience goes to which tool, in which mode: one TOML file, checked whole when it is read.

An operator edits this file, so every mistake is refused at load time with the file, the line and the
dotted key to fix (``publishing.toml line 12: destinations.email.mode: ...``), never half-applied
during a sync. The format::

    [defaults]
    mode = "mirror"              # mirror | upsert | add_only
    max_removal_share = 0.5      # a mirror run removing more of an audience than this waits for force

    [destinations.email]         # the name is the key of the sync state and the sync log
    tool = "esp"                 # esp | webshop | loyalty | ads
    audiences = ["champions", "at_risk"]
    mode = "mirror"              # optional, else the default
    modes = { at_risk = "add_only" }   # optional, per audience
    in_flight = 10               # esp only: requests in flight, at most 10 (the platform's limit)
    consent = "email_marketing"  # optional: only customers who granted this purpose

    [destinations.ads]
    tool = "ads"                 # always and only customers who granted ad_targeting
    audiences = ["champions"]
    folder = "ads"               # under the outbox folder, unless absolute or a URL

The email platform, the webshop and the loyalty vendor each hold one space of the hub's segments per
person (tags, the ``hub_segments`` field, the snapshot file), so each may be the tool of one destination
only; ad platforms may have several, each with its own folder.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exports.publishing.plan import MIRROR, MODES

TOOLS = ("esp", "webshop", "loyalty", "ads")
ONE_DESTINATION_TOOLS = ("esp", "webshop", "loyalty")
CONSENT_PURPOSES = ("email_marketing", "sms_marketing", "direct_mail", "profiling", "ad_targeting")
AD_CONSENT = "ad_targeting"
MAX_IN_FLIGHT = 10  # the email platform answers 429 beyond 10 requests in flight
DEFAULT_MAX_REMOVAL_SHARE = 0.5

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Audience names become tags, values of a comma-separated field, parts of ';'-separated lines and file names.
_AUDIENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_TOP = ("defaults", "destinations")
_DEFAULTS = ("mode", "max_removal_share")
_DESTINATION = ("tool", "audiences", "mode", "modes", "max_removal_share", "consent", "in_flight", "folder")


class ConfigError(ValueError):
    """A publishing setting that cannot be used, named by file, line (when it can be found) and dotted key."""

    def __init__(self, source: str, line: int | None, key: str, problem: str) -> None:
        where = f"{source} line {line}" if line else source
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")
        self.source, self.line, self.key, self.problem = source, line, key, problem


@dataclass(frozen=True)
class Destination:
    """One tool the hub publishes to, the audiences it receives and how."""

    name: str
    tool: str
    audiences: tuple[str, ...]
    mode: str = MIRROR
    modes: Mapping[str, str] = field(default_factory=dict)  # per-audience overrides of ``mode``
    max_removal_share: float = DEFAULT_MAX_REMOVAL_SHARE
    consent: str | None = None  # the purpose a customer must have granted to be published here
    in_flight: int = MAX_IN_FLIGHT
    folder: str = ""  # ads: the folder of its files, relative to the outbox unless absolute or a URL

    def mode_of(self, audience: str) -> str:
        return self.modes.get(audience, self.mode)


@dataclass(frozen=True)
class PublishingConfig:
    destinations: tuple[Destination, ...]
    source: str = ""  # the file it was read from


def load(path: str | Path) -> PublishingConfig:
    """The configuration in ``path``; ``ConfigError`` naming the file, line and key of the first problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(source, None, "", f"cannot be read ({error.strerror or type(error).__name__})") from None
    except UnicodeDecodeError:
        raise ConfigError(source, None, "", "is not UTF-8 text") from None
    return parse(text, source)


def parse(text: str, source: str = "<publishing>") -> PublishingConfig:
    """The configuration in TOML ``text``, checked whole; ``source`` names it in errors."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, None, "", f"not valid TOML: {error}") from None
    return _Reader(text, source).config(document)


class _Reader:
    """Checks a parsed document, raising errors that point at the line of the key at fault."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, _line_of(self.lines, key), key, problem)

    def table(self, value: Any, key: str, known: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, "expected a table")
        for name in value:
            if name not in known:
                raise self.fail(_join(key, name), f"unknown key (known: {', '.join(known)})")
        return value

    def config(self, document: Mapping[str, Any]) -> PublishingConfig:
        self.table(document, "", _TOP)
        if "destinations" not in document:
            raise self.fail("destinations", "missing: name at least one destination table, or an empty one")
        defaults = self.table(document.get("defaults", {}), "defaults", _DEFAULTS)
        mode = self.mode(defaults.get("mode", MIRROR), "defaults.mode")
        share = self.share(defaults.get("max_removal_share", DEFAULT_MAX_REMOVAL_SHARE), "defaults.max_removal_share")
        tables = document["destinations"]
        if not isinstance(tables, Mapping):
            raise self.fail("destinations", "expected a table of destinations")
        destinations = tuple(self.destination(name, spec, mode, share) for name, spec in tables.items())
        for tool in ONE_DESTINATION_TOOLS:
            named = [d.name for d in destinations if d.tool == tool]
            if len(named) > 1:
                raise self.fail(
                    f"destinations.{named[1]}.tool", f"{tool} is already the tool of destination {named[0]}"
                )
        return PublishingConfig(destinations, self.source)

    def destination(self, name: str, spec: Any, mode: str, share: float) -> Destination:
        key = f"destinations.{name}"
        if not _NAME.match(name):
            raise self.fail(key, "a destination name is lower-case letters, digits and _, starting with a letter")
        spec = self.table(spec, key, _DESTINATION)
        tool = spec.get("tool")
        if tool not in TOOLS:
            raise self.fail(f"{key}.tool", f"expected one of {', '.join(TOOLS)}, got {tool!r}")
        audiences = self.audiences(spec.get("audiences"), f"{key}.audiences")
        modes = self.table(spec.get("modes", {}), f"{key}.modes", audiences)
        for audience, value in modes.items():
            self.mode(value, f"{key}.modes.{audience}")
        for option, only in (("in_flight", "esp"), ("folder", "ads")):
            if option in spec and tool != only:
                raise self.fail(f"{key}.{option}", f"applies to tool {only} only")
        return Destination(
            name=name,
            tool=tool,
            audiences=audiences,
            mode=self.mode(spec.get("mode", mode), f"{key}.mode"),
            modes=dict(modes),
            max_removal_share=self.share(spec.get("max_removal_share", share), f"{key}.max_removal_share"),
            consent=self.consent(spec.get("consent"), tool, f"{key}.consent"),
            in_flight=self.in_flight(spec.get("in_flight", MAX_IN_FLIGHT), f"{key}.in_flight"),
            folder=self.folder(spec.get("folder", name if tool == "ads" else ""), f"{key}.folder"),
        )

    def audiences(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            raise self.fail(key, "missing: list the audiences this destination receives")
        if not isinstance(value, list):
            raise self.fail(key, "expected a list of audience names")
        for index, name in enumerate(value):
            if not (isinstance(name, str) and _AUDIENCE.match(name)):
                raise self.fail(f"{key}[{index}]", "an audience name is letters, digits, _ and -, at most 64")
        if len(set(value)) != len(value):
            raise self.fail(key, "an audience is listed twice")
        return tuple(value)

    def mode(self, value: Any, key: str) -> str:
        if value not in MODES:
            raise self.fail(key, f"expected one of {', '.join(MODES)}, got {value!r}")
        return value

    def share(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise self.fail(key, f"expected a share between 0 and 1, got {value!r}")
        return float(value)

    def consent(self, value: Any, tool: str, key: str) -> str | None:
        if tool == "ads":
            if value not in (None, AD_CONSENT):
                raise self.fail(key, f"ad platforms receive only customers who granted {AD_CONSENT}")
            return AD_CONSENT
        if value is not None and value not in CONSENT_PURPOSES:
            raise self.fail(key, f"expected one of {', '.join(CONSENT_PURPOSES)}, got {value!r}")
        return value

    def in_flight(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_IN_FLIGHT:
            raise self.fail(key, f"expected a whole number from 1 to {MAX_IN_FLIGHT}, got {value!r}")
        return value

    def folder(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, "expected a folder name, path or URL")
        return value


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _line_of(lines: list[str], key: str) -> int | None:
    """The line (1-based) where the dotted ``key`` is written, or its nearest enclosing table; None if neither.

    Tries each split of the key into a table header and a (possibly dotted or inline) key under it, longest
    table first, so that ``destinations.email.modes.new`` is found under ``[destinations.email.modes]``, as
    ``modes.new = ...`` or ``modes = { new = ... }`` under ``[destinations.email]``.
    """
    parts = [re.sub(r"\[\d+\]$", "", part) for part in key.split(".") if part]
    if not parts:
        return None
    headers: dict[str, int] = {}
    owner: list[str] = []
    current = ""
    for line in lines:
        match = _HEADER.match(line)
        if match:
            current = ".".join(piece.strip().strip('"') for piece in match.group(1).split("."))
            headers.setdefault(current, len(owner) + 1)
        owner.append(current)
    for cut in range(len(parts) - 1, -1, -1):
        table, leaf = ".".join(parts[:cut]), parts[cut]
        pattern = re.compile(rf"^\s*{re.escape(leaf)}\s*[.=]")
        for number, line in enumerate(lines, start=1):
            if owner[number - 1] == table and not _HEADER.match(line) and pattern.match(line):
                return number
    for cut in range(len(parts), 0, -1):
        if ".".join(parts[:cut]) in headers:
            return headers[".".join(parts[:cut])]
    return None
