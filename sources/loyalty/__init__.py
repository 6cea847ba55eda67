"""The loyalty programme: the vendor's nightly CSV drops, from a folder or an object store.

Files are loaded in name order (so, by date). A file whose content (its SHA-256) was already loaded,
under its own name or any other, is skipped: a re-delivery is harmless even when the vendor renames
it, which matters because purchase ids are ``file:line``. A skipped copy under a new name is logged
(file names only) and recorded in the source state's ``duplicate_files`` (name -> the file it
repeats). A file re-delivered under its own name with new content is loaded again and merges on
its keys. The digests of loaded files live in dlt's source state, which is committed with the load,
so a crash before the load finishes leaves the file to be read again.

The members file is a full snapshot every night, and from one night to the next about one member in a
hundred changes. A line of a snapshot byte for byte the same as a line of the previous snapshot loaded
(the file before it in this run, or the last one loaded, if the folder still holds it) is already landed
(or quarantined, or held back by the screen) as it is: it is not read again. The state's
``unchanged_lines`` records for each snapshot how many lines were so and which file they repeat, so
that every line of a file is accounted for: read (and in the load's ledger) or the same as before.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import dlt
import fsspec

from sources.landing import Screen, landed
from sources.loyalty.helpers import FILE_PATTERN, MEMBERS_PREFIX, Drop, parse_members, parse_purchases

SYSTEM = "loyalty"
log = logging.getLogger(__name__)


def list_drops(location: str) -> list[str]:
    """Paths of the contract's files at ``location`` (a local folder or an fsspec URL), by name."""
    fs, root = fsspec.core.url_to_fs(location)
    paths = [p for p in fs.ls(root, detail=False) if FILE_PATTERN.match(p.rsplit("/", 1)[-1])]
    return sorted(paths, key=lambda p: p.rsplit("/", 1)[-1])


def _last_snapshot(
    fs, paths: list[str], loaded: dict[str, str], duplicates: dict[str, str]
) -> tuple[str, bytes] | None:
    """The newest members snapshot already loaded, if the folder (``paths``) still holds it unchanged:
    (name, content)."""
    names = sorted(n for n in loaded if n.startswith(MEMBERS_PREFIX) and n not in duplicates)
    if not names:
        return None
    path = next((p for p in paths if p.rsplit("/", 1)[-1] == names[-1]), None)
    if path is None:
        return None
    content = fs.cat_file(path)
    return (names[-1], content) if hashlib.sha256(content).hexdigest() == loaded[names[-1]] else None


def _changed_lines(name: str, content: bytes, previous: tuple[str, bytes] | None, unchanged: dict) -> bytes:
    """The snapshot with every line the same as in ``previous`` blanked (the header stays; a blank line is
    no row, and the others keep their line numbers); the count goes into ``unchanged`` under ``name``."""
    if previous is None:
        unchanged.pop(name, None)
        return content
    before = set(previous[1].splitlines()[1:])
    lines = content.splitlines()
    kept = [lines[0], *(b"" if line in before and line.strip() else line for line in lines[1:])]
    same = sum(1 for line, k in zip(lines, kept, strict=True) if line and not k)
    unchanged[name] = {"same_as": previous[0], "lines": same}
    if same:
        log.info("loyalty: %s: %d lines as in %s, not read again", name, same, previous[0])
    return b"\n".join(kept)


@dlt.source(name=SYSTEM)
def loyalty(location: str = dlt.config.value, screen: Screen | None = None):
    @dlt.resource(name="loyalty_drop_raw")
    def drops() -> Iterator[Drop]:
        fs, _ = fsspec.core.url_to_fs(location)
        state = dlt.current.source_state()
        loaded: dict[str, str] = state.setdefault("loaded_files", {})
        duplicates: dict[str, str] = state.setdefault("duplicate_files", {})
        originals = {digest: name for name, digest in loaded.items() if name not in duplicates}
        unchanged: dict[str, dict] = state.setdefault("unchanged_lines", {})
        paths = list_drops(location)
        previous = _last_snapshot(fs, paths, loaded, duplicates)
        for path in paths:
            name = path.rsplit("/", 1)[-1]
            content = fs.cat_file(path)
            digest = hashlib.sha256(content).hexdigest()
            if loaded.get(name) == digest:
                continue
            loaded[name] = digest
            if digest in originals:
                duplicates[name] = originals[digest]
                log.warning("loyalty: skipped %s, a copy of %s, which is already loaded", name, originals[digest])
                continue
            duplicates.pop(name, None)
            originals[digest] = name
            if name.startswith(MEMBERS_PREFIX):
                content, previous = _changed_lines(name, content, previous, unchanged), (name, content)
            yield Drop(name, content, digest)

    files = drops()
    return [
        landed(
            files,
            system=SYSTEM,
            screen=screen,
            table="loyalty_member",
            primary_key="jasennumero",
            parse=parse_members,
            columns={"source_file": {"dedup_sort": "desc"}},
        ),
        landed(
            files,
            system=SYSTEM,
            screen=screen,
            table="loyalty_purchase",
            primary_key="purchase_id",
            parse=parse_purchases,
            columns={"summa": {"data_type": "decimal"}},
        ),
    ]
