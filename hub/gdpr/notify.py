"""Telling the tools (Art. 17(2), Art. 19), and keeping their receipts.

The email platform, the webshop and the loyalty vendor hold the person too: on erasure each is asked
to delete the person's records, on rectification to correct them. Every answer is a receipt kept in
``mdm.dsr_notification`` with the tool's key pseudonymised; the key itself is kept only while the
tool has not confirmed, so that the request can be carried out again until it has.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from exports import esp, loyalty, webshop
from exports.receipts import Receipt
from hub.config import Settings
from hub.gdpr.locate import Person
from hub.storage import HUB_SCHEMA, read_frame, replace_row
from quality.identifiers import keyed_hash

TABLE = f"{HUB_SCHEMA}.dsr_notification"
TOOLS = {
    "esp": ("esp_url", "esp_key", "esp_list_id"),
    "webshop": ("webshop_url", "webshop_key", "webshop_secret"),
}


def _unconfigured(settings: Settings, system: str, action: str, targets: Iterable[str]) -> list[Receipt] | None:
    missing = [f"HUB_{n.upper()}" for n in TOOLS.get(system, ()) if not getattr(settings, n)]
    if not missing:
        return None
    return [Receipt(system, action, t, "failed", f"not sent: {', '.join(missing)} not configured") for t in targets]


def _delete(settings: Settings, request_id: str, system: str, targets: list[str]) -> list[Receipt]:
    if not targets:
        return []
    refused = _unconfigured(settings, system, "delete", targets)
    if refused is not None:
        return refused
    if system == "esp":
        return esp.delete_members(settings.esp_url, settings.esp_key, settings.esp_list_id, targets)
    if system == "webshop":
        accounts = [t for t in targets if not t.startswith("order:")]
        orders = [t for t in targets if t.startswith("order:")]
        return webshop.delete_customers(
            settings.webshop_url, settings.webshop_key, settings.webshop_secret, accounts
        ) + webshop.delete_orders(settings.webshop_url, settings.webshop_key, settings.webshop_secret, orders)
    return loyalty.erasure_notice(settings.loyalty_inbox, targets, request_id, datetime.now(UTC).date())


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


def erasure(settings: Settings, request_id: str, person: Person) -> list[Receipt]:
    """Ask every tool holding one of the person's records to delete it."""
    return [
        r
        for system in ("esp", "webshop", "loyalty")
        for r in _delete(settings, request_id, system, person.keys(system))
    ]


def rectification(settings: Settings, request_id: str, person: Person, changes: dict[str, str]) -> list[Receipt]:
    """Tell every tool holding one of the person's records the corrected values (guest orders are history)."""
    receipts = []
    for system in ("esp", "webshop", "loyalty"):
        for target in person.keys(system):
            if not target.startswith("order:"):
                receipt = _update(settings, request_id, system, target, changes)
                if receipt is not None:
                    receipts.append(receipt)
    return receipts


def store(connection: sa.Connection, key: bytes, request_id: str, receipts: list[Receipt]) -> None:
    """Keep each receipt (one row per tool, action and target, attempts counted)."""
    for receipt in receipts:
        key_of = {
            "request_id": request_id,
            "system": receipt.system,
            "action": receipt.action,
            "target_ref": keyed_hash(key, "record", f"{receipt.system}:{receipt.target}"),
        }
        attempts = connection.execute(
            sa.text(
                f"SELECT attempts FROM {TABLE} WHERE request_id = :request_id AND system = :system "
                "AND action = :action AND target_ref = :target_ref"
            ),
            key_of,
        ).scalar()
        replace_row(
            connection,
            TABLE,
            key_of,
            {
                "target": None if receipt.settled else receipt.target,
                "status": receipt.status,
                "attempts": (attempts or 0) + 1,
                "receipt": receipt.detail,
                "sent_at": receipt.at,
            },
        )


def pending(connection: sa.Connection, request_id: str) -> pd.DataFrame:
    """Notices a tool has not confirmed yet, with the key needed to send them again."""
    return read_frame(
        connection,
        f"SELECT system, action, target FROM {TABLE} WHERE request_id = :r AND status = 'failed'",
        r=request_id,
    )


def resend(settings: Settings, request_id: str, unsent: pd.DataFrame, changes: dict[str, str]) -> list[Receipt]:
    receipts: list[Receipt] = []
    for (system, action), group in unsent.groupby(["system", "action"]):
        targets = group["target"].tolist()
        if action == "delete":
            receipts += _delete(settings, request_id, system, targets)
        else:
            receipts += [r for t in targets if (r := _update(settings, request_id, system, t, changes))]
    return receipts


def all_done(receipts: list[Receipt]) -> bool:
    return all(r.settled for r in receipts)


def tally(receipts: list[Receipt]) -> dict[str, int]:
    counts = pd.Series([r.status for r in receipts], dtype=object).value_counts()
    return {f"tools_{status}": int(n) for status, n in counts.items()}
