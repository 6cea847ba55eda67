"""Telling the tools (Art. 17(2), Art. 19), and keeping their receipts.

The email platform, the webshop and the loyalty vendor hold the person too: on erasure each is asked
to delete the person's records, on rectification to correct them. Every answer is a receipt kept in
``mdm.dsr_notification`` with the tool's key pseudonymised; the key itself is kept only while the
tool has not confirmed, so that the request can be carried out again until it has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from exports import esp, loyalty, webshop
from exports.http import ToolError
from exports.receipts import Receipt
from hub import storage
from hub.config import Settings
from hub.gdpr.locate import Person, select
from hub.schema import dsr_notification
from hub.storage import LANDING_SCHEMA, insert_frame, read_frame, replace_row
from quality.identifiers import keyed_hash

ORDER_PREFIX = "order:"
TOOLS = {
    "esp": ("esp_url", "esp_key", "esp_list_id"),
    "webshop": ("webshop_url", "webshop_key", "webshop_secret"),
}


def _unconfigured(settings: Settings, system: str, action: str, targets: Iterable[str]) -> list[Receipt] | None:
    missing = [f"HUB_{n.upper()}" for n in TOOLS.get(system, ()) if not getattr(settings, n)]
    if not missing:
        return None
    return [Receipt(system, action, t, "failed", f"not sent: {', '.join(missing)} not configured") for t in targets]


@dataclass(frozen=True)
class ErasurePlan:
    """Every record an erasure will ask the tools to delete: only records the hub attributes to the person.

    The email platform's members and the loyalty vendor's members are the person's records in the
    crosswalk. The webshop has no filter for one customer's orders, so its orders are the person's guest
    orders in the crosswalk, the orders the hub landed under the person's accounts, and the orders the
    shop lists as modified since the hub's newest landed order (``listed_since``) whose ``customer_id`` is
    one of those accounts: every order of anyone else is left alone, whatever the shop answers.
    """

    esp: tuple[str, ...] = ()
    webshop_orders: tuple[str, ...] = ()  # 'order:<id>'
    webshop_accounts: tuple[str, ...] = ()
    loyalty: tuple[str, ...] = ()
    listed_since: datetime | None = None  # the orders modified after it were listed and checked
    problem: str = ""  # why the webshop's accounts must wait (their orders could not be listed)

    @property
    def total(self) -> int:
        return len(self.esp) + len(self.webshop_orders) + len(self.webshop_accounts) + len(self.loyalty)

    def calls(self) -> list[tuple[str, str, int]]:
        """(tool, what is sent, how many records) in the order they go out: what a dry run shows."""
        return [
            (system, call, len(keys))
            for system, call, keys in (
                ("esp", "POST /lists/{list}/members/{id}/actions/delete-permanent", self.esp),
                ("webshop", "POST /wp-json/wc/v3/orders/batch {delete}", self.webshop_orders),
                ("webshop", "POST /wp-json/wc/v3/customers/batch {delete}", self.webshop_accounts),
                ("loyalty", "poistot_YYYYMMDD.csv in the vendor's inbox", self.loyalty),
            )
            if keys
        ]


# Orders change in the shop after the hub lands them; listing a day further back costs little.
LISTING_OVERLAP = timedelta(days=1)


def plan_erasure(connection: sa.Connection, settings: Settings, person: Person) -> ErasurePlan:
    """What ``erasure`` would send for ``person``, read before the hub forgets the person's rows."""
    accounts = [k for k in person.keys("webshop") if not k.startswith(ORDER_PREFIX)]
    guests = [k for k in person.keys("webshop") if k.startswith(ORDER_PREFIX)]
    orders, since, problem = _account_orders(connection, settings, accounts, None)
    return ErasurePlan(
        esp=tuple(person.keys("esp")),
        webshop_orders=tuple(dict.fromkeys([*guests, *orders])),
        webshop_accounts=tuple(accounts),
        loyalty=tuple(person.keys("loyalty")),
        listed_since=since,
        problem=problem,
    )


def _account_orders(
    connection: sa.Connection, settings: Settings, accounts: list[str], since: datetime | None
) -> tuple[list[str], datetime | None, str]:
    """The accounts' orders as ``order:<id>``: landed ones, and listed ones checked on their customer_id.

    ``since`` repeats an earlier listing's start (a resend); otherwise the listing starts a day before
    the newest order the hub landed. Returns the orders, where the listing started, and why it failed.
    """
    if not accounts:
        return [], None, ""
    landed = storage.table_exists(connection, LANDING_SCHEMA, "webshop_order")
    found: list[int] = []
    if landed:
        found += (
            select(
                connection,
                f"SELECT id FROM {LANDING_SCHEMA}.webshop_order WHERE CAST(customer_id AS VARCHAR) IN :accounts",
                {"accounts": accounts},
            )["id"]
            .astype(int)
            .tolist()
        )
        if since is None:
            newest = connection.execute(sa.text(f"SELECT max(date_modified_gmt) FROM {LANDING_SCHEMA}.webshop_order"))
            newest = newest.scalar()
            since = None if newest is None else _utc(newest) - LISTING_OVERLAP
    refused = _unconfigured(settings, "webshop", "delete", ["-"])
    if refused is not None:
        return [f"{ORDER_PREFIX}{i}" for i in found], since, refused[0].detail
    owners = {int(a) for a in accounts if a.isdigit()}
    stamp = None if since is None else since.strftime("%Y-%m-%dT%H:%M:%S")
    try:
        listed = webshop.list_orders(settings.webshop_url, settings.webshop_key, settings.webshop_secret, stamp)
    except ToolError as error:
        return [f"{ORDER_PREFIX}{i}" for i in found], since, str(error)
    found += [order for order, owner in listed if owner in owners]
    return [f"{ORDER_PREFIX}{i}" for i in dict.fromkeys(found)], since, ""


def _utc(moment) -> datetime:
    """A time from either database as naive UTC (the shop's ``modified_after`` is in UTC)."""
    stamp = pd.Timestamp(moment)
    return (stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp).to_pydatetime()


def erasure(settings: Settings, request_id: str, plan: ErasurePlan) -> list[Receipt]:
    """Ask every tool to delete what the plan names; the shop's accounts only after all their orders."""
    receipts = _delete_members(settings, plan.esp)
    if plan.webshop_orders or plan.webshop_accounts:
        refused = _unconfigured(settings, "webshop", "delete", [*plan.webshop_orders, *plan.webshop_accounts])
        if refused is not None:
            receipts += refused
        else:
            accounts = [] if plan.problem else plan.webshop_accounts
            receipts += webshop.delete_records(
                settings.webshop_url,
                settings.webshop_key,
                settings.webshop_secret,
                orders=plan.webshop_orders,
                accounts=accounts,
            )
            if plan.problem:
                detail = f"kept until its orders can be listed: {plan.problem}"
                receipts += [Receipt("webshop", "delete", a, "failed", detail) for a in plan.webshop_accounts]
    if plan.loyalty:
        receipts += loyalty.erasure_notice(settings.loyalty_inbox, plan.loyalty, request_id, datetime.now(UTC).date())
    return receipts


def _delete_members(settings: Settings, members: Iterable[str]) -> list[Receipt]:
    members = list(members)
    if not members:
        return []
    refused = _unconfigured(settings, "esp", "delete", members)
    if refused is not None:
        return refused
    return esp.delete_members(settings.esp_url, settings.esp_key, settings.esp_list_id, members)


def _update(settings: Settings, request_id: str, system: str, target: str, changes: dict) -> Receipt | None:
    refused = _unconfigured(settings, system, "update", [target])
    if refused is not None:
        return refused[0]
    if system == "esp":
        return esp.update_member(settings.esp_url, settings.esp_key, settings.esp_list_id, target, changes)
    if system == "webshop":
        return webshop.update_customer(
            settings.webshop_url, settings.webshop_key, settings.webshop_secret, target, changes
        )
    return loyalty.correction_notice(settings.loyalty_inbox, target, changes, request_id, datetime.now(UTC).date())


def rectification(settings: Settings, request_id: str, person: Person, changes: dict[str, str]) -> list[Receipt]:
    """Tell every tool holding one of the person's records the corrected values (guest orders are history)."""
    receipts = []
    for system in ("esp", "webshop", "loyalty"):
        for target in person.keys(system):
            if not target.startswith(ORDER_PREFIX):
                receipt = _update(settings, request_id, system, target, changes)
                if receipt is not None:
                    receipts.append(receipt)
    return receipts


def store(
    connection: sa.Connection,
    key: bytes,
    request: tuple[str, str],
    receipts: list[Receipt],
    listed_since: datetime | None = None,
) -> None:
    """Keep each receipt (one row per tool, action and target, attempts counted); a webshop account's
    receipt also keeps where the listing of its orders started, so that a resend lists from there.

    ``request`` is the request's (id, kind). Every notice is also a line of the sync log (``mdm.sync_log``)
    beside the audiences published: one record of everything the tools were sent, about whom (by the same
    pseudonym) and when."""
    request_id, kind = request
    for receipt in receipts:
        key_of = {
            "request_id": request_id,
            "system": receipt.system,
            "action": receipt.action,
            "target_ref": keyed_hash(key, "record", f"{receipt.system}:{receipt.target}"),
        }
        attempts = connection.execute(
            sa.select(dsr_notification.c.attempts).where(*(dsr_notification.c[k] == v for k, v in key_of.items()))
        ).scalar()
        replace_row(
            connection,
            dsr_notification,
            key_of,
            {
                "target": None if receipt.settled else receipt.target,
                "status": receipt.status,
                "attempts": (attempts or 0) + 1,
                "receipt": receipt.detail,
                "sent_at": receipt.at,
                "listed_since": listed_since if _is_account(receipt) else None,
            },
        )
    insert_frame(connection, "sync_log", _log_lines(key, request_id, kind, receipts))


def _log_lines(key: bytes, request_id: str, kind: str, receipts: list[Receipt]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": request_id,
            "destination": "data-subject request",
            "tool": [r.system for r in receipts],
            "audience": kind,
            "target_ref": [keyed_hash(key, "record", f"{r.system}:{r.target}") for r in receipts],
            "operation": [r.action for r in receipts],
            "status": [r.status for r in receipts],
            "attempts": 1,
            "error": [None if r.settled else r.detail for r in receipts],
            "logged_at": [r.at for r in receipts],
        }
    )


def _is_account(receipt: Receipt) -> bool:
    return receipt.system == "webshop" and receipt.action == "delete" and not receipt.target.startswith(ORDER_PREFIX)


def pending(connection: sa.Connection, request_id: str) -> pd.DataFrame:
    """Notices a tool has not confirmed yet, with the key needed to send them again."""
    notice = dsr_notification.c
    return read_frame(
        connection,
        sa.select(notice.system, notice.action, notice.target, notice.listed_since).where(
            notice.request_id == request_id, notice.status == "failed"
        ),
    )


def resend_plan(connection: sa.Connection, settings: Settings, unsent: pd.DataFrame) -> ErasurePlan:
    """The deletions a tool has not confirmed, planned again: an account's orders are listed again from
    where its first listing started (the hub has forgotten the person's landed orders by now)."""
    deletes = unsent[unsent["action"] == "delete"]

    def targets(system: str) -> list[str]:
        return deletes.loc[deletes["system"] == system, "target"].tolist()

    webshop_targets = targets("webshop")
    accounts = [t for t in webshop_targets if not t.startswith(ORDER_PREFIX)]
    starts = deletes.loc[deletes["target"].isin(accounts), "listed_since"].dropna()
    since = _utc(starts.min()) if not starts.empty else None
    orders, since, problem = _account_orders(connection, settings, accounts, since)
    return ErasurePlan(
        esp=tuple(targets("esp")),
        webshop_orders=tuple(dict.fromkeys([*(t for t in webshop_targets if t.startswith(ORDER_PREFIX)), *orders])),
        webshop_accounts=tuple(accounts),
        loyalty=tuple(targets("loyalty")),
        listed_since=since,
        problem=problem,
    )


def resend_updates(settings: Settings, request_id: str, unsent: pd.DataFrame, changes: dict[str, str]) -> list[Receipt]:
    """The corrections a tool has not confirmed, sent again."""
    updates = unsent[unsent["action"] == "update"]
    return [
        receipt
        for system, target in zip(updates["system"], updates["target"], strict=True)
        if (receipt := _update(settings, request_id, system, target, changes))
    ]


def all_done(receipts: list[Receipt]) -> bool:
    return all(r.settled for r in receipts)


def tally(receipts: list[Receipt]) -> dict[str, int]:
    counts = pd.Series([r.status for r in receipts], dtype=object).value_counts()
    return {f"tools_{status}": int(n) for status, n in counts.items()}
