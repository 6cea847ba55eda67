"""Splink 5 baseline for the matching benchmark.

`run_splink(records)` deduplicates the standardised source records of all four systems
(ERP, webshop, loyalty, email platform) with an unsupervised Splink model on DuckDB, so that the
hub's own recordlinkage matcher can be scored against it on the very same frame in the same run.

The work runs in a child Python process (``python -m hub.bench.splink_baseline <job.json>``): the
records go in and the pairs and clusters come back as parquet files in a temporary directory. The
child reports its own wall time and ``ru_maxrss``, so the memory figure is Splink's alone (the
benchmark process, with the hub matcher's frames in it, is not counted) and includes DuckDB's
native allocations, which Python's tracemalloc would not see.

Configuration, and where it comes from in Splink's documentation
(paths in github.com/moj-analytical-services/splink):

Model (``link_type="dedupe_only"`` over one concatenated frame, as in
``docs/demos/examples/duckdb/deduplicate_50k_synthetic``):

* ``first_name`` and ``last_name``: one ``NameComparison`` each, as in
  ``docs/demos/tutorials/04_Estimating_model_parameters``. Its levels are exact match (with a
  term-frequency adjustment, so a shared "virtanen" counts for less than a shared rare surname,
  ``docs/topic_guides/comparisons/term-frequency.md``), Jaro-Winkler >= 0.92 / 0.88 / 0.70, else.
* ``email``: ``EmailComparison`` (exact with term frequencies, exact user name, Jaro-Winkler on
  address and user name), the library's email template (tutorial 04).
* ``phone``: ``DamerauLevenshteinAtThresholds(phone, 1)`` with term-frequency adjustments: numbers
  are E.164 already, so only one slipped or swapped digit is worth a level, and a number shared by a
  household (frequent) is weaker evidence than a personal one.
* birth: the levels of ``DateOfBirthComparison`` (exact date, one character different, within a
  month, a year, ten years) assembled in a ``CustomComparison`` with one extra level, "day and month
  agree, year unknown on one side", because the email platform holds only ``MM-DD``. A second,
  separate comparison on ``birth_month_day`` would count the same evidence twice: Fellegi-Sunter
  assumes comparisons are independent.
* address: one ``CustomComparison`` over street, postal code and city. Splink's
  ``PostcodeComparison`` parses UK postcodes (its sector/district/area regexes never match a
  5-digit Finnish code) and ``docs/topic_guides/data_preparation/feature_engineering.md`` shows a
  custom comparison for other postcode schemes. The docs also warn against columns that predict
  one another (city from postcode), so the three are one comparison whose levels go from "same
  street address and postal code" down to "same city".

Blocking for prediction: many strict rules rather than a few loose ones
(``docs/topic_guides/splink_fundamentals/modelling_tips.md``, "Many of our models have between about
10-15 blocking rules"): email; phone; first and last name; either name with the birthday (MM-DD,
which the email platform has too); either name with the postal code; last name with the street;
street with postal code; the first two letters of both names with the birth date. A pair needs to
pass only one of them, so a typo in one field never hides a duplicate that agrees elsewhere.

Training, in the order of tutorial 04 and the 50k example:

1. ``estimate_probability_two_random_records_match`` from deterministic rules (full name and birth
   date, email and first name, phone and last name) with an assumed recall of 0.7, the value of
   tutorial 04.
2. ``estimate_u_using_random_sampling(max_pairs=1e8, seed=seed)``: the docs advise 1e7 while
   iterating and 1e8 or more for a final model (tutorial 09 "scaling up"); the seed makes the sample,
   and so the model, reproducible (the u sample is the only random step).
3. ``estimate_parameters_using_expectation_maximisation`` four times, so that every comparison is
   estimated in at least two sessions (a session cannot estimate the comparisons its blocking rule
   uses), with ``estimate_without_term_frequencies=True`` as in the 50k example. Training rules need
   a mix of matches and non-matches, not recall (``docs/topic_guides/blocking/model_training.md``),
   but the mix must not be dominated by look-alike non-matches: blocking on the full name alone, as
   the 50k example does, fills the block with namesakes whose e-mail addresses are similar
   (firstname.lastname@...), EM then takes namesakes for matches and the model stops penalising
   different birth dates (precision 0.55 on 200k synthetic records). So the name rules also require
   the birthday or the postal code: ``(first_name, last_name, birth_month_day)``,
   ``(first_name, last_name, postal_code)``, then ``birth_date`` and ``email`` (precision 0.995,
   recall 0.98 on the same records). Each session is capped at ``max_pairs=1e7`` (Splink 5's
   deterministic down-sampling) so that a common value cannot blow up training on large inputs.

The constants below (``U_MAX_PAIRS``, ``EM_MAX_PAIRS``, ``DETERMINISTIC_RULES_RECALL``,
``DUCKDB_THREADS``) are read when `run_splink` is called, so a benchmark can override them on this
module, e.g. ``U_MAX_PAIRS = 1e7``: u sampling costs the same whatever the input size, about 16 s at
1e7 and 175 s at 1e8 pairs on 2 threads, with the same accuracy on synthetic data.

Timing: ``seconds`` runs from loading the records into DuckDB to the end of clustering, inside the
child; it leaves out starting Python and importing Splink (about 1-2 s) and the parquet hand-over.
Splink's own warnings (e.g. "m probability not trained" for a level EM never saw) are logged on this
module's logger at DEBUG level.

Inference: ``predict(threshold_match_probability=min(match_threshold, cluster_threshold))`` and
``cluster_pairwise_predictions_at_threshold`` (connected components) at ``cluster_threshold``. The
returned pairs are those at or above ``match_threshold``, each with ``unique_id_l < unique_id_r``.
A cluster id is the smallest ``unique_id`` of its cluster; singletons are clusters of their own.

DuckDB (``docs/topic_guides/performance/optimising_duckdb.md``): an in-memory connection with an
explicit ``memory_limit`` "leaving headroom for Python", here min(24 GB, 75 % of physical memory),
2 threads, and a temporary directory for spills inside the job's own temp dir.

Determinism: same input, thresholds and seed give the same model up to floating-point summation
order (DuckDB aggregates in parallel), hence the same pairs except for probabilities within about
1e-12 of a threshold.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

TEXT_COLUMNS = (
    "unique_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_month_day",
    "postal_code",
    "street",
    "city",
)
REQUIRED_COLUMNS = (*TEXT_COLUMNS, "birth_date")

DUCKDB_THREADS = 2
DUCKDB_MEMORY_LIMIT_GB = 24.0
DUCKDB_MEMORY_SHARE = 0.75  # of physical memory, when that is below the limit above

DETERMINISTIC_RULES_RECALL = 0.7
U_MAX_PAIRS = 1e8
EM_MAX_PAIRS = 1e7

CHILD_TIMEOUT_SECONDS = 6 * 3600

logger = logging.getLogger(__name__)


@dataclass
class SplinkResult:
    pairs: pd.DataFrame  # unique_id_l, unique_id_r, match_probability (pairs at/above threshold)
    clusters: pd.DataFrame  # unique_id, cluster_id
    seconds: float  # wall time of training + prediction + clustering
    peak_rss_mb: float  # peak resident memory of the process doing the work


def run_splink(
    records: pd.DataFrame,
    match_threshold: float = 0.9,
    cluster_threshold: float = 0.9,
    seed: int = 1,
) -> SplinkResult:
    """Deduplicate `records` with Splink in a child process; see the module docstring."""
    missing = [column for column in REQUIRED_COLUMNS if column not in records.columns]
    if missing:
        raise ValueError(f"records lack the column(s) {', '.join(missing)}")
    if records["unique_id"].isna().any():
        raise ValueError("records have a missing unique_id")
    if records["unique_id"].astype(str).duplicated().any():
        raise ValueError("records have duplicate unique_id values")
    for name, value in (("match_threshold", match_threshold), ("cluster_threshold", cluster_threshold)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must lie strictly between 0 and 1, not {value}")

    if len(records) < 2:  # nothing to compare; Splink's samplers need at least one pair
        return SplinkResult(
            pairs=_empty_pairs(),
            clusters=pd.DataFrame(
                {"unique_id": records["unique_id"].astype(str), "cluster_id": records["unique_id"].astype(str)}
            ).reset_index(drop=True),
            seconds=0.0,
            peak_rss_mb=0.0,
        )

    with tempfile.TemporaryDirectory(prefix="splink-baseline-") as tmp:
        work = Path(tmp)
        _write_input(records, work / "records.parquet")
        job = {
            "records": str(work / "records.parquet"),
            "pairs": str(work / "pairs.parquet"),
            "clusters": str(work / "clusters.parquet"),
            "stats": str(work / "stats.json"),
            "spill_dir": str(work / "duckdb_spill"),
            "match_threshold": float(match_threshold),
            "cluster_threshold": float(cluster_threshold),
            "seed": int(seed),
            # Read from the module at call time, so a benchmark may override them on this module.
            "u_max_pairs": float(U_MAX_PAIRS),
            "em_max_pairs": float(EM_MAX_PAIRS),
            "deterministic_rules_recall": float(DETERMINISTIC_RULES_RECALL),
            "duckdb_threads": int(DUCKDB_THREADS),
            "duckdb_memory_limit_gb": _duckdb_memory_limit_gb(),
        }
        job_path = work / "job.json"
        job_path.write_text(json.dumps(job))

        completed = subprocess.run(
            [sys.executable, "-m", "hub.bench.splink_baseline", str(job_path)],
            env=_child_environment(),
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_SECONDS,
            check=False,
        )
        if completed.returncode != 0:
            tail = "\n".join((completed.stderr or completed.stdout).splitlines()[-40:])
            raise RuntimeError(f"Splink child process failed (exit {completed.returncode}):\n{tail}")
        if completed.stderr.strip():
            logger.debug("Splink child process reported:\n%s", completed.stderr)

        stats = json.loads((work / "stats.json").read_text())
        pairs = pd.read_parquet(job["pairs"])
        clusters = pd.read_parquet(job["clusters"])

    pairs = pairs.sort_values(["unique_id_l", "unique_id_r"], ignore_index=True)
    clusters = clusters.sort_values("unique_id", ignore_index=True)
    return SplinkResult(
        pairs=pairs,
        clusters=clusters,
        seconds=float(stats["seconds"]),
        peak_rss_mb=float(stats["peak_rss_mb"]),
    )


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unique_id_l": pd.Series(dtype=object),
            "unique_id_r": pd.Series(dtype=object),
            "match_probability": pd.Series(dtype=float),
        }
    )


def _write_input(records: pd.DataFrame, path: Path) -> None:
    """Write the contract columns with explicit types (an all-None column must stay a string)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for column in TEXT_COLUMNS:
        values = records[column].astype(object).where(records[column].notna(), None)
        arrays[column] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    birth = pd.to_datetime(records["birth_date"], errors="coerce").dt.date
    arrays["birth_date"] = pa.array(birth.where(birth.notna(), None).tolist(), type=pa.date32())
    pq.write_table(pa.table(arrays), path)


def _child_environment() -> dict[str, str]:
    """The child must import this package even when the hub is not installed (a bare checkout)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _duckdb_memory_limit_gb() -> float:
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return DUCKDB_MEMORY_LIMIT_GB
    return round(min(DUCKDB_MEMORY_LIMIT_GB, physical * DUCKDB_MEMORY_SHARE), 1)


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# --- Everything below runs in the child process only. -------------------------------------------


def _settings() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import ColumnExpression, SettingsCreator, block_on

    birth = cl.CustomComparison(
        output_column_name="birth",
        comparison_description="Date of birth, or day and month where the year is unknown",
        comparison_levels=[
            # birth_month_day is set on every row with any birth information.
            cll.NullLevel("birth_month_day"),
            cll.ExactMatchLevel("birth_date").configure(label_for_charts="Exact match on date of birth"),
            cll.CustomLevel(
                "(birth_date_l IS NULL OR birth_date_r IS NULL) AND birth_month_day_l = birth_month_day_r",
                label_for_charts="Same day and month, year unknown on one side",
            ),
            cll.LevenshteinLevel(ColumnExpression("birth_date").cast_to_string(), 1).configure(
                label_for_charts="Levenshtein distance <= 1"
            ),
            cll.AbsoluteDateDifferenceLevel("birth_date", input_is_string=False, threshold=1, metric="month"),
            cll.AbsoluteDateDifferenceLevel("birth_date", input_is_string=False, threshold=1, metric="year"),
            cll.AbsoluteDateDifferenceLevel("birth_date", input_is_string=False, threshold=10, metric="year"),
            cll.ElseLevel(),
        ],
    )

    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="Street address, postal code and city as one piece of evidence",
        comparison_levels=[
            cll.CustomLevel(
                "(street_l IS NULL OR street_r IS NULL) AND (postal_code_l IS NULL OR postal_code_r IS NULL) "
                "AND (city_l IS NULL OR city_r IS NULL)",
                label_for_charts="No comparable address",
            ).configure(is_null_level=True),
            cll.And(cll.ExactMatchLevel("street"), cll.ExactMatchLevel("postal_code")).configure(
                label_for_charts="Same street address and postal code"
            ),
            cll.And(cll.ExactMatchLevel("postal_code"), cll.JaroWinklerLevel("street", 0.88)).configure(
                label_for_charts="Same postal code, similar street address"
            ),
            cll.ExactMatchLevel("street").configure(label_for_charts="Same street address, postal code differs"),
            cll.ExactMatchLevel("postal_code").configure(label_for_charts="Same postal code"),
            cll.ExactMatchLevel("city").configure(label_for_charts="Same city"),
            cll.ElseLevel(),
        ],
    )

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.EmailComparison("email"),
            cl.DamerauLevenshteinAtThresholds("phone", 1).configure(term_frequency_adjustments=True),
            birth,
            address,
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("first_name", "last_name"),
            block_on("first_name", "birth_month_day"),
            block_on("last_name", "birth_month_day"),
            block_on("first_name", "postal_code"),
            block_on("last_name", "postal_code"),
            block_on("last_name", "street"),
            block_on("street", "postal_code"),
            block_on("substr(first_name, 1, 2)", "substr(last_name, 1, 2)", "birth_date"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _train_predict_cluster(job: dict[str, Any]) -> None:
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    Path(job["spill_dir"]).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        ":memory:",
        config={
            "threads": job["duckdb_threads"],
            "memory_limit": f"{job['duckdb_memory_limit_gb']}GB",
            "temp_directory": job["spill_dir"],
        },
    )

    started = time.perf_counter()
    source = job["records"].replace("'", "''")
    cleaned = ",\n".join(
        f"NULLIF(TRIM(CAST({c} AS VARCHAR)), '') AS {c}" for c in TEXT_COLUMNS[1:] if c != "birth_month_day"
    )
    con.execute(
        f"""
        CREATE TABLE records AS
        SELECT
            CAST(unique_id AS VARCHAR) AS unique_id,
            {cleaned},
            CAST(birth_date AS DATE) AS birth_date,
            -- the birth comparison's null level relies on MM-DD being set wherever a date is
            COALESCE(NULLIF(TRIM(CAST(birth_month_day AS VARCHAR)), ''), strftime(CAST(birth_date AS DATE), '%m-%d'))
                AS birth_month_day
        FROM read_parquet('{source}')
        """
    )

    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register("records"), _settings(), log_level="WARNING")

    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("first_name", "last_name", "birth_date"),
            block_on("email", "first_name"),
            block_on("phone", "last_name"),
        ],
        recall=job["deterministic_rules_recall"],
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=job["u_max_pairs"], seed=job["seed"])
    for training_rule in (
        block_on("first_name", "last_name", "birth_month_day"),
        block_on("first_name", "last_name", "postal_code"),
        block_on("birth_date"),
        block_on("email"),
    ):
        linker.training.estimate_parameters_using_expectation_maximisation(
            training_rule, estimate_without_term_frequencies=True, max_pairs=job["em_max_pairs"]
        )

    match_threshold = job["match_threshold"]
    cluster_threshold = job["cluster_threshold"]
    predictions = linker.inference.predict(threshold_match_probability=min(match_threshold, cluster_threshold))
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=cluster_threshold
    )
    seconds = time.perf_counter() - started

    def copy_to_parquet(sql: str, path: str) -> None:
        con.execute(f"COPY ({sql}) TO '{path.replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")

    copy_to_parquet(
        f"SELECT unique_id_l, unique_id_r, match_probability FROM {predictions.physical_name} "
        f"WHERE match_probability >= {match_threshold!r}",
        job["pairs"],
    )
    copy_to_parquet(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}", job["clusters"])
    con.close()

    Path(job["stats"]).write_text(json.dumps({"seconds": seconds, "peak_rss_mb": _peak_rss_mb()}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m hub.bench.splink_baseline <job.json>  (internal: run by run_splink)")
    _train_predict_cluster(json.loads(Path(sys.argv[1]).read_text()))
