"""Every landed table, described once (see ``quality.contract``): the registry the rest of the hub reads.

A fifth system is a module here with its tables, registered below, and a connector in ``sources/``:
source records, the suppression screen, erasure, access reports, the inventory, masking and the access
policy follow from the description. Everything reads the registry when it runs (``landed_tables()``),
not when it is imported, so a registered table is seen everywhere.
"""

from __future__ import annotations

from quality.contract import LandedTable
from quality.tables import erp, esp, loyalty, webshop

_REGISTRY: dict[str, LandedTable] = {t.name: t for t in (*erp.TABLES, *webshop.TABLES, *loyalty.TABLES, *esp.TABLES)}


def landed_tables() -> tuple[LandedTable, ...]:
    """Every described table, in registration order."""
    return tuple(_REGISTRY.values())


def landed_table(name: str) -> LandedTable:
    return _REGISTRY[name]


def described(name: str) -> LandedTable | None:
    """The description of a table, or None for a table that is not a described landed table."""
    return _REGISTRY.get(name)


def register(table: LandedTable) -> None:
    """Add a system's table to the registry (a name may be described only once)."""
    if table.name in _REGISTRY:
        raise ValueError(f"table {table.name} is already described")
    _REGISTRY[table.name] = table


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)
