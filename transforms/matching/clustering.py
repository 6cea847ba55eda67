"""Clustering scored pairs into people without chaining strangers together.

Connected components over match edges chain records through a single shared family email or a
common name: A~B and B~C put A and C together however strongly A and C disagree. Here clusters
grow greedily from the strongest edge down, and two clusters join only if nothing across them
says they are two people: no pair across them is a known conflict (a steward's cannot-link, or a
pair the model scores as a strong non-match), and, when the records are given, no record of one
side conflicts with a record of the other on birth date, name, phone or postal code
(``coherence``), whether or not blocking ever put those two records side by side.
Stewards' must-links are applied first and always hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from transforms.matching.coherence import Identities, Profile
from transforms.matching.settings import Comparisons


@dataclass(frozen=True)
class ClusterInput:
    """Pairs are positions (left, right) into the record list; ``records`` (standardised, in the same
    order) lets clustering hold whole clusters against each other, not only the scored pairs."""

    size: int
    edges: np.ndarray  # (n, 2) pairs scored as matches
    edge_weights: np.ndarray  # their match weights
    conflicts: np.ndarray  # (n, 2) pairs that must not end up together
    must_links: np.ndarray  # (n, 2) pairs a steward joined
    records: pd.DataFrame | None = None
    comparisons: Comparisons = Comparisons()


class _Clusters:
    def __init__(self, size: int, conflicts: np.ndarray, identities: Identities | None) -> None:
        self.parent = np.arange(size)
        self.members: dict[int, list[int]] = {}
        self.conflicts: dict[int, set[int]] = {}
        for a, b in conflicts:
            self.conflicts.setdefault(int(a), set()).add(int(b))
            self.conflicts.setdefault(int(b), set()).add(int(a))
        self.identities = identities
        self.profiles: dict[int, Profile] = {}

    def root(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return int(x)

    def _members(self, root: int) -> list[int]:
        return self.members.get(root, [root])

    def _profile(self, root: int) -> Profile:
        profile = self.profiles.get(root)
        if profile is None:
            profile = self.profiles[root] = self.identities.profile(root)
        return profile

    def compatible(self, a: int, b: int) -> bool:
        small, large = sorted((a, b), key=lambda r: len(self._members(r)))
        against = self.conflicts.get(large, set())
        if any(m in against for m in self._members(small)):
            return False
        return self.identities is None or not self.identities.conflict(self._profile(a), self._profile(b))

    def join(self, a: int, b: int) -> None:
        keep, gone = (a, b) if a < b else (b, a)
        self.parent[gone] = keep
        self.members[keep] = self._members(keep) + self._members(gone)
        self.members.pop(gone, None)
        if gone in self.conflicts or keep in self.conflicts:
            self.conflicts[keep] = self.conflicts.get(keep, set()) | self.conflicts.pop(gone, set())
        if self.identities is not None:
            self._profile(keep).absorb(self._profile(gone))
            self.profiles.pop(gone)

    def labels(self) -> np.ndarray:
        return np.fromiter((self.root(x) for x in range(len(self.parent))), np.int64, len(self.parent))


def _relevant_conflicts(data: ClusterInput) -> np.ndarray:
    """The conflicts that could ever bind: both records in one connected component of the links.

    Two namesakes in unrelated parts of the graph can never be joined, so remembering that they
    must not be costs memory for nothing (millions of such pairs at a million records).
    """
    links = np.concatenate([data.edges.reshape(-1, 2), data.must_links.reshape(-1, 2)])
    graph = coo_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(data.size, data.size))
    _, component = connected_components(graph, directed=False)
    conflicts = data.conflicts.reshape(-1, 2)
    return conflicts[component[conflicts[:, 0]] == component[conflicts[:, 1]]]


def cluster(data: ClusterInput) -> np.ndarray:
    """A cluster label per record: the smallest position in its cluster."""
    identities = None if data.records is None else Identities(data.records, data.comparisons)
    clusters = _Clusters(data.size, _relevant_conflicts(data), identities)
    for a, b in data.must_links:
        ra, rb = clusters.root(int(a)), clusters.root(int(b))
        if ra != rb:
            clusters.join(ra, rb)
    order = np.lexsort((data.edges[:, 1], data.edges[:, 0], -data.edge_weights)) if len(data.edges) else []
    for k in order:
        ra, rb = clusters.root(int(data.edges[k, 0])), clusters.root(int(data.edges[k, 1]))
        if ra != rb and clusters.compatible(ra, rb):
            clusters.join(ra, rb)
    return clusters.labels()
