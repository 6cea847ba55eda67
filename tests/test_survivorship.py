"""Survivorship rules choose golden values and say where each came from."""

from pathlib import Path

import pandas as pd
import pytest

from hub.config import ConfigurationError
from hub.settings import read_settings
from transforms.standardise.names import fold_name
from transforms.survivorship import NameOrder, name_order_from, name_statistics, rules_from, survive, swapped_names


def records():
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C1", "C2"],
            "unique_id": ["erp:1", "esp:x", "loyalty:9", "erp:2"],
            "source_system": ["erp", "esp", "loyalty", "erp"],
            "source_key": ["1", "x", "9", "2"],
            "updated_at": pd.to_datetime(["2024-01-01", "2025-06-01", "2023-01-01", "2024-01-01"], utc=True),
            "first_name_display": ["Matti", "Mattti", "Matti", "Anna"],
            "last_name_display": ["Virtanen", "Virtanen-Korhonen", "Virtanen", "Laine"],
            "email": ["old@example.fi", "new@example.fi", None, None],
            "phone": [None, None, "+358401234567", None],
            "birth_date": pd.to_datetime(["1980-03-07", None, "1980-03-07", None]),
            "street_display": ["Hämeenkatu 1", None, None, None],
            "postal_code": ["33100", None, "33200", None],
            "city_display": ["Tampere", None, None, None],
        }
    )


def test_each_attribute_follows_its_rules_and_records_its_lineage():
    golden, lineage = survive(records(), rules_from(read_settings("survivorship.toml")))
    c1 = golden.set_index("customer_id").loc["C1"]
    assert c1["first_name"] == "Matti"  # the ERP is trusted most for first names
    assert c1["last_name"] == "Virtanen-Korhonen"  # the newest spelling: a married name
    assert c1["email"] == "new@example.fi"  # recency
    assert c1["phone"] == "+358401234567"  # the only candidate
    lines = lineage.set_index(["customer_id", "attribute"])
    assert lines.loc[("C1", "first_name"), "rule"] == "trust"
    assert lines.loc[("C1", "email"), ["source_system", "source_key", "rule"]].tolist() == ["esp", "x", "recency"]
    assert lines.loc[("C1", "phone"), "rule"] == "only candidate"
    assert lines.loc[("C1", "email"), "candidates"] == 2
    assert ("C2", "email") not in lines.index


def test_rules_naming_an_unknown_rule_are_refused(tmp_path: Path):
    config = tmp_path / "rules.toml"
    config.write_text('[attributes.email]\nrules = ["loudest"]\n')
    with pytest.raises(ValueError, match="unknown"):
        rules_from(read_settings(config))
    config.write_text("[attributes.email\n")
    with pytest.raises(ConfigurationError, match="rules.toml is not valid TOML"):
        read_settings(config)


# --- swapped first and last names -------------------------------------------------------------------

RULES = read_settings("survivorship.toml")
ORDER = NameOrder(min_observations=20, min_ratio=10)
# The rest of a large landing: (times seen as a first name, as a last name) in everyone else's records.
ELSEWHERE = pd.DataFrame(
    {
        "hannele": (640, 0),
        "virtanen": (9, 2210),  # a few clerks' swaps among thousands
        "elias": (820, 3),
        "lauri": (1130, 160),  # a common first name that is a surname as well
        "aalto": (2, 450),
        "saimi": (4, 0),  # rare
        "karppa": (0, 3),  # rare
        "kaisa": (442, 4),
        "tervoharju": (0, 2),  # rare, but a last name where seen
    },
    index=["first", "last"],
).T.rename_axis("token")
NOWHERE = ELSEWHERE.iloc[0:0]


def named(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    """Source records (customer, unique_id, first name, last name) with nothing else known."""
    frame = pd.DataFrame(rows, columns=["customer_id", "unique_id", "first_name_display", "last_name_display"])
    frame[["source_system", "source_key"]] = frame["unique_id"].str.split(":", expand=True)
    frame["updated_at"] = pd.Timestamp("2025-01-01", tz="UTC")
    for part in ("first_name", "last_name"):
        frame[part] = frame[f"{part}_display"].map(fold_name)
    for column in ("email", "phone", "birth_date", "street_display", "postal_code", "city_display"):
        frame[column] = None
    return frame


def golden_names(records: pd.DataFrame, elsewhere: pd.DataFrame = ELSEWHERE) -> pd.DataFrame:
    """Golden names and the lineage rule of the first name, judged by statistics of these records and
    the rest of the landing."""
    statistics = elsewhere.add(name_statistics(records), fill_value=0)
    golden, lineage = survive(records, rules_from(RULES), ORDER, statistics)
    rules = lineage[lineage["attribute"] == "first_name"].set_index("customer_id")["rule"]
    return golden.set_index("customer_id")[["first_name", "last_name"]].assign(rule=rules)


def test_a_trusted_record_with_swapped_names_is_outvoted_by_two_others():
    records = named(
        ("C1", "erp:1", "Virtanen", "Hannele"),
        ("C1", "webshop:7", "Hannele", "Virtanen"),
        ("C1", "loyalty:9", "Hannele", "Virtanen"),
        ("C2", "erp:2", "Virtnen", "Hannele"),  # swapped with a typo: still contradicted
        ("C2", "esp:x", "Hanne", "Virtanen"),
        ("C2", "loyalty:3", "Hannele", "Virtanen"),
    )
    golden = golden_names(records, NOWHERE)  # no statistics to speak of: the sources alone decide
    assert golden.loc["C1"].tolist() == ["Hannele", "Virtanen", "trust; name order corrected by other sources"]
    # The trusted ERP's spelling of the last name (a typo) still wins, but in the right field.
    assert golden.loc["C2", ["first_name", "last_name"]].tolist() == ["Hannele", "Virtnen"]
    turned = swapped_names(records, ORDER, name_statistics(records))
    assert turned.dropna().to_dict() == {0: "other sources", 3: "other sources"}


def test_a_lone_record_with_swapped_common_names_is_put_right_by_the_name_statistics():
    records = named(
        ("C1", "erp:1", "Virtanen", "Hannele"),
        ("C2", "erp:2", "Aalto", "Elias"),
        ("C3", "erp:3", "Tervoharju", "Kaisa"),  # one clear name decides when the other leans the same way
    )
    golden = golden_names(records)
    assert golden.loc["C1"].tolist() == [
        "Hannele",
        "Virtanen",
        "only candidate; name order corrected by name statistics",
    ]
    assert golden.loc["C2", ["first_name", "last_name"]].tolist() == ["Elias", "Aalto"]
    assert golden.loc["C3", ["first_name", "last_name"]].tolist() == ["Kaisa", "Tervoharju"]


def test_a_tie_between_two_records_is_decided_by_the_name_statistics():
    records = named(("C1", "erp:1", "Virtanen", "Hannele"), ("C1", "esp:x", "Hannele", "Virtanen"))
    assert golden_names(records).loc["C1", ["first_name", "last_name"]].tolist() == ["Hannele", "Virtanen"]
    # Without clear statistics nothing is turned: the trusted ERP's order stands.
    assert golden_names(records, NOWHERE).loc["C1", "first_name"] == "Virtanen"


def test_rare_names_stay_as_typed():
    records = named(("C1", "erp:1", "Kärppä", "Saimi"))
    assert golden_names(records).loc["C1"].tolist() == ["Kärppä", "Saimi", "only candidate"]


def test_a_name_that_is_both_a_first_and_a_last_name_is_not_swapped_wrongly():
    # Lauri is a surname too: 'Elias Lauri' is a person, not 'Lauri Elias' typed the wrong way round.
    records = named(
        ("C1", "erp:1", "Elias", "Lauri"),
        ("C2", "erp:2", "Lauri", "Elias"),  # and this one may be either: left as typed
        ("C3", "erp:3", "Elias", "Lauri"),  # two sources agree against the statistics' taste
        ("C3", "webshop:3", "Elias", "Lauri"),
        ("C3", "esp:3", "Lauri", "Elias"),
    )
    golden = golden_names(records)
    assert golden.loc["C1"].tolist() == ["Elias", "Lauri", "only candidate"]
    assert golden.loc["C2"].tolist() == ["Lauri", "Elias", "only candidate"]
    assert golden.loc["C3", ["first_name", "last_name"]].tolist() == ["Elias", "Lauri"]


def test_name_statistics_count_every_token_of_the_landed_records():
    statistics = name_statistics(named(("C1", "erp:1", "Anna-Liisa", "Virtanen"), ("C2", "esp:x", "Anna", "Laine")))
    assert statistics.loc["anna"].tolist() == [2, 0]
    assert statistics.loc["liisa"].tolist() == [1, 0]
    assert statistics.loc["virtanen"].tolist() == [0, 1]


def test_the_name_order_settings_are_read_and_checked():
    assert name_order_from(RULES) == NameOrder(min_observations=20, min_ratio=10.0)
    assert name_order_from({"attributes": {}}) is None
    with pytest.raises(ValueError, match="name_order"):
        name_order_from({"name_order": {"min_observations": 20, "min_ratio": 1}})
