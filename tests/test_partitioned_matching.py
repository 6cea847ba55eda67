"""Matching in shards on Dask's local cluster gives exactly what the one-step stage gave.

The prepared hub (``piped_settings``, PostgreSQL: Dask's workers are other processes, and an embedded DuckDB
file takes one of them at a time) was matched by ``hub run`` in one process. The matching job then runs
again on ``dask_executor``'s local cluster, in three shards, re-fitting the model: every stored pair must come
back with the same levels, outcome, conflict flag and weights, the model with the same m and u, and every
record in the same customer. A pair lost or doubled at a shard's border, or compared against other
records, changes the stored pairs; one scored out of order changes its weights.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from hub import golden_store as store
from hub import storage
from hub.bench.partitioned import FULL_REBUILD, run_matching
from hub.config import ConfigurationError, load_settings
from hub.definitions import MATCHING_JOB, PIPELINE_JOB, build_definitions
from hub.instance import persistent_instance
from transforms.matching.blocking import split_pairs

REFIT = {"ops": {"golden__match_pairs": {"config": {"full_rebuild": True, "refit": True}}}}
SHARDS = 3


def stored(url: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The stored pairs (by their two records), the model and the cross-reference."""
    with storage.engine(url).connect() as connection:
        pairs = pd.read_sql(sa.text("SELECT * FROM mdm.match_pair"), connection).drop(columns="scored_at")
        model = pd.read_sql(sa.text("SELECT feature, level, m, u FROM mdm.match_model"), connection)
        xref = store.load_xref(connection).sort_index()
    pairs = pairs.sort_values(["left_id", "right_id"], ignore_index=True)
    return pairs, model.sort_values(["feature", "level"], ignore_index=True), xref


@pytest.mark.parametrize("piped_backend", ["postgresql"], indirect=True)
def test_matching_in_shards_on_dask_equals_matching_in_one_process(piped_settings, monkeypatch):
    one_pairs, one_model, one_xref = stored(piped_settings.database_url)
    assert len(one_pairs) > 100 and (one_pairs["outcome"] == "match").any()

    settings = replace(piped_settings, match_shards=str(SHARDS))
    for name, value in {**settings.environment(), "HUB_EXECUTOR": "dask"}.items():
        monkeypatch.setenv(name, value)  # the workers' settings; put back after the test
    run = run_matching(settings, REFIT)

    assert run.success
    shards = [key for key in run.steps if ".compare_shard_" in key]
    assert len(shards) == SHARDS and all(run.steps[key]["pairs"] > 0 for key in shards)
    assert os.getpid() not in run.pids  # every step ran in a Dask worker
    stage = run.assets["golden/match_pairs"]
    assert stage["shards"] == SHARDS and stage["model_refitted"] and stage["mode"] == "full"

    pairs, model, xref = stored(piped_settings.database_url)
    assert pairs[["left_id", "right_id"]].equals(one_pairs[["left_id", "right_id"]])
    exact = [c for c in pairs.columns if c.startswith("level_")] + ["outcome", "conflict"]
    assert pairs[exact].equals(one_pairs[exact])
    weights = [c for c in pairs.columns if c.startswith("weight_")] + ["match_weight", "match_probability"]
    np.testing.assert_allclose(pairs[weights].to_numpy(float), one_pairs[weights].to_numpy(float), rtol=1e-6)
    np.testing.assert_allclose(model[["m", "u"]].to_numpy(), one_model[["m", "u"]].to_numpy(), rtol=1e-9)
    assert xref.equals(one_xref)


@pytest.mark.unit
def test_every_candidate_pair_is_in_exactly_one_shard_in_order():
    pairs = np.column_stack([np.arange(10), np.arange(10) + 1])
    for shards in (1, 3, 10, 12):
        parts = split_pairs(pairs, shards)
        assert len(parts) == shards
        assert np.array_equal(np.concatenate(parts), pairs)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


@pytest.mark.parametrize("piped_backend", ["postgresql"], indirect=True)
def test_matching_in_shards_in_one_process_with_the_stored_model_equals_it_too(piped_settings):
    """`hub run` executes in its own process whatever the executor: the shards then run one after another."""
    one_pairs, one_model, one_xref = stored(piped_settings.database_url)
    settings = replace(piped_settings, match_shards="2")
    with persistent_instance(settings) as instance:
        result = (
            build_definitions(settings)
            .resolve_job_def(MATCHING_JOB)
            .execute_in_process(instance=instance, run_config=FULL_REBUILD)
        )
    assert result.success
    stage = result.asset_materializations_for_node("golden__match_pairs")[0].metadata
    assert stage["shards"].value == 2 and not stage["model_refitted"].value
    pairs, model, xref = stored(piped_settings.database_url)
    assert pairs.equals(one_pairs)
    assert model.equals(one_model) and xref.equals(one_xref)


@pytest.mark.unit
def test_the_dask_executor_takes_the_run_lock_and_needs_postgresql(tmp_path):
    postgres = {
        "HUB_HOME": str(tmp_path),
        "HUB_DATABASE_URL": "postgresql+psycopg://hub@db/hub",
        "HUB_EXECUTOR": "dask",
    }
    defs = build_definitions(load_settings({**postgres, "HUB_MATCH_SHARDS": "4"}))
    for job_def in (defs.resolve_job_def(PIPELINE_JOB), defs.resolve_job_def(MATCHING_JOB)):
        assert job_def.executor_def.name == "dask" and "run lock" in job_def.executor_def.description
    steps = defs.resolve_job_def(MATCHING_JOB).graph.node_dict["golden__match_pairs"].definition.node_dict
    assert sorted(steps) == ["collect_matching", *(f"compare_shard_{i}" for i in range(4)), "plan_matching"]
    with pytest.raises(ConfigurationError, match="HUB_EXECUTOR"):
        build_definitions(load_settings({"HUB_HOME": str(tmp_path), "HUB_EXECUTOR": "dask"}))  # DuckDB
    with pytest.raises(ConfigurationError, match="HUB_MATCH_SHARDS"):
        build_definitions(load_settings({**postgres, "HUB_MATCH_SHARDS": "2.5"}))
