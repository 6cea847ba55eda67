"""Survivorship rules choose golden values and say where each came from."""

from pathlib import Path

import pandas as pd
import pytest

from hub.config import ConfigurationError
from hub.settings import read_settings
from transforms.survivorship import rules_from, survive


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
