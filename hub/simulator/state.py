"""state.sqlite: the simulator's private memory between `generate` and `advance`.

It holds the true persons (so `advance` can move them house, give them new phones and let them
join systems) and the loyalty vendor's clean member register (the CSV snapshots are renderings
of it). Nothing here is part of any system's interface. Each column is stored whole, as one
blob (numpy bytes, or strings joined by a unit separator), because saving and loading a
population of millions row by row would dominate the time of a simulated day.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from hub.simulator import sqlite_store
from hub.simulator.loyalty import MEMBER_HEADER, Members
from hub.simulator.people import Population

STATE_FILE = "state.sqlite"
_UNIT = "\x1f"  # ASCII unit separator: never typed into a name, an address or an email
_SCHEMA = "CREATE TABLE column_data (name TEXT PRIMARY KEY, dtype TEXT NOT NULL, data BLOB NOT NULL);"


def _pack(values: np.ndarray | list[str]) -> tuple[str, bytes]:
    if isinstance(values, np.ndarray):
        return values.dtype.str, np.ascontiguousarray(values).tobytes()
    return "text", _UNIT.join(values).encode()


def _unpack(dtype: str, data: bytes, count: int) -> np.ndarray | list[str]:
    if dtype == "text":
        return data.decode().split(_UNIT) if count else []
    return np.frombuffer(data, dtype=np.dtype(dtype)).copy()


def save(out_dir: Path, pop: Population, members: Members) -> None:
    """Replace the state with this population and loyalty register."""
    conn = sqlite_store.create(out_dir / STATE_FILE, _SCHEMA)
    columns = [(f"person.{f.name}", *_pack(getattr(pop, f.name))) for f in fields(Population)]
    columns.append(("member.person", *_pack(np.array(members.persons, dtype=np.int64))))
    for i, name in enumerate(MEMBER_HEADER):
        columns.append((f"member.{name}", *_pack([row[i] for row in members.rows])))
    conn.executemany("INSERT INTO column_data VALUES (?,?,?)", columns)
    sqlite_store.finish(conn)


def load(out_dir: Path) -> tuple[Population, Members]:
    conn = sqlite_store.connect(out_dir / STATE_FILE)
    stored = {name: (dtype, data) for name, dtype, data in conn.execute("SELECT name, dtype, data FROM column_data")}
    conn.close()
    people = len(_unpack(*stored["person.sex"], count=1))
    pop = Population(**{f.name: _unpack(*stored[f"person.{f.name}"], count=people) for f in fields(Population)})
    persons = _unpack(*stored["member.person"], count=1).tolist()
    columns = [_unpack(*stored[f"member.{name}"], count=len(persons)) for name in MEMBER_HEADER]
    return pop, Members([list(row) for row in zip(*columns, strict=False)], persons)
