"""Clustering that does not chain strangers, obeys stewards, and keeps customer IDs stable."""

import numpy as np
import pandas as pd

from transforms.matching.clustering import ClusterInput, cluster
from transforms.matching.stable_ids import assign_ids, format_id

EMPTY = np.empty((0, 2), dtype=np.int64)


def clusters_of(size, edges, weights, conflicts=EMPTY, must=EMPTY):
    return cluster(
        ClusterInput(
            size,
            np.array(edges, dtype=np.int64).reshape(-1, 2),
            np.array(weights, dtype=float),
            np.array(conflicts, dtype=np.int64).reshape(-1, 2),
            np.array(must, dtype=np.int64).reshape(-1, 2),
        )
    )


def test_a_shared_record_does_not_chain_two_people_who_conflict():
    # 0 and 2 are different people (conflict) who both match record 1 (a family email, say).
    labels = clusters_of(3, [[0, 1], [1, 2]], [20.0, 15.0], conflicts=[[0, 2]])
    assert labels[0] == labels[1] != labels[2], "the stronger edge wins, the weaker one would chain"


def test_without_conflicts_edges_join_transitively():
    labels = clusters_of(4, [[0, 1], [1, 2]], [10.0, 10.0])
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_steward_must_link_holds_even_without_an_edge_and_cannot_link_blocks_one():
    labels = clusters_of(4, [[2, 3]], [30.0], conflicts=[[2, 3]], must=[[0, 1]])
    assert labels[0] == labels[1]
    assert labels[2] != labels[3]


def assignment(groups: dict[str, int], previous: dict[str, str], highest: int):
    clusters = pd.Series(groups)
    ids, events = assign_ids(clusters, pd.Series(previous, dtype=object), highest)
    return ids.to_dict(), {(e.customer_id, e.event, e.related_id) for e in events}


def test_new_clusters_get_new_ids_and_unchanged_ones_keep_theirs():
    ids, events = assignment({"a": 0, "b": 0, "c": 1}, {}, 0)
    assert ids == {"a": format_id(1), "b": format_id(1), "c": format_id(2)}
    again, later = assignment({"a": 5, "b": 5, "c": 9}, ids, 2)
    assert again == ids and later == set()


def test_a_merge_keeps_the_older_id_and_records_the_other_as_merged_into_it():
    previous = {"a": format_id(7), "b": format_id(3)}
    ids, events = assignment({"a": 0, "b": 0}, previous, 7)
    assert set(ids.values()) == {format_id(3)}
    assert (format_id(7), "merged_into", format_id(3)) in events


def test_a_split_gives_the_smaller_part_a_new_id_recorded_as_split_from_the_old():
    previous = {"a": format_id(1), "b": format_id(1), "c": format_id(1)}
    ids, events = assignment({"a": 0, "b": 0, "c": 1}, previous, 1)
    assert ids["a"] == ids["b"] == format_id(1)
    assert ids["c"] == format_id(2)
    assert (format_id(2), "created", None) in events
    assert (format_id(2), "split_from", format_id(1)) in events


def test_an_id_whose_records_are_all_gone_is_retired():
    _, events = assignment({"a": 0}, {"a": format_id(1), "z": format_id(2)}, 2)
    assert (format_id(2), "retired", None) in events
