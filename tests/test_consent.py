"""The consent ledger and state: each rule on hand-made events, extraction from landing-like rows, and
the whole pipeline on DuckDB and PostgreSQL (a reload adds no event; `hub consent show` explains)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import run_assets
from dagster import materialize
from typer.testing import CliRunner

from hub import storage
from hub.cli import app
from hub.consent import ConsentPolicy, consent_ledger, consent_state
from hub.consent_store import load_purchasers
from hub.consent_view import explain
from hub.resources import database_resource
from transforms.consent import PURPOSES
from transforms.consent.events import (
    EVENT_COLUMNS,
    RESTATED,
    TOUCH_TIMED,
    consent_events,
    erp_events,
    esp_events,
    loyalty_events,
    restatements,
    webshop_events,
)
from transforms.consent.state import (
    EVENT_INPUT,
    RULE_OBJECTION,
    RULE_RESTRICTED,
    RULE_SOFT_OPT_IN,
    RULE_TIE,
    current_state,
    differences,
    follow_merges,
)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
NO_FLAGS = pd.DataFrame(columns=["customer_id", "flag"])


def event(customer, purpose, action, when, system="esp", event_id=None) -> dict:
    return {
        "customer_id": customer,
        "event_id": event_id or f"{system}-{purpose}-{action}-{when}",
        "source_system": system,
        "purpose": purpose,
        "action": action,
        "occurred_at": pd.Timestamp(when, tz="UTC") if when else None,
    }


def state_of(events, customers=("C1",), flags=NO_FLAGS, purchasers=(), soft_opt_in=False) -> pd.DataFrame:
    frame = pd.DataFrame(events, columns=EVENT_INPUT)
    state = current_state(list(customers), frame, flags, list(purchasers), soft_opt_in, NOW)
    return state.set_index(["customer_id", "purpose"])


def test_the_latest_explicit_event_wins_either_way():
    withdrawn = state_of(
        [
            event("C1", "email_marketing", "grant", "2024-01-01"),
            event("C1", "email_marketing", "withdraw", "2025-01-01"),
        ]
    ).loc[("C1", "email_marketing")]
    assert not withdrawn["granted"] and withdrawn["basis"] == "explicit"
    assert withdrawn["event_id"] == "esp-email_marketing-withdraw-2025-01-01"
    regranted = state_of(
        [
            event("C1", "email_marketing", "withdraw", "2024-01-01"),
            event("C1", "email_marketing", "grant", "2025-01-01"),
        ]
    ).loc[("C1", "email_marketing")]
    assert regranted["granted"] and regranted["event_id"] == "esp-email_marketing-grant-2025-01-01"


@pytest.mark.parametrize("grant_first", [True, False])
def test_at_equal_times_a_withdrawal_beats_a_grant(grant_first):
    pair = [
        event("C1", "ad_targeting", "grant", "2025-03-01 10:00"),
        event("C1", "ad_targeting", "withdraw", "2025-03-01 10:00"),
    ]
    row = state_of(pair if grant_first else pair[::-1]).loc[("C1", "ad_targeting")]
    assert not row["granted"] and row["rule"] == RULE_TIE["withdraw"]


def test_a_ban_is_not_overridden_by_an_older_or_untimed_grant():
    state = state_of(
        [
            event("C1", "direct_mail", "ban", "2024-06-01", system="erp"),
            event("C1", "direct_mail", "grant", "2024-05-31", system="loyalty"),
            event("C1", "sms_marketing", "withdraw", "2020-01-01", system="loyalty"),
            event("C1", "sms_marketing", "grant", None, system="webshop"),
        ]
    )
    assert not state.loc[("C1", "direct_mail"), "granted"]
    assert state.loc[("C1", "direct_mail"), "event_id"] == "erp-direct_mail-ban-2024-06-01"
    assert not state.loc[("C1", "sms_marketing"), "granted"]


def test_a_date_only_withdrawal_is_not_overridden_by_a_grant_of_the_same_day():
    state = state_of(
        [
            event("C1", "email_marketing", "withdraw", "2025-02-02", system="loyalty"),
            event("C1", "email_marketing", "grant", "2025-02-02 15:00"),
            event("C1", "profiling", "withdraw", "2025-02-02", system="loyalty"),
            event("C1", "profiling", "grant", "2025-02-03 08:00"),
        ]
    )
    assert not state.loc[("C1", "email_marketing"), "granted"]
    assert state.loc[("C1", "profiling"), "granted"], "a grant of a later day still wins"


def test_an_objection_is_absolute_even_against_a_later_grant():
    objections = [
        event("C1", "email_marketing", "objection", "2024-01-01", system="dsr", event_id="objection-1"),
        event("C1", "profiling", "objection", "2024-02-01", system="dsr", event_id="objection-2"),
    ]
    later = [event("C1", p, "grant", "2025-01-01") for p in PURPOSES]
    state = state_of(
        [*objections, *later, event("C2", "email_marketing", "grant", "2025-01-01")], customers=("C1", "C2")
    )
    assert not state.loc["C1", "granted"].any()
    assert set(state.loc["C1", "basis"]) == {"objection"} and set(state.loc["C1", "rule"]) == {RULE_OBJECTION}
    assert state.loc["C1", "event_id"].to_dict() == {
        p: "objection-2" if p == "profiling" else "objection-1" for p in PURPOSES
    }, "each purpose shows its own objection, the others the first one"
    assert state.loc[("C2", "email_marketing"), "granted"], "another customer's objection changes nothing"


@pytest.mark.parametrize(("flag", "basis"), [("restricted", "restriction"), ("objected", "objection")])
def test_a_restricted_or_objecting_subject_is_denied_every_purpose(flag, basis):
    grants = [event(c, p, "grant", "2025-01-01") for c in ("C1", "C2") for p in PURPOSES]
    flags = pd.DataFrame({"customer_id": ["C1"], "flag": [flag]})
    state = state_of(grants, customers=("C1", "C2"), flags=flags, purchasers=["C1"], soft_opt_in=True)
    assert not state.loc["C1", "granted"].any() and set(state.loc["C1", "basis"]) == {basis}
    if flag == "restricted":
        assert set(state.loc["C1", "rule"]) == {RULE_RESTRICTED}
    assert state.loc["C2", "granted"].all()


def test_no_event_means_no_consent_for_every_customer_and_purpose():
    state = state_of([event("C9", "email_marketing", "grant", "2025-01-01")], customers=("C1", "C2"))
    assert len(state) == 2 * len(PURPOSES)
    assert not state["granted"].any() and set(state["basis"]) == {"none"}


def test_soft_opt_in_grants_only_email_only_when_enabled_and_never_over_a_withdrawal():
    events = [event("C2", "email_marketing", "withdraw", "2020-01-01", system="webshop")]
    customers, buyers = ("C1", "C2", "C3"), ["C1", "C2"]
    off = state_of(events, customers=customers, purchasers=buyers)
    assert not off["granted"].any()
    on = state_of(events, customers=customers, purchasers=buyers, soft_opt_in=True)
    assert (
        on.loc[("C1", "email_marketing"), "granted"] and on.loc[("C1", "email_marketing"), "rule"] == RULE_SOFT_OPT_IN
    )
    assert on.loc[("C1", "email_marketing"), "basis"] == "soft_opt_in"
    assert not on.drop(("C1", "email_marketing"))["granted"].any(), "no other purpose, no withdrawn or non-buyer"


def test_only_decisions_that_changed_or_went_are_written_again():
    events = [event("C1", "email_marketing", "grant", "2025-01-01")]
    first = current_state(["C1", "C2"], pd.DataFrame(events, columns=EVENT_INPUT), NO_FLAGS, [], False, NOW)
    later = datetime(2026, 12, 1, tzinfo=UTC)
    events.append(event("C1", "sms_marketing", "grant", "2026-11-15"))
    second = current_state(["C1", "C3"], pd.DataFrame(events, columns=EVENT_INPUT), NO_FLAGS, [], False, later)
    changed, gone = differences(second, first)
    assert sorted(map(tuple, changed[["customer_id", "purpose"]].to_numpy())) == sorted(
        [("C1", "sms_marketing")] + [("C3", p) for p in PURPOSES]
    ), "a new decision and a new customer; C1's unchanged email grant is not written again"
    assert (changed["updated_at"] == pd.Timestamp(later)).all()
    assert sorted(gone) == sorted(("C2", p) for p in PURPOSES)
    assert differences(second, second)[0].empty, "nothing changed, nothing written"


def test_follow_merges_reaches_the_id_that_holds_the_customer_now():
    merges = pd.DataFrame(
        {
            "customer_id": ["A", "B", "D", "D"],
            "related_id": ["B", "C", "X", "E"],
            "recorded_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-01", "2025-03-01"], utc=True),
        }
    )
    assert follow_merges(pd.Series(["A", "B", "C", "D", "Z"]), merges).tolist() == ["C", "C", "C", "E", "Z"]


def permissions(email: bool, ads: bool) -> list[dict]:
    return [
        {"marketing_permission_id": "perm-email", "text": "Email", "enabled": email},
        {"marketing_permission_id": "perm-ads", "text": "Customized Online Advertising", "enabled": ads},
    ]


ESP_MEMBERS = pd.DataFrame(
    {
        "id": ["a" * 32, "b" * 32, "c" * 32, "d" * 32],
        "status": ["subscribed", "unsubscribed", "cleaned", "pending"],
        "timestamp_opt": ["2024-01-01T08:00:00Z", "2023-01-01T08:00:00Z", None, None],
        "last_changed": [
            "2024-06-01T08:00:00Z",
            "2025-01-01T08:00:00Z",
            "2025-02-01T08:00:00Z",
            "2025-03-01T08:00:00Z",
        ],
        "ip_opt": ["192.0.2.1", "192.0.2.2", None, "192.0.2.4"],
        # JSON text as DuckDB gives it, parsed JSON as PostgreSQL does; no permissions at all.
        "marketing_permissions": [
            json.dumps(permissions(True, False)),
            permissions(True, True),
            None,
            permissions(True, False),
        ],
    }
)


def test_esp_status_and_permissions_become_events_but_cleaned_and_pending_decide_nothing():
    events = esp_events(ESP_MEMBERS)
    got = set(zip(events["source_key"].str[0], events["purpose"], events["action"], strict=True))
    assert got == {
        ("a", "email_marketing", "grant"),  # status, and the Email permission
        ("a", "ad_targeting", "withdraw"),
        ("b", "email_marketing", "withdraw"),  # status unsubscribed
        ("b", "email_marketing", "grant"),  # its Email permission, at the same time: the tie goes to the withdrawal
        ("b", "ad_targeting", "grant"),
        ("d", "ad_targeting", "withdraw"),  # a pending member's withdrawal counts, its grants wait for confirmation
    }
    status = events[events["evidence"] == "status subscribed"].iloc[0]
    assert status["occurred_at"] == pd.Timestamp("2024-01-01T08:00:00Z") and status["ip"] == "192.0.2.1"
    assert events.loc[events["evidence"].str.contains("perm-ads"), "occurred_at"].min() == pd.Timestamp(
        "2024-06-01T08:00:00Z"
    )


def test_webshop_loyalty_and_erp_rows_become_events_with_the_crosswalk_keys():
    webshop = webshop_events(
        pd.DataFrame(
            {
                "id": [17, 18, 19],
                "newsletter_opt_in": ["yes", "no", None],
                "newsletter_opt_in_at": ["2025-01-01T10:00:00", "2025-01-02T10:00:00", None],
            }
        )
    )
    assert webshop[["source_key", "action"]].values.tolist() == [["17", "grant"], ["18", "withdraw"]]
    loyalty = loyalty_events(
        pd.DataFrame(
            {"jasennumero": ["L1", "L2"], "markkinointilupa": ["K", "E"], "lupa_muutettu": ["2025-01-01", None]}
        )
    )
    assert sorted(loyalty.loc[loyalty["source_key"] == "L1", "purpose"]) == sorted(
        ["email_marketing", "sms_marketing", "direct_mail", "profiling"]
    )
    assert set(loyalty.loc[loyalty["source_key"] == "L2", "action"]) == {"withdraw"}
    erp = erp_events(
        pd.DataFrame(
            {
                "customer_no": ["E1", "E2", "E3"],
                "marketing_ban": [True, True, False],
                "updated_at": ["2025-01-01T00:00:00Z"] * 3,
                "is_deleted": [False, True, False],
            }
        )
    )
    assert set(erp["source_key"]) == {"E1"} and set(erp["purpose"]) == set(PURPOSES) and set(erp["action"]) == {"ban"}


def test_event_ids_are_deterministic_and_change_with_what_the_event_says():
    first = consent_events({"esp_member": ESP_MEMBERS}, NOW)
    again = consent_events({"esp_member": ESP_MEMBERS.copy()}, datetime(2027, 1, 1, tzinfo=UTC))
    assert list(first.columns) == [*EVENT_COLUMNS, TOUCH_TIMED] and first["event_id"].is_unique
    assert first["event_id"].tolist() == again["event_id"].tolist()
    changed = ESP_MEMBERS.assign(last_changed=ESP_MEMBERS["last_changed"].str.replace("2025", "2026"))
    ids = set(consent_events({"esp_member": changed}, NOW)["event_id"])
    assert ids != set(first["event_id"]) and ids & set(first["event_id"]), "only the events whose time moved are new"
    assert consent_events({}, NOW).empty


def test_a_later_touch_restating_the_latest_decision_is_no_new_decision():
    def stated(key, purpose, action, when, evidence, system="esp", touch=True) -> dict:
        return {
            "source_system": system,
            "source_key": key,
            "purpose": purpose,
            "action": action,
            "occurred_at": pd.Timestamp(when, tz="UTC"),
            "evidence": evidence,
            TOUCH_TIMED: touch,
        }

    email_on = "marketing permission 1 'Email' enabled=true"
    latest = pd.DataFrame(
        [
            stated("m1", "email_marketing", "grant", "2025-01-01", email_on),
            stated("m1", "ad_targeting", "withdraw", "2025-01-01", "marketing permission 2 enabled=false"),
            stated("w1", "email_marketing", "grant", "2025-01-01", "newsletter_opt_in=yes", "webshop", False),
            stated("m3", "email_marketing", "withdraw", "2025-01-01", "status unsubscribed"),
        ]
    )[[*RESTATED, "occurred_at"]]
    read = pd.DataFrame(
        [
            stated("m1", "email_marketing", "grant", "2025-06-01", email_on),  # the hub set a tag: restated
            stated("m1", "ad_targeting", "grant", "2025-06-01", "marketing permission 2 enabled=true"),  # changed
            stated("w1", "email_marketing", "grant", "2025-06-01", "newsletter_opt_in=yes", "webshop", False),
            stated("m3", "email_marketing", "withdraw", "2024-06-01", "status unsubscribed"),  # older, not later
            stated("m4", "email_marketing", "grant", "2025-06-01", email_on),  # nothing in the ledger yet
        ]
    )
    assert restatements(read, latest).tolist() == [True, False, False, False, False]

    # Why it matters: the member's old grant, dated at the hub's write, would outrank a newer withdrawal.
    withdrawn = event("C1", "email_marketing", "withdraw", "2025-03-01", system="webshop")
    ledger = [event("C1", "email_marketing", "grant", "2025-01-01"), withdrawn]
    assert not state_of(ledger).loc[("C1", "email_marketing"), "granted"]
    redated = event("C1", "email_marketing", "grant", "2025-06-01")
    assert state_of([*ledger, redated]).loc[("C1", "email_marketing"), "granted"], "what the rule prevents"


def test_reload_adds_no_consent_event_and_consent_show_explains_an_esp_decision(piped_settings, tmp_path):
    url = piped_settings.database_url
    count = "SELECT count(*) FROM mdm.consent_event"
    with storage.engine(url).connect() as connection:
        before = connection.execute(sa.text(count)).scalar()
    assert before > 0

    outcome = run_assets(piped_settings, "landing", "golden", "consent")  # a reload, up to the consent state
    assert outcome.ok, outcome.errors
    with storage.engine(url).connect() as connection:
        assert connection.execute(sa.text(count)).scalar() == before, "a reload of the same data adds nothing"
        customers = connection.execute(sa.text("SELECT count(*) FROM mdm.golden_customer")).scalar()
        rows, purposes, held = connection.execute(
            sa.text("SELECT count(*), count(DISTINCT purpose), count(DISTINCT customer_id) FROM mdm.consent_state")
        ).one()
        chosen = connection.execute(
            sa.text(
                "SELECT s.customer_id, s.purpose, s.granted, s.event_id, e.source_key, e.action "
                "FROM mdm.consent_state s JOIN mdm.consent_event e ON e.event_id = s.event_id "
                "WHERE e.source_system = 'esp' ORDER BY s.customer_id, s.purpose LIMIT 1"
            )
        ).one()
        trail = connection.execute(
            sa.text(
                "SELECT count(*) FROM mdm.consent_event e JOIN mdm.customer_xref x "
                "ON x.source_system = e.source_system AND x.source_key = e.source_key WHERE x.customer_id = :c"
            ),
            {"c": chosen.customer_id},
        ).scalar()
    assert (rows, purposes, held) == (customers * len(PURPOSES), len(PURPOSES), customers)
    assert chosen.granted == (chosen.action == "grant")

    env = {"COLUMNS": "250", "HUB_HOME": str(piped_settings.home), "HUB_DATABASE_URL": url}
    shown = CliRunner().invoke(app, ["consent", "show", chosen.customer_id], env=env)
    assert shown.exit_code == 0, shown.output
    assert chosen.event_id in shown.output and chosen.source_key in shown.output
    assert f"Evidence ({trail} events" in shown.output

    with storage.engine(url).begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO mdm.customer_id_history (customer_id, event, related_id, run_id, recorded_at) "
                "VALUES ('CUST9999999999', 'merged_into', :c, 'test', :t)"
            ),
            {"c": chosen.customer_id, "t": NOW},
        )
        merged = explain(connection, "CUST9999999999")
    assert merged.current_id == chosen.customer_id and merged.found and len(merged.events) == trail

    result = materialize(
        [consent_state],
        resources={"database": database_resource(piped_settings), "consent_policy": ConsentPolicy(soft_opt_in=True)},
    )
    assert result.success
    with storage.engine(url).connect() as connection:
        soft = storage.read_frame(
            connection, "SELECT customer_id, purpose FROM mdm.consent_state WHERE basis = 'soft_opt_in'"
        )
        buyers = set(load_purchasers(connection))
    assert len(soft) > 0 and set(soft["purpose"]) == {"email_marketing"} and set(soft["customer_id"]) <= buyers


def _ledger_run(settings) -> int:
    """Materialise the consent ledger alone; how many landed rows it read."""
    result = materialize([consent_ledger], resources={"database": database_resource(settings)})
    assert result.success
    (event,) = result.get_asset_materialization_events()
    return event.materialization.metadata["landed_rows_read"].value


def test_the_ledger_reads_only_rows_landed_since_it_last_read_and_misses_no_event(piped_settings):
    url = piped_settings.database_url
    events = "SELECT event_id FROM mdm.consent_event ORDER BY event_id"
    with storage.engine(url).connect() as connection:
        before = connection.execute(sa.text(events)).scalars().all()
        banned = connection.execute(
            sa.text(
                "SELECT customer_no FROM landing.erp_customer WHERE NOT coalesce(marketing_ban, FALSE) "
                "AND NOT coalesce(is_deleted, FALSE) ORDER BY customer_no LIMIT 1"
            )
        ).scalar()
    assert _ledger_run(piped_settings) == 0, "nothing landed since the pipeline's own run"

    # A later load bans marketing for one ERP customer: only that row is read, and its ban enters the ledger.
    with storage.engine(url).begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE landing.erp_customer SET marketing_ban = TRUE, _dlt_load_id = '9999999999.0' "
                "WHERE customer_no = :c"
            ),
            {"c": banned},
        )
    assert _ledger_run(piped_settings) == 1
    with storage.engine(url).connect() as connection:
        after = connection.execute(sa.text(events)).scalars().all()
        bans = connection.execute(
            sa.text("SELECT count(*) FROM mdm.consent_event WHERE source_system = 'erp' AND source_key = :c"),
            {"c": str(banned)},
        ).scalar()
    assert set(before) < set(after) and bans > 0

    # Forgetting the progress reads every row again and finds nothing the incremental reads missed.
    with storage.engine(url).begin() as connection:
        connection.execute(sa.text("DELETE FROM mdm.landing_progress"))
    assert _ledger_run(piped_settings) > 1
    with storage.engine(url).connect() as connection:
        assert connection.execute(sa.text(events)).scalars().all() == after


def _state_run(settings, soft_opt_in: bool = False) -> dict:
    """Materialise the consent state alone; what the step says it did."""
    resources = {"database": database_resource(settings), "consent_policy": ConsentPolicy(soft_opt_in=soft_opt_in)}
    result = materialize([consent_state], resources=resources)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _decisions(url: str) -> pd.DataFrame:
    with storage.engine(url).connect() as connection:
        return storage.read_frame(
            connection,
            "SELECT customer_id, purpose, granted, basis, rule, event_id FROM mdm.consent_state "
            "ORDER BY customer_id, purpose",
        )


def test_the_state_is_derived_again_only_for_customers_whose_inputs_changed(piped_settings):
    url = piped_settings.database_url
    with storage.engine(url).connect() as connection:
        customers = connection.execute(sa.text("SELECT count(*) FROM mdm.golden_customer")).scalar()
        banned, holder = connection.execute(
            sa.text(
                "SELECT x.source_key, x.customer_id FROM landing.erp_customer c JOIN mdm.customer_xref x "
                "ON x.source_system = 'erp' AND x.source_key = CAST(c.customer_no AS VARCHAR) "
                "WHERE NOT coalesce(c.marketing_ban, FALSE) AND NOT coalesce(c.is_deleted, FALSE) "
                "ORDER BY x.customer_id LIMIT 1"
            )
        ).one()
    quiet = _state_run(piped_settings)
    assert quiet["customers_derived"] == 0 and quiet["decisions_changed"] == 0

    # A later load bans one ERP customer's marketing, and a request restricts another customer.
    with storage.engine(url).begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE landing.erp_customer SET marketing_ban = TRUE, _dlt_load_id = '9999999999.0' "
                "WHERE CAST(customer_no AS VARCHAR) = :k"
            ),
            {"k": banned},
        )
        other = connection.execute(
            sa.text("SELECT min(customer_id) FROM mdm.golden_customer WHERE customer_id <> :c"), {"c": holder}
        ).scalar()
        connection.execute(
            sa.text(
                "INSERT INTO mdm.subject_flag (customer_id, flag, request_id, since) "
                "VALUES (:c, 'restricted', 'test', CURRENT_TIMESTAMP)"
            ),
            {"c": other},
        )
    assert materialize([consent_ledger], resources={"database": database_resource(piped_settings)}).success
    later = _state_run(piped_settings)
    assert 2 <= later["customers_derived"] < customers / 10 and later["decisions_changed"] > 0
    decided = _decisions(url).set_index(["customer_id", "purpose"])
    assert set(decided.loc[other, "basis"]) == {"restriction"}
    assert "ban" in decided.loc[holder, "rule"].str.cat()

    # A lifted restriction leaves no trace but the stored decisions, which put the customer in again.
    with storage.engine(url).begin() as connection:
        connection.execute(sa.text("DELETE FROM mdm.subject_flag WHERE customer_id = :c"), {"c": other})
    assert _state_run(piped_settings)["customers_derived"] >= 1
    assert "restriction" not in set(_decisions(url).set_index("customer_id").loc[other, "basis"])

    # A customer whose records changed (another sources digest; the golden row's values may be the same), and
    # one whose decisions were lost, are derived again; then nothing is left to derive.
    moved, lost = (c for c in _decisions(url)["customer_id"].drop_duplicates().iloc[-2:])
    with storage.engine(url).begin() as connection:
        connection.execute(
            sa.text("UPDATE mdm.golden_customer SET sources_digest = 'x' WHERE customer_id = :c"), {"c": moved}
        )
        connection.execute(sa.text("DELETE FROM mdm.consent_state WHERE customer_id = :c"), {"c": lost})
    again = _state_run(piped_settings)
    assert again["customers_derived"] >= 2 and again["decisions_gone"] == 0
    assert set(_decisions(url).query("customer_id == @lost")["purpose"]) == set(PURPOSES)
    assert _state_run(piped_settings)["customers_derived"] == 0

    # Deriving everyone's again changes nothing the runs above left.
    incremental = _decisions(url)
    with storage.engine(url).begin() as connection:
        connection.execute(sa.text("DELETE FROM mdm.step_progress"))
    full = _state_run(piped_settings)
    assert full["customers_derived"] == customers and full["decisions_changed"] == 0
    pd.testing.assert_frame_equal(_decisions(url), incremental)
