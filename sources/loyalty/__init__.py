"""The loyalty programme: the vendor's nightly CSV drops, from a folder or an object store.

Files are loaded in name order (so, by date). A file whose content (its SHA-256) was already loaded,
under its own name or any other, is skipped: a re-delivery is harmless even when the vendor renames
it, which matters because purchase ids are ``file:line``. A skipped copy under a new name is logged
(file names only) and recorded in the source state's ``duplicate_files`` (name -> the file it
repeats). A file re-delivered under its own name with new content is loaded again and merges on
its keys. The digests of loaded files live in dlt's source state, which is committed with the load,
so a crash before the load finishes leaves the file to be read again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import dlt
import fsspec

from sources.landing import Screen, landed
from sources.loyalty.helpers import FILE_PATTERN, Drop, parse_members, parse_purchases

SYSTEM = "loyalty"
log = logging.getLogger(__name__)


def list_drops(location: str) -> list[str]:
    """Paths of the contract's files at ``location`` (a local folder or an fsspec URL), by name."""
    fs, root = fsspec.core.url_to_fs(location)
    paths = [p for p in fs.ls(root, detail=False) if FILE_PATTERN.match(p.rsplit("/", 1)[-1])]
    return sorted(paths, key=lambda p: p.rsplit("/", 1)[-1])


@dlt.source(name=SYSTEM)
def loyalty(location: str = dlt.config.value, screen: Screen | None = None):
    @dlt.resource(name="loyalty_drop_raw")
    def drops() -> Iterator[Drop]:
        fs, _ = fsspec.core.url_to_fs(location)
        state = dlt.current.source_state()
        loaded: dict[str, str] = state.setdefault("loaded_files", {})
        duplicates: dict[str, str] = state.setdefault("duplicate_files", {})
        originals = {digest: name for name, digest in loaded.items() if name not in duplicates}
        for path in list_drops(location):
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
