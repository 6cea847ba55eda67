"""The loyalty programme: the vendor's nightly CSV drops, from a folder or an object store.

Files are loaded in name order (so, by date). A file already loaded with the same content is
skipped, which makes a re-delivery harmless; a file re-delivered with new content is loaded again
and merges on its keys. The digests of loaded files live in dlt's source state, which is committed
with the load, so a crash before the load finishes leaves the file to be read again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import dlt
import fsspec

from quality.suppression import Suppression
from sources.landing import landed
from sources.loyalty.helpers import FILE_PATTERN, Drop, parse_members, parse_purchases

SYSTEM = "loyalty"


def list_drops(location: str) -> list[str]:
    """Paths of the contract's files at ``location`` (a local folder or an fsspec URL), by name."""
    fs, root = fsspec.core.url_to_fs(location)
    paths = [p for p in fs.ls(root, detail=False) if FILE_PATTERN.match(p.rsplit("/", 1)[-1])]
    return sorted(paths, key=lambda p: p.rsplit("/", 1)[-1])


@dlt.source(name=SYSTEM)
def loyalty(location: str = dlt.config.value, suppression: Suppression | None = None):
    @dlt.resource(name="loyalty_drop_raw")
    def drops() -> Iterator[Drop]:
        fs, _ = fsspec.core.url_to_fs(location)
        loaded = dlt.current.source_state().setdefault("loaded_files", {})
        for path in list_drops(location):
            name = path.rsplit("/", 1)[-1]
            content = fs.cat_file(path)
            digest = hashlib.sha256(content).hexdigest()
            if loaded.get(name) == digest:
                continue
            loaded[name] = digest
            yield Drop(name, content, digest)

    files = drops()
    return [
        landed(
            files,
            system=SYSTEM,
            suppression=suppression,
            table="loyalty_member",
            primary_key="jasennumero",
            parse=parse_members,
            columns={"source_file": {"dedup_sort": "desc"}},
        ),
        landed(
            files,
            system=SYSTEM,
            suppression=suppression,
            table="loyalty_purchase",
            primary_key="purchase_id",
            parse=parse_purchases,
            columns={"summa": {"data_type": "decimal"}},
        ),
    ]
