"""Dagster definitions of the consent area: the consent ledger and the state derived from it.

``consent/consent_events`` appends what the landing tables say about consent to the append-only
ledger; ``consent/consent_state`` derives each golden customer's consent per purpose from the ledger by
the rules of ``transforms.consent.state`` (again only for the customers whose inputs changed). Whether
the soft opt-in applies is a deployment decision (``HUB_SOFT_OPT_IN``), carried by the ``consent_policy``
resource.
"""

import json
from datetime import UTC, datetime

import pandas as pd
from dagster import ConfigurableResource, Definitions, MaterializeResult, asset

from hub import consent_store as store
from hub.asset_keys import CONSENT_GROUP, consent_key, golden_key, landing_key
from hub.config import Settings
from hub.golden_store import EVERYONE_SHARE, load_sources_digests, now, stage_ids
from hub.landed import newest_loads, read_consent_sources, read_progress, save_progress
from hub.metrics import measure
from hub.resources import HubDatabase
from hub.step_progress import read_step_progress, save_step_progress
from quality.tables import landed_tables
from transforms.code_digest import code_digest
from transforms.consent import PURPOSES
from transforms.consent import events as events_module
from transforms.consent import state as state_module
from transforms.consent.events import consent_events, restatements
from transforms.consent.state import KEY, current_state, differences
from transforms.survivorship import records_part

PURCHASE_TABLES = ("erp_invoice", "webshop_order", "loyalty_purchase")
LEDGER_STEP = "consent_events"  # its progress through the landed tables (``hub.landed.read_progress``)
STATE_STEP = "consent_state"  # the newest event it has derived from (``hub.step_progress``)
NO_EVENT = datetime(1970, 1, 1, tzinfo=UTC)  # the newest event of a ledger that has none


class ConsentPolicy(ConfigurableResource):
    """How consent is derived in this deployment: the soft opt-in for existing customers' email."""

    soft_opt_in: bool = False


def policy_resource(settings: Settings | None) -> ConsentPolicy:
    return ConsentPolicy(soft_opt_in=bool(settings and settings.soft_opt_in_enabled))


@asset(
    key=consent_key("consent_events"),
    # golden/source_records migrates the hub's schema, which the ledger lives in.
    deps=[landing_key(t.name) for t in landed_tables() if t.consent] + [golden_key("source_records")],
    group_name=CONSENT_GROUP,
    description="The append-only consent ledger: every consent event the systems state, with its evidence.",
)
def consent_ledger(database: HubDatabase) -> MaterializeResult:
    """Only rows landed since the ledger last read their table are turned into events: an event comes from
    one row alone, and a row keeps the load that last wrote it, so older rows' events are in the ledger
    already (an erasure removes a person's rows and events together). An event that only restates its
    record's latest decision at a later touch of the record (the hub's own tag write, say) is not added."""
    sources = [t for t in landed_tables() if t.consent]
    digest = code_digest((events_module,), json.dumps({t.name: t.consent for t in sources}, sort_keys=True))
    with measure() as meter:
        with database.engine().connect() as connection:
            taken_in = read_progress(connection, LEDGER_STEP, digest)
            loads = newest_loads(connection, sources)
            rows = read_consent_sources(connection, sources, after=taken_in)
        events = consent_events(rows, now())
        with database.engine().begin() as connection:
            restated = restatements(events, store.latest_events(connection, events))
            added = store.append_events(connection, events[~restated])
            total = store.count_events(connection)
            save_progress(connection, LEDGER_STEP, loads, digest)
    per_system = events["source_system"].value_counts().to_dict()
    return meter.result(
        landed_rows_read=sum(len(frame) for frame in rows.values()),
        events_read=len(events),
        events_added=added,
        events_restated=int(restated.sum()),
        events_in_ledger=total,
        **{f"events_read_{k}": int(v) for k, v in per_system.items()},
    )


@asset(
    key=consent_key("consent_state"),
    deps=[consent_key("consent_events"), golden_key("golden_customer")] + [landing_key(t) for t in PURCHASE_TABLES],
    group_name=CONSENT_GROUP,
    description="Every golden customer's consent per purpose, with its basis, rule and deciding event.",
)
def consent_state(database: HubDatabase, consent_policy: ConsentPolicy) -> MaterializeResult:
    """Derived again only for the customers whose events, records or flags changed since the last run
    (``consent_store.customers_to_derive``); everyone's after a change of the rules' code or of the policy,
    or once a quarter of the customers changed."""
    soft = consent_policy.soft_opt_in
    digest = code_digest((state_module, store), f"soft_opt_in={soft}")
    with measure() as meter:
        with database.engine().connect() as connection:
            newest = store.newest_event(connection)
            merges = store.load_merges(connection)
            sources = records_part(load_sources_digests(connection))
            derived_with = store.load_derived_digests(connection)
            moved = _moved(sources, derived_with)
            since = read_step_progress(connection, STATE_STEP, digest)
            scope = None if since is None else store.customers_to_derive(connection, since, merges, moved, soft)
            if scope is not None and len(scope) * EVERYONE_SHARE > len(sources):
                scope = None
            within = None if scope is None else stage_ids(connection, sorted(scope), "customer_id")
            events = store.load_customer_events(connection, merges, within)
            flags = store.load_flags(connection, merges)
            purchasers = store.load_purchasers(connection) if soft else []
            previous = store.load_decisions(connection, within)
        customers = pd.Index(sources.index).sort_values()
        derived = customers if scope is None else customers[customers.isin(scope)]
        state = current_state(derived, events, flags, purchasers, soft, now())
        state["sources_digest"] = sources.reindex(state["customer_id"]).to_numpy()
        changed, gone = differences(state, previous)
        # customers whose records changed keep decisions that did not, but take the new digest
        rows = pd.concat([changed, state[state["customer_id"].isin(moved)]]).drop_duplicates(KEY, ignore_index=True)
        with database.engine().begin() as connection:
            store.save_state(connection, rows, gone)
            save_step_progress(connection, STATE_STEP, newest or NO_EVENT, digest)
            granted, bases = store.count_decisions(connection)
    return meter.result(
        customers=len(customers),
        customers_derived=len(derived),
        decisions_changed=len(changed),
        decisions_gone=len(gone),
        soft_opt_in=soft,
        **{f"granted_{p}": int(granted.get(p, 0)) for p in PURPOSES},
        **{f"basis_{k}": int(v) for k, v in bases.items()},
    )


def _moved(sources: pd.Series, derived_with: pd.Series) -> set[str]:
    """Customers whose records are not those their consent was derived with: new, gone, or holding other
    records (or records whose fields changed) than then."""
    both = sources.index.union(derived_with.index)
    now_digest = sources.reindex(both).to_numpy(dtype=object)
    then_digest = derived_with.reindex(both).to_numpy(dtype=object)
    differ = (now_digest != then_digest) | pd.isna(now_digest) | pd.isna(then_digest)
    return set(both[differ])


def consent_definitions(settings: Settings | None = None) -> Definitions:
    """The consent assets, with the deployment's consent policy (soft opt-in off without settings)."""
    return Definitions(
        assets=[consent_ledger, consent_state],
        resources={"consent_policy": policy_resource(settings)},
    )
