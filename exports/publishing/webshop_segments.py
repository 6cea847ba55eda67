"""Audiences as the ``hub_segments`` meta field of webshop accounts (WooCommerce REST API v3).

The contract's ``POST /wp-json/wc/v3/customers/batch`` with ``{"update": [{"id": 17, "meta_data":
[{"key": "hub_segments", "value": "vip,lapsing"}]}]}``, at most 100 accounts a call. Each account gets
its whole value (every segment the hub holds for it: ``targets.segment_lists``), so a batch
sent again sets the same values. The field is the hub's own: nothing else writes it.

A 200 is not success for every item: the shop answers per account, with an ``error`` object for each
one it could not update. "Invalid id" means the shop no longer has the account (``missing``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from exports.http import ATTEMPTS, token
from exports.publishing.pool import deliver
from exports.publishing.transport import FAILED, MISSING, REJECTED, SENT, Answer, Transport
from exports.webshop import API_PATH, MAX_BATCH

FIELD = "hub_segments"
_MISSING_CODES = {"woocommerce_rest_invalid_id"}


def send_segments(
    base_url: str,
    key: str,
    secret: str,
    values: Iterable[tuple[str, str]],
    confirm: Callable[[list[tuple[str, Answer]]], None],
    *,
    attempts: int = ATTEMPTS,
) -> None:
    """Set ``hub_segments`` of each (account id, value); ``confirm`` gets (account id, answer) per account."""
    accounts = list(values)
    refused = [(a, Answer(REJECTED, 0, "not a WooCommerce id")) for a, _ in accounts if _id(a) is None]
    if refused:
        confirm(refused)
    valid = [(a, v) for a, v in accounts if _id(a) is not None]
    batches = [valid[i : i + MAX_BATCH] for i in range(0, len(valid), MAX_BATCH)]
    if not batches:
        return
    transport = Transport(attempts, pool_size=1)
    url = f"{base_url.rstrip('/')}{API_PATH}/customers/batch"

    def send(batch: list[tuple[str, str]]) -> list[tuple[str, Answer]]:
        body = {"update": [{"id": _id(a), "meta_data": [{"key": FIELD, "value": v}]} for a, v in batch]}
        return _per_item(batch, transport.write("POST", url, (key, secret), body))

    try:
        deliver(batches, send, confirm, workers=1, keys=lambda batch: [a for a, _ in batch])
    finally:
        transport.close()


def _per_item(batch: list[tuple[str, str]], answer: Answer) -> list[tuple[str, Answer]]:
    """Each account's own outcome from a batch answer (the call's outcome when the call as a whole failed)."""
    items = answer.body.get("update") if answer.status == SENT and isinstance(answer.body, dict) else None
    if not isinstance(items, list):
        # A 404 of the call is a route the shop does not serve, never an account it lacks.
        outcome = {SENT: FAILED, MISSING: REJECTED}.get(answer.status, answer.status)
        detail = f"{answer.detail}: not the contract's batch answer" if answer.status == SENT else answer.detail
        return [(a, Answer(outcome, answer.attempts, detail)) for a, _ in batch]
    by_id = {item["id"]: item for item in items if isinstance(item, dict) and isinstance(item.get("id"), int)}
    return [(a, _item(by_id.get(_id(a)), answer)) for a, _ in batch]


def _item(item: dict[str, Any] | None, answer: Answer) -> Answer:
    if item is None:
        return Answer(FAILED, answer.attempts, f"{answer.detail}: the account is missing from the answer")
    error = item.get("error")
    if not isinstance(error, dict):
        return Answer(SENT, answer.attempts, answer.detail)
    code = token(error.get("code")) or "?"
    status = MISSING if code in _MISSING_CODES else REJECTED
    return Answer(status, answer.attempts, f"{answer.detail}: item error {code}")


def _id(account: str) -> int | None:
    text = str(account).strip()
    return int(text) if text.isdigit() and int(text) > 0 else None
