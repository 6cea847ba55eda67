"""The publishing planner, configuration and targets on small hand-worked cases (no database, no tools)."""

from __future__ import annotations

import hashlib
import re

import pandas as pd
import pytest

from exports.publishing import config as publishing_config
from exports.publishing import files, targets
from exports.publishing.config import ConfigError, parse
from exports.publishing.plan import (
    ADD,
    ADD_ONLY,
    ADOPT,
    CHANGE,
    DESIRED_COLUMNS,
    MIRROR,
    RELEASE,
    REMOVE,
    UPSERT,
    applied,
    file_held,
    plan_destination,
)
from hub.config import ConfigurationError
from hub.publish.config import DEFAULT_FILE, load_publishing


def wanted(*rows: tuple) -> pd.DataFrame:
    """Desired memberships from (audience, target[, payload]) tuples."""
    return pd.DataFrame([(a, t, rest[0] if rest else "") for a, t, *rest in rows], columns=DESIRED_COLUMNS)


def state(*rows: tuple) -> pd.DataFrame:
    """Delivered memberships from (audience, target[, payload[, adopted]]) tuples."""
    return pd.DataFrame(
        [(a, t, rest[0] if rest else "", rest[1] if len(rest) > 1 else False) for a, t, *rest in rows],
        columns=["audience", "target", "payload", "adopted"],
    )


def ops(plan) -> set[tuple[str, str, str]]:
    return set(zip(plan.items["audience"], plan.items["target"], plan.items["operation"], strict=True))


# Delivered: vip holds a, b, c, d (d with an old payload); the hub now wants a, b, d (new payload) and e.
DELIVERED = state(("vip", "a"), ("vip", "b"), ("vip", "c"), ("vip", "d", "old"))
DESIRED = wanted(("vip", "a"), ("vip", "b"), ("vip", "d", "new"), ("vip", "e"))


def test_mirror_adds_changes_and_removes_what_it_added():
    plan = plan_destination(DESIRED, DELIVERED, modes={"vip": MIRROR})
    assert ops(plan) == {("vip", "e", ADD), ("vip", "d", CHANGE), ("vip", "c", REMOVE)}
    assert plan.items.set_index("target").loc["d", "payload"] == "new"
    assert plan.items.set_index("target").loc["c", "payload"] == ""
    (summary,) = plan.audiences
    assert (summary.wanted, summary.delivered, summary.adds, summary.changes, summary.removals) == (4, 4, 1, 1, 1)
    assert summary.held == 0 and summary.note == ""


def test_upsert_adds_and_changes_and_never_removes():
    plan = plan_destination(DESIRED, DELIVERED, modes={"vip": UPSERT})
    assert ops(plan) == {("vip", "e", ADD), ("vip", "d", CHANGE)}


def test_add_only_only_adds():
    plan = plan_destination(DESIRED, DELIVERED, modes={"vip": ADD_ONLY})
    assert ops(plan) == {("vip", "e", ADD)}


def test_an_unchanged_audience_plans_nothing():
    same = wanted(("vip", "a"), ("vip", "b"), ("vip", "c"), ("vip", "d", "old"))
    assert plan_destination(same, DELIVERED, modes={"vip": MIRROR}).items.empty


@pytest.mark.parametrize("mode", [MIRROR, UPSERT, ADD_ONLY])
def test_a_withdrawn_person_is_removed_whatever_the_mode_even_if_still_in_the_audience(mode):
    # b is restricted (or erased, or lost consent): it leaves although the audience still lists it.
    plan = plan_destination(DESIRED, DELIVERED, modes={"vip": mode}, withdrawn={"b"})
    assert ("vip", "b", REMOVE) in ops(plan)
    assert ("vip", "c", REMOVE) in ops(plan) if mode == MIRROR else ("vip", "c", REMOVE) not in ops(plan)


def test_a_withdrawn_person_is_removed_through_every_guard():
    # Empty audience (guard) and a first sync (baseline): b still goes, nothing else is removed.
    for options in ({"baseline": True}, {}):
        plan = plan_destination(wanted(), DELIVERED, modes={"vip": MIRROR}, withdrawn={"b"}, **options)
        assert ops(plan) == {("vip", "b", REMOVE)}
        assert plan.audiences[0].held == 3  # a, c, d


def test_an_empty_audience_removes_nothing_without_force():
    plan = plan_destination(wanted(), DELIVERED, modes={"vip": MIRROR}, max_removal_share=1.0)
    assert plan.items.empty
    assert plan.audiences[0].held == 4 and "empty" in plan.audiences[0].note
    forced = plan_destination(wanted(), DELIVERED, modes={"vip": MIRROR}, force=True)
    assert ops(forced) == {("vip", t, REMOVE) for t in "abcd"} and forced.audiences[0].held == 0


def test_a_sharp_shrink_waits_for_force_and_the_share_itself_does_not():
    # Keeping a and b of a, b, c, d removes 2 of 4 = 50%: allowed at 0.5, held at 0.4.
    half = wanted(("vip", "a"), ("vip", "b"))
    assert ops(plan_destination(half, DELIVERED, modes={"vip": MIRROR}, max_removal_share=0.5)) == {
        ("vip", "c", REMOVE),
        ("vip", "d", REMOVE),
    }
    held = plan_destination(half, DELIVERED, modes={"vip": MIRROR}, max_removal_share=0.4)
    assert held.items.empty and held.audiences[0].held == 2
    assert "50%" in held.audiences[0].note and "40%" in held.audiences[0].note


def test_removals_an_earlier_run_planned_keep_their_approval():
    # A forced run planned removing c and d, then crashed: the guard does not stop them again.
    carried = pd.DataFrame([("vip", "c", REMOVE), ("vip", "d", REMOVE)], columns=["audience", "target", "operation"])
    half = wanted(("vip", "a"), ("vip", "b"))
    plan = plan_destination(half, DELIVERED, modes={"vip": MIRROR}, max_removal_share=0.1, carried=carried)
    assert ops(plan) == {("vip", "c", REMOVE), ("vip", "d", REMOVE)}
    assert plan.items["carried"].all()


def test_a_first_sync_or_a_lost_state_only_adds():
    plan = plan_destination(DESIRED, DELIVERED, modes={"vip": MIRROR}, baseline=True)
    assert ops(plan) == {("vip", "e", ADD), ("vip", "d", CHANGE)}
    assert plan.baseline and plan.audiences[0].held == 1  # c stays


def test_a_membership_the_tool_held_before_is_adopted_and_only_ever_released():
    present = pd.DataFrame([("vip", "e"), ("vip", "x")], columns=["audience", "target"])
    plan = plan_destination(DESIRED, DELIVERED, modes={"vip": MIRROR}, present=present)
    assert ("vip", "e", ADOPT) in ops(plan) and ("vip", "e", ADD) not in ops(plan)
    # Later the hub no longer wants e, and its person withdraws: it is forgotten, never removed.
    adopted = state(("vip", "a"), ("vip", "e", "", True))
    for gone in (set(), {"e"}):
        later = plan_destination(wanted(("vip", "a")), adopted, modes={"vip": MIRROR}, withdrawn=gone)
        assert ops(later) == {("vip", "e", RELEASE)}


def test_an_audience_no_longer_routed_takes_the_default_mode_and_its_guard():
    delivered = state(("vip", "a"), ("old", "a"), ("old", "b"))
    plan = plan_destination(wanted(("vip", "a")), delivered, modes={"vip": MIRROR}, default_mode=MIRROR)
    old = next(a for a in plan.audiences if a.audience == "old")
    assert plan.items.empty and old.held == 2 and old.mode == MIRROR
    forced = plan_destination(wanted(("vip", "a")), delivered, modes={"vip": MIRROR}, force=True)
    assert ops(forced) == {("old", "a", REMOVE), ("old", "b", REMOVE)}


def test_modes_apply_per_audience():
    delivered = state(("vip", "a"), ("vip", "b"), ("new", "a"), ("new", "b"))
    desired = wanted(("vip", "a"), ("new", "a"))
    plan = plan_destination(desired, delivered, modes={"vip": MIRROR, "new": ADD_ONLY}, max_removal_share=1.0)
    assert ops(plan) == {("vip", "b", REMOVE)}


def test_applied_state_and_holding():
    plan = plan_destination(DESIRED, DELIVERED, modes={"vip": MIRROR})
    after = applied(DELIVERED, plan.items)
    assert list(zip(after["target"], after["payload"], strict=True)) == [("a", ""), ("b", ""), ("d", "new"), ("e", "")]
    held = plan.holding(["vip"], "file guard")
    assert held.items.empty and held.audiences[0].held == 3 and held.audiences[0].note == "file guard"


def test_a_file_is_not_replaced_by_a_much_smaller_one():
    assert file_held(5, 10, max_removal_share=0.5, force=False) == ""  # half: allowed
    assert "10 to 4" in file_held(4, 10, max_removal_share=0.5, force=False)
    assert file_held(0, 10, max_removal_share=1.0, force=False)  # an empty file never replaces a full one
    assert file_held(0, 10, max_removal_share=0.5, force=True) == ""
    assert file_held(0, None, max_removal_share=0.5, force=False) == ""  # nothing written before


# ------------------------------------------------------------------------------------------- targets


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_ad_lines_hash_the_trimmed_lower_cased_email_and_the_e164_phone():
    assert targets.hashed_line("  Matti.Meikalainen@Example.FI ", "040 123 4567") == (
        f"{sha('matti.meikalainen@example.fi')},{sha('+358401234567')}"
    )
    assert targets.hashed_line(None, "+358401234567") == f",{sha('+358401234567')}"
    assert targets.hashed_line("x@example.fi", "not a phone") == f"{sha('x@example.fi')},"


def test_only_eligible_customers_reach_a_tool_and_those_who_left_are_withdrawn():
    audiences = pd.DataFrame(
        [("vip", "C1"), ("vip", "C2"), ("vip", "C3"), ("other", "C1")], columns=["audience", "customer_id"]
    )
    keys = pd.DataFrame([("C1", "m1"), ("C1", "m1b"), ("C2", "m2"), ("C3", "m3")], columns=["customer_id", "target"])
    desired = targets.members(audiences, keys, routed=["vip"], eligible={"C1", "C2"})
    assert sorted(desired["target"]) == ["m1", "m1b", "m2"] and set(desired["audience"]) == {"vip"}
    assert targets.withdrawn(["m1", "m3", "gone"], keys, eligible={"C1", "C2"}) == {"m3", "gone"}
    golden = pd.DataFrame([("C1", "a@example.fi", None), ("C2", None, None)], columns=["customer_id", "email", "phone"])
    contacts = targets.contacts(audiences, golden, routed=["vip"], eligible={"C1", "C2"})
    assert list(contacts["target"]) == ["C1"]  # C2 has no contact to hash
    with pytest.raises(ValueError, match="audience, customer_id"):
        targets.checked_audiences(pd.DataFrame({"segment": ["vip"]}))


def test_files_are_written_in_their_dialects():
    content, lines = files.segment_snapshot([("20000158", "at_risk,vip"), ("20000002", "vip"), ("20000003", "")])
    assert content.startswith(b"\xef\xbb\xbf") and lines == 2
    assert content.decode("utf-8-sig") == "jasennumero;segmentit\r\n20000002;vip\r\n20000158;at_risk,vip\r\n"
    listed, count = files.customer_list(["b,c", "a,", "b,c", ","])
    assert listed == b"email_sha256,phone_sha256\r\na,\r\nb,c\r\n" and count == 2
    assert files.snapshot_name(pd.Timestamp("2026-11-02").date()) == "segmentit_20261102.csv"


# ------------------------------------------------------------------------------------------- config

EXAMPLE = """\
[defaults]
mode = "mirror"
max_removal_share = 0.4

[destinations.email]
tool = "esp"
audiences = ["vip", "lapsing"]
modes = { lapsing = "add_only" }
in_flight = 4

[destinations.ads_meta]
tool = "ads"
audiences = ["vip"]
folder = "meta"
"""


def test_a_valid_configuration_reads_with_its_defaults():
    config = parse(EXAMPLE, "example.toml")
    email, ads = config.destinations
    assert (email.tool, email.audiences, email.in_flight) == ("esp", ("vip", "lapsing"), 4)
    assert email.max_removal_share == 0.4
    assert (email.mode_of("vip"), email.mode_of("lapsing")) == (MIRROR, ADD_ONLY)
    assert (ads.consent, ads.folder) == ("ad_targeting", "meta")


@pytest.mark.parametrize(
    "change, where",
    [
        (('mode = "mirror"\n', 'mode = "mirorr"\n'), "example.toml line 2: defaults.mode: expected one of"),
        (("in_flight = 4", "in_flight = 11"), "line 9: destinations.email.in_flight"),
        (('folder = "meta"', 'folder = "meta"\nconsent = "profiling"'), "line 15: destinations.ads_meta.consent"),
        (('lapsing = "add_only"', 'gone = "add_only"'), "line 8: destinations.email.modes.gone: unknown key"),
        (('audiences = ["vip"]\n', 'audiences = ["vip", "a,b"]\n'), "line 13: destinations.ads_meta.audiences[1]"),
        (
            ('tool = "ads"\naudiences = ["vip"]\nfolder = "meta"\n', 'tool = "esp"\naudiences = ["vip"]\n'),
            "line 12: destinations.ads_meta.tool: esp is already the tool of destination email",
        ),
        (("max_removal_share = 0.4", "max_removal_share = 2"), "line 3: defaults.max_removal_share"),
        (("in_flight = 4", "in_flight = 4\nbatch = 3"), "line 10: destinations.email.batch: unknown key"),
        (("[destinations.email]", "[destinations.email"), "example.toml: not valid TOML"),
    ],
)
def test_a_wrong_setting_is_refused_naming_file_line_and_key(change, where):
    old, new = change
    assert old in EXAMPLE
    with pytest.raises(ConfigError, match=re.escape(where)):
        parse(EXAMPLE.replace(old, new, 1), "example.toml")


def test_the_default_file_is_valid_and_hub_publishing_names_another(tmp_path):
    assert publishing_config.load(DEFAULT_FILE).destinations
    other = tmp_path / "mine.toml"
    other.write_text(EXAMPLE.replace('tool = "esp"', 'tool = "post"'))
    with pytest.raises(ConfigurationError, match=re.escape(f"{other} line 6: destinations.email.tool")):
        load_publishing({"HUB_PUBLISHING": str(other)})
    other.write_text(EXAMPLE)
    assert [d.name for d in load_publishing({"HUB_PUBLISHING": str(other)}).destinations] == ["email", "ads_meta"]


def test_each_target_holds_its_audiences_sorted_once_and_only_unknown_or_ineligible_targets_are_withdrawn():
    held = pd.DataFrame(
        {"target": ["7", "7", "7", "8", "9", "9"], "audience": ["vip", "lapsing", "vip", "new", "b", "a"]}
    )
    assert targets.segment_lists(held).to_dict() == {"7": "lapsing,vip", "8": "new", "9": "a,b"}
    assert targets.segment_lists(held.iloc[0:0]).empty
    keys = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "target": ["7", "8", "9"]})
    assert targets.withdrawn(["7", "8", "9", "10"], keys, frozenset({"C1", "C3"})) == {"8", "10"}
