"""Publishing to the strict simulator over HTTP and into real folders, from a hub after a real pipeline run.

Audiences are built from the hub's own customers (picked from mdm.customer_xref), on DuckDB and on
PostgreSQL. What each tool holds and received is read back from the simulator's stores and write log and
from the files, and compared with what the hub meant to send: nothing missing, nothing twice. Identifiers
are compared, never printed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from exports.publishing.config import parse
from hub import storage
from hub.access.acting import Actor
from hub.commands import publish as publish_command
from hub.gdpr import service as dsr_service
from hub.pseudonym import pseudonym_key
from hub.publish.delivery import Progress
from hub.publish.service import publish
from hub.segments.store import read_sent_recently
from hub.simulator import esp, running_simulator, webshop
from hub.simulator.writes_log import received_writes
from quality.identifiers import keyed_hash

TODAY = date(2026, 11, 2)
HUB_TAGS = {"vip", "lapsing"}
CONFIG_TEXT = """
[defaults]
mode = "mirror"
max_removal_share = 0.5

[destinations.email]
tool = "esp"
audiences = ["vip", "lapsing"]

[destinations.shop]
tool = "webshop"
audiences = ["vip", "lapsing"]

[destinations.loyalty]
tool = "loyalty"
audiences = ["vip", "lapsing"]

[destinations.ads]
tool = "ads"
audiences = ["vip"]
"""
CONFIG = parse(CONFIG_TEXT, "test")


class Crash(RuntimeError):
    """Stands for the process dying half-way through a run."""


# ------------------------------------------------------------------------------ the hub's side


def frame(settings, sql: str, **params) -> pd.DataFrame:
    with storage.engine(settings.database_url).connect() as connection:
        return storage.read_frame(connection, sql, **params)


def records(settings) -> pd.DataFrame:
    """customer_id, source_system, source_key of every email-platform, webshop-account and loyalty record."""
    return frame(
        settings,
        "SELECT customer_id, source_system, source_key FROM mdm.customer_xref "
        "WHERE source_system IN ('esp', 'webshop', 'loyalty') AND source_key NOT LIKE 'order:%' ORDER BY 1, 2, 3",
    ).astype(str)


def ad_consenting(settings) -> set[str]:
    granted = frame(settings, "SELECT customer_id FROM mdm.consent_state WHERE purpose = 'ad_targeting' AND granted")
    return set(granted["customer_id"])


def cast(settings) -> tuple[list[str], list[str]]:
    """Customers with a record in all three tools: (those who granted ad targeting, the others), sorted."""
    held = records(settings).groupby("customer_id")["source_system"].nunique()
    everywhere = sorted(held[held == 3].index)
    consenting = ad_consenting(settings)
    return [c for c in everywhere if c in consenting], [c for c in everywhere if c not in consenting]


def audiences(vip: list[str], lapsing: list[str] = ()) -> pd.DataFrame:
    rows = [("vip", c) for c in vip] + [("lapsing", c) for c in lapsing]
    return pd.DataFrame(rows, columns=["audience", "customer_id"])


def picked(settings) -> tuple[list[str], list[str]]:
    """A vip audience of 12 (4 who granted ad targeting first) and a lapsing one overlapping it."""
    consenting, others = cast(settings)
    assert len(consenting) >= 4 and len(others) >= 12
    vip = consenting[:4] + others[:8]
    return vip, vip[2:6] + others[8:12]


def keys_of(settings, system: str, customers) -> dict[str, str]:
    """The system's keys of the customers: key -> customer."""
    found = records(settings)
    found = found[(found["source_system"] == system) & found["customer_id"].isin(set(customers))]
    return dict(zip(found["source_key"], found["customer_id"], strict=True))


def wanted_segments(settings, system: str, table: pd.DataFrame, only=HUB_TAGS) -> dict[str, set[str]]:
    """Per key of ``system``: the audiences (of ``only``) its customer is in."""
    result: dict[str, set[str]] = {}
    for key, customer in keys_of(settings, system, table["customer_id"]).items():
        result[key] = set(table.loc[(table["customer_id"] == customer) & table["audience"].isin(only), "audience"])
    return result


def wanted_ad_lines(settings, customers) -> set[str]:
    """vip.csv as the contract asks: SHA-256 of the trimmed, lower-cased email and of the E.164 phone."""
    golden = frame(settings, "SELECT customer_id, email, phone FROM mdm.golden_customer")
    golden = golden[golden["customer_id"].isin(set(customers) & ad_consenting(settings))]

    def sha(value) -> str:
        return hashlib.sha256(value.strip().lower().encode()).hexdigest() if isinstance(value, str) and value else ""

    return {f"{sha(e)},{sha(p)}" for e, p in zip(golden["email"], golden["phone"], strict=True)} - {","}


def run(settings, table: pd.DataFrame, **options):
    return publish(settings, table, config=options.pop("config", CONFIG), today=TODAY, **options)


# ------------------------------------------------------------------------------ the tools' side


def member_tags(systems: Path) -> dict[str, set[str]]:
    conn = sqlite3.connect(systems / esp.FILE)
    try:
        return {
            mid: {t["name"] for t in json.loads(doc)["tags"]} for mid, doc in conn.execute("SELECT id, doc FROM member")
        }
    finally:
        conn.close()


def shop_segments(systems: Path) -> dict[str, str | None]:
    conn = sqlite3.connect(systems / webshop.FILE)
    try:
        rows = conn.execute("SELECT id, doc FROM customer").fetchall()
    finally:
        conn.close()
    values = {}
    for cid, doc in rows:
        meta = [m["value"] for m in json.loads(doc)["meta_data"] if m["key"] == "hub_segments"]
        values[str(cid)] = meta[0] if meta else None
    return values


def tag_writes(systems: Path) -> dict[str, list[tuple[dict, int]]]:
    """Per member: every tags request the platform received (its tags by name -> status) with its answer."""
    found: dict[str, list[tuple[dict, int]]] = {}
    for write in received_writes(systems / esp.FILE):
        match = re.fullmatch(r"/3\.0/lists/[^/]+/members/([^/]+)/tags", write.path)
        if match:
            body = {t["name"]: t["status"] for t in json.loads(write.body)["tags"]}
            found.setdefault(match.group(1), []).append((body, write.status))
    return found


def account_updates(systems: Path) -> Counter:
    """How many accepted batch updates named each account."""
    counts: Counter = Counter()
    for write in received_writes(systems / webshop.FILE):
        if write.path.endswith("/customers/batch") and write.status == 200:
            counts.update(str(item["id"]) for item in json.loads(write.body).get("update", []))
    return counts


def snapshot(settings) -> dict[str, set[str]]:
    path = Path(settings.loyalty_inbox) / f"segmentit_{TODAY:%Y%m%d}.csv"
    content = path.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and b"\r\n" in content and b"\n" not in content.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == ["jasennumero", "segmentit"]
    return {number: set(segments.split(",")) for number, segments in rows[1:]}


def ad_lines(settings, audience: str = "vip") -> set[str]:
    lines = (Path(settings.outbox_dir) / "ads" / f"{audience}.csv").read_text().splitlines()
    assert lines[0] == "email_sha256,phone_sha256"
    return set(lines[1:])


def assert_tools_hold(settings, systems: Path, table: pd.DataFrame) -> None:
    """Every tool holds exactly the audiences of ``table`` for the customers it names."""
    tags = member_tags(systems)
    for member, segments in wanted_segments(settings, "esp", table).items():
        assert tags[member] & HUB_TAGS == segments
    values = shop_segments(systems)
    for account, segments in wanted_segments(settings, "webshop", table).items():
        assert values[account] == ",".join(sorted(segments))
    wanted = {k: v for k, v in wanted_segments(settings, "loyalty", table).items() if v}
    assert snapshot(settings) == wanted
    assert ad_lines(settings) == wanted_ad_lines(settings, table.loc[table["audience"] == "vip", "customer_id"])


# ------------------------------------------------------------------------------ tests


def test_every_tool_gets_the_audiences_and_an_unchanged_publish_sends_nothing(piped_settings, systems_dir):
    vip, lapsing = picked(piped_settings)
    table = audiences(vip, lapsing)
    outcome = run(piped_settings, table)
    assert outcome.ok and outcome.run_id
    assert all(d.baseline for d in outcome.destinations)  # a first sync only adds
    assert_tools_hold(piped_settings, systems_dir, table)
    members = wanted_segments(piped_settings, "esp", table)
    writes = tag_writes(systems_dir)
    assert set(writes) == set(members)  # nobody else's tags were touched
    for member, segments in members.items():
        assert writes[member] == [({s: "active" for s in segments}, 204)]  # one request, all its tags, once
    assert set(account_updates(systems_dir)) == set(wanted_segments(piped_settings, "webshop", table))
    assert max(account_updates(systems_dir).values()) == 1

    files = sorted(Path(piped_settings.home, "outbox").rglob("*.csv"))
    stamps = [(f, f.stat().st_mtime_ns) for f in files]
    log_before = len(received_writes(systems_dir / esp.FILE)), len(received_writes(systems_dir / webshop.FILE))
    again = run(piped_settings, table)
    assert again.ok and all(d.adds == d.changes == d.removals == 0 and not d.files for d in again.destinations)
    assert (len(received_writes(systems_dir / esp.FILE)), len(received_writes(systems_dir / webshop.FILE))) == (
        log_before
    )
    assert sorted(Path(piped_settings.home, "outbox").rglob("*.csv")) == files
    assert [(f, f.stat().st_mtime_ns) for f in files] == stamps


def test_leaving_an_audience_is_a_removal_in_every_tool(piped_settings, systems_dir):
    vip, lapsing = picked(piped_settings)
    run(piped_settings, audiences(vip, lapsing))
    before = member_tags(systems_dir)
    leaver = vip[0]  # granted ad targeting, so on the ad list too
    assert leaver not in lapsing
    table = audiences(vip[1:], lapsing)
    outcome = run(piped_settings, table)
    assert outcome.ok
    by_name = {d.destination: d for d in outcome.destinations}
    assert by_name["email"].removals == len(keys_of(piped_settings, "esp", [leaver]))
    assert_tools_hold(piped_settings, systems_dir, table)
    writes = tag_writes(systems_dir)
    after = member_tags(systems_dir)
    for member in keys_of(piped_settings, "esp", [leaver]):
        assert writes[member][-1] == ({"vip": "inactive"}, 204)
        assert after[member] == before[member] - {"vip"}  # its other tags, whoever set them, stay
    for account in keys_of(piped_settings, "webshop", [leaver]):
        assert shop_segments(systems_dir)[account] == ""
    assert not set(keys_of(piped_settings, "loyalty", [leaver])) & set(snapshot(piped_settings))
    assert wanted_ad_lines(piped_settings, [leaver]).isdisjoint(ad_lines(piped_settings))


def test_mirror_never_removes_a_tag_the_tool_held_before_the_hub(piped_settings, systems_dir):
    landed = frame(piped_settings, "SELECT id, tags FROM landing.esp_member")
    tagged = {m for m, t in zip(landed["id"], landed["tags"], strict=True) if "Kilpailu" in str(t)}
    owners = records(piped_settings)
    owners = owners[owners["source_system"] == "esp"]
    holder = owners.loc[owners["source_key"].isin(tagged), "customer_id"].iloc[0]
    untagged = sorted(set(owners["customer_id"]) - set(owners.loc[owners["source_key"].isin(tagged), "customer_id"]))
    config = parse('[destinations.email]\ntool = "esp"\naudiences = ["Kilpailu"]\n', "test")
    table = pd.DataFrame({"audience": "Kilpailu", "customer_id": [holder, *untagged[:6]]})
    before = member_tags(systems_dir)
    first = run(piped_settings, table, config=config)
    held_member = next(m for m in keys_of(piped_settings, "esp", [holder]) if m in tagged)
    assert held_member not in tag_writes(systems_dir)  # adopted: the platform had it already
    assert first.destinations[0].adds == len(keys_of(piped_settings, "esp", [holder, *untagged[:6]])) - 1

    second = run(piped_settings, table[~table["customer_id"].isin([holder, untagged[0]])], config=config)
    assert second.ok and second.destinations[0].removals == len(keys_of(piped_settings, "esp", [untagged[0]]))
    after = member_tags(systems_dir)
    assert held_member not in tag_writes(systems_dir) and "Kilpailu" in after[held_member]
    for member in keys_of(piped_settings, "esp", [untagged[0]]):
        assert tag_writes(systems_dir)[member][-1] == ({"Kilpailu": "inactive"}, 204)
    for member, tags in before.items():  # no other tag of any member changed
        assert after[member] - {"Kilpailu"} == tags - {"Kilpailu"}


def test_injected_429_and_5xx_are_retried_and_every_change_lands_once(piped_settings, systems_dir, make_settings):
    vip, lapsing = picked(piped_settings)
    table = audiences(vip, lapsing)
    with running_simulator(systems_dir, fault_rate=0.3, strict=True) as faulty:
        settings = make_settings(faulty, piped_settings.database_url, piped_settings.home)
        outcomes = [run(settings, table)]
        while not outcomes[-1].ok and len(outcomes) < 4:  # what the faults defeated waits for the next run
            outcomes.append(run(settings, table))
    assert outcomes[-1].ok
    assert_tools_hold(piped_settings, systems_dir, table)
    for writes in tag_writes(systems_dir).values():
        assert [status for _, status in writes] == [204], "a member's tags were set more than once"
    assert set(account_updates(systems_dir).values()) == {1}
    tries = frame(piped_settings, "SELECT attempts FROM mdm.sync_log WHERE tool IN ('esp', 'webshop')")["attempts"]
    assert tries.sum() > len(tries)  # the faults were there, and were retried


def test_a_run_killed_half_way_delivers_the_rest_exactly_once_when_run_again(piped_settings, systems_dir):
    everyone = sorted(set(records(piped_settings)["customer_id"]))
    table = audiences(everyone, everyone[::3])
    members = wanted_segments(piped_settings, "esp", table)
    accounts = wanted_segments(piped_settings, "webshop", table)

    def crash_after(destination: str, answered: int):
        def report(progress: Progress) -> None:
            if progress.destination == destination and progress.answered >= answered:
                raise Crash(destination)

        return report

    with pytest.raises(Crash):
        run(piped_settings, table, report=crash_after("email", 10))
    sent_before = len(tag_writes(systems_dir))
    assert 0 < sent_before < len(members)
    with pytest.raises(Crash):  # again, now in the webshop after its first batch of 100
        run(piped_settings, table, report=crash_after("shop", 1))
    assert 0 < len(account_updates(systems_dir)) < len(accounts)
    runs = frame(piped_settings, "SELECT status FROM mdm.publish_run")["status"]
    assert sorted(runs) == ["failed", "failed"]
    outcome = run(piped_settings, table)
    assert outcome.ok
    assert_tools_hold(piped_settings, systems_dir, table)
    writes = tag_writes(systems_dir)
    assert set(writes) == set(members)
    for member, segments in members.items():
        assert writes[member] == [({s: "active" for s in segments}, 204)], "lost or sent twice"
    assert set(account_updates(systems_dir)) == set(accounts) and set(account_updates(systems_dir).values()) == {1}
    assert run(piped_settings, table).destinations[0].adds == 0


def test_restricted_or_erased_people_leave_every_tool_whatever_the_mode(piped_settings, systems_dir):
    config = parse(
        """
[destinations.email]
tool = "esp"
audiences = ["vip"]
[destinations.shop]
tool = "webshop"
audiences = ["vip"]
mode = "upsert"
[destinations.loyalty]
tool = "loyalty"
audiences = ["vip"]
mode = "add_only"
[destinations.ads]
tool = "ads"
audiences = ["vip"]
mode = "upsert"
""",
        "test",
    )
    vip, _ = picked(piped_settings)
    restricted, erased = vip[0], vip[1]  # both granted ad targeting
    run(piped_settings, audiences(vip), config=config)
    assert wanted_ad_lines(piped_settings, [restricted, erased]) <= ad_lines(piped_settings)
    erased_numbers = keys_of(piped_settings, "loyalty", [erased])
    erased_lines = wanted_ad_lines(piped_settings, [erased])
    with storage.engine(piped_settings.database_url).begin() as connection:
        connection.execute(
            sa.text("INSERT INTO mdm.subject_flag VALUES (:c, 'restricted', 'REQ-test', :now)"),
            {"c": restricted, "now": datetime.now(UTC)},
        )
    dpo = Actor("test-dpo", "dpo")
    request = dsr_service.submit(piped_settings, dpo, "erasure", "customer", erased)
    dsr_service.verify(piped_settings, dpo, request, "test: identity document checked")
    assert dsr_service.carry_out(piped_settings, dpo, request).status == "completed"
    held = frame(piped_settings, "SELECT tool, target FROM mdm.publish_state")
    assert held[held["target"].isin({erased, *erased_numbers})].empty  # the erasure took the sync state too

    outcome = run(piped_settings, audiences(vip), config=config)  # still listed: the diff leaves them out
    assert outcome.ok
    for member in keys_of(piped_settings, "esp", [restricted]):
        assert tag_writes(systems_dir)[member][-1] == ({"vip": "inactive"}, 204)
    for account in keys_of(piped_settings, "webshop", [restricted]):
        assert shop_segments(systems_dir)[account] == ""
    numbers = set(snapshot(piped_settings))
    assert not numbers & {*keys_of(piped_settings, "loyalty", [restricted]), *erased_numbers}
    lines = ad_lines(piped_settings)
    assert wanted_ad_lines(piped_settings, [restricted]).isdisjoint(lines) and erased_lines.isdisjoint(lines)
    assert wanted_ad_lines(piped_settings, vip[2:4]) <= lines


def test_an_unknown_member_is_rejected_with_its_reason_and_a_vanished_one_counts_as_removed(
    piped_settings, systems_dir
):
    config = parse('[destinations.email]\ntool = "esp"\naudiences = ["vip"]\n', "test")
    vip, _ = picked(piped_settings)
    gone, leaving = (sorted(keys_of(piped_settings, "esp", [c]))[0] for c in vip[:2])
    conn = sqlite3.connect(systems_dir / esp.FILE)
    conn.execute("DELETE FROM member WHERE id = ?", (gone,))
    conn.commit()
    first = run(piped_settings, audiences(vip), config=config)
    assert first.destinations[0].outcomes["rejected"] == 1 and first.ok  # refused for good: nothing to retry
    log = frame(piped_settings, "SELECT target_ref, status, error FROM mdm.sync_log WHERE status = 'rejected'")
    assert list(log["target_ref"]) == [keyed_hash(pseudonym_key(piped_settings), "record", f"esp:{gone}")]
    assert log["error"].iloc[0].startswith("HTTP 404")
    assert run(piped_settings, audiences(vip), config=config).destinations[0].adds == 1  # tried again next run

    conn.execute("DELETE FROM member WHERE id = ?", (leaving,))
    conn.commit()
    conn.close()
    removal = run(piped_settings, audiences([c for c in vip if c != vip[1]]), config=config)
    assert removal.destinations[0].outcomes.get("absent") == 1
    state = frame(piped_settings, "SELECT target FROM mdm.publish_state")
    assert leaving not in set(state["target"])


def test_guards_hold_removals_of_an_empty_audience_and_a_lost_state_never_deletes(piped_settings, systems_dir):
    vip, lapsing = picked(piped_settings)
    table = audiences(vip, lapsing)
    run(piped_settings, table)
    writes = len(received_writes(systems_dir / esp.FILE)), len(received_writes(systems_dir / webshop.FILE))
    files = {f: f.read_bytes() for f in Path(piped_settings.home, "outbox").rglob("*.csv")}
    empty = run(piped_settings, audiences([]))
    assert all(d.removals == 0 and d.held > 0 for d in empty.destinations)
    assert all("empty" in " ".join(d.notes) for d in empty.destinations)
    assert (len(received_writes(systems_dir / esp.FILE)), len(received_writes(systems_dir / webshop.FILE))) == writes
    assert {f: f.read_bytes() for f in files} == files

    with storage.engine(piped_settings.database_url).begin() as connection:
        connection.execute(sa.text("DELETE FROM mdm.publish_state"))
    lost = run(piped_settings, audiences([]))
    assert all(d.baseline and d.removals == 0 for d in lost.destinations)
    assert {f: f.read_bytes() for f in files} == files  # the files were not replaced by empty ones
    assert (len(received_writes(systems_dir / esp.FILE)), len(received_writes(systems_dir / webshop.FILE))) == writes

    rebaselined = run(piped_settings, table)  # idempotent writes restore the state, nothing is removed
    assert rebaselined.ok and all(d.removals == 0 for d in rebaselined.destinations)
    forced = run(piped_settings, audiences(vip[:2]), force=True)
    assert forced.ok and all(d.held == 0 for d in forced.destinations)
    assert_tools_hold(piped_settings, systems_dir, audiences(vip[:2]))


def test_a_dry_run_plans_with_masked_samples_and_sends_nothing(piped_settings, systems_dir):
    vip, lapsing = picked(piped_settings)
    outcome = run(piped_settings, audiences(vip, lapsing), dry_run=True)
    assert outcome.dry_run and outcome.run_id is None
    email = outcome.destinations[0]
    assert email.adds == sum(len(s) for s in wanted_segments(piped_settings, "esp", audiences(vip, lapsing)).values())
    samples = [s for d in outcome.destinations for keys in d.samples.values() for s in keys]
    assert samples and all(re.fullmatch(r".\*\*\*", s) for s in samples)
    assert not received_writes(systems_dir / esp.FILE) and not received_writes(systems_dir / webshop.FILE)
    assert not list(Path(piped_settings.home).rglob("*.csv"))
    for table in ("publish_state", "publish_outbox", "publish_run", "sync_log"):
        assert frame(piped_settings, f"SELECT count(*) AS n FROM mdm.{table}")["n"].iloc[0] == 0


def test_the_sync_log_names_people_only_by_pseudonym_and_the_command_shows_it(piped_settings, monkeypatch):
    vip, lapsing = picked(piped_settings)
    run(piped_settings, audiences(vip, lapsing))
    log = frame(piped_settings, "SELECT * FROM mdm.sync_log")
    assert len(log) and log["target_ref"].str.fullmatch(r"[0-9a-f]{64}").all()
    key = pseudonym_key(piped_settings)
    expected = {keyed_hash(key, "record", f"esp:{m}") for m in wanted_segments(piped_settings, "esp", audiences(vip))}
    assert expected <= set(log["target_ref"])
    keys = {k for k in set(records(piped_settings)["source_key"]) | set(vip) if len(k) >= 6}  # not ids like 7
    cells = " ".join(log.astype(str).to_numpy().ravel())
    assert not any(k in cells for k in keys), "a tool's key or customer ID in clear in the sync log"

    monkeypatch.setenv("HUB_DATABASE_URL", piped_settings.database_url)
    monkeypatch.setenv("HUB_HOME", str(piped_settings.home))
    shown = CliRunner().invoke(publish_command.app, ["log", "--limit", "5"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert "Sync log (5 newest)" in shown.output and "sent" in shown.output

    # `hub publish --dry-run`, acting as if the policy already had the lead's `publish` action.
    monkeypatch.setattr(publish_command, "acting", lambda ctx, action: None)
    (piped_settings.home / "publishing.toml").write_text(CONFIG_TEXT)
    monkeypatch.setenv("HUB_PUBLISHING", str(piped_settings.home / "publishing.toml"))
    csv_file = piped_settings.home / "audiences.csv"
    audiences(vip + cast(piped_settings)[1][12:15], lapsing).to_csv(csv_file, index=False)
    planned = CliRunner().invoke(
        publish_command.app, ["--audiences", str(csv_file), "--dry-run"], env={"COLUMNS": "250"}
    )
    assert planned.exit_code == 0, planned.output
    assert "Plan (dry run: nothing sent)" in planned.output and "***" in planned.output
    assert len(frame(piped_settings, "SELECT * FROM mdm.sync_log")) == len(log)


def test_messages_sent_are_traced_back_to_their_customers(piped_settings):
    """The frequency cap counts what the tools were sent: every confirmed addition in the sync log, through
    its pseudonymous target, is traced to the customer whose record (or ID, for an ad list) it names."""
    vip, lapsing = picked(piped_settings)
    table = audiences(vip, lapsing)
    assert run(piped_settings, table).ok
    with storage.engine(piped_settings.database_url).connect() as connection:
        sent = storage.read_frame(
            connection,
            "SELECT tool, count(*) AS n FROM mdm.sync_log WHERE operation = 'add' AND status = 'sent' GROUP BY tool",
        )
        key, since = pseudonym_key(piped_settings), datetime(2000, 1, 1, tzinfo=UTC)
        counted = read_sent_recently(connection, key, since, pd.Index(table["customer_id"].unique()))
        one = table["customer_id"].iloc[0]
        alone = read_sent_recently(connection, key, since, pd.Index([one]))
    assert set(sent["tool"]) >= {"esp", "webshop", "ads"}
    assert counted.sum() == sent["n"].sum() > 0
    assert set(counted.index) <= set(table["customer_id"])
    assert list(alone.index) == [one] and alone[one] == counted[one], "only the customers asked about are traced"
