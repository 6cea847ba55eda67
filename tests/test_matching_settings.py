"""Matching settings are data: validated when loaded, stored beside the fitted model, and another file refits."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub import storage
from hub.cli import app
from hub.settings import read_settings
from transforms.matching.settings import MatchSettings, SettingsError


def default() -> dict:
    return read_settings("matching.toml")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda s: s["thresholds"].update(match=0.4), "possible < match"),
        (lambda s: s["thresholds"].update(conflict_evidence=2), "conflict_evidence"),
        (lambda s: s["comparisons"].update(name_typo="high"), "comparisons.name_typo"),
        (lambda s: s["blocking"].append({"name": "shoe_size", "max_block": 5}), "blocking[11].name"),
        (lambda s: s["blocking"].append({"name": "email", "max_block": 5}), "named twice"),
        (lambda s: s["blocking"][0].update(max_block=1.5), "blocking[0].max_block"),
        (lambda s: s.update(clustering={}), "unknown sections"),
        (lambda s: s["estimation"].update(rounds=3), "estimation: unknown"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(change, named):
    settings = default()
    change(settings)
    with pytest.raises(SettingsError, match=named.replace("[", r"\[").replace("]", r"\]")):
        MatchSettings.from_mapping(settings)


def test_the_default_file_round_trips():
    settings = MatchSettings.from_mapping(default())
    assert MatchSettings.from_mapping(settings.to_mapping()) == settings


def stored_settings(url: str) -> dict:
    with storage.engine(url).connect() as connection:
        return json.loads(connection.execute(sa.text("SELECT settings FROM mdm.match_settings")).scalar())


def test_the_model_keeps_its_settings_and_another_file_refits(piped_settings, tmp_path):
    assert stored_settings(piped_settings.database_url) == MatchSettings.from_mapping(default()).to_mapping()
    other = default()
    other["thresholds"]["match"] = 0.99
    other["blocking"] = other["blocking"][:4]
    path = tmp_path / "stricter.toml"
    path.write_text(_toml(other))
    env = {f"HUB_{k.upper()}": str(v) for k, v in vars(piped_settings).items() if v is not None}
    result = CliRunner().invoke(app, ["run", "--settings", str(path)], env=env)
    assert result.exit_code == 0, result.output
    kept = stored_settings(piped_settings.database_url)
    assert kept["thresholds"]["match"] == 0.99 and len(kept["blocking"]) == 4
    bad = tmp_path / "bad.toml"
    bad.write_text('[thresholds]\nmatch = 0.2\n[[blocking]]\nname = "email"\nmax_block = 5\n')
    refused = CliRunner().invoke(app, ["run", "--settings", str(bad)], env=env)
    assert refused.exit_code == 2 and "matching settings: thresholds: 0 < possible < match < 1" in refused.output


def _toml(settings: dict) -> str:
    lines = []
    for section in ("thresholds", "comparisons", "estimation"):
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in settings[section].items()]
    for p in settings["blocking"]:
        lines += ["[[blocking]]", f'name = "{p["name"]}"', f"max_block = {p['max_block']}"]
    return "\n".join(lines) + "\n"
