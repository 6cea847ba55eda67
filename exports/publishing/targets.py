"""Whom an audience reaches in a tool: its customers turned into the tool's keys, and who must leave it.

An audience names golden customers; a tool knows people by its own keys (an email platform member,
a webshop account, a loyalty member number), which the crosswalk gives, one customer possibly holding
several. Ad platforms know nobody: they receive hashed contacts, keyed here by customer ID.

Only *eligible* customers are published: known to the hub, not restricted or objecting, and, where the
destination asks for a purpose (ad targeting always does), with that consent granted. A target
already delivered whose person is no longer eligible, or no longer known, is *withdrawn*: the plan
removes it from every audience whatever the mode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pandas as pd

from exports.publishing.plan import DESIRED_COLUMNS
from quality.identifiers import canonical

AUDIENCE_COLUMNS = ("audience", "customer_id")
SEPARATOR = ","


def checked_audiences(audiences: pd.DataFrame) -> pd.DataFrame:
    """One row per (audience, customer_id), as text; a frame without those columns is refused."""
    missing = [c for c in AUDIENCE_COLUMNS if c not in audiences.columns]
    if missing:
        raise ValueError(f"the audiences frame lacks columns {missing}: one row per (audience, customer_id)")
    frame = audiences[list(AUDIENCE_COLUMNS)].dropna().astype(str)
    return frame.drop_duplicates(ignore_index=True)


def members(
    audiences: pd.DataFrame, keys: pd.DataFrame, routed: Iterable[str], eligible: Iterable[str]
) -> pd.DataFrame:
    """DESIRED_COLUMNS of a tool that knows people by its keys (``keys``: customer_id, target)."""
    chosen = _eligible_rows(audiences, routed, eligible)
    joined = chosen.merge(keys[["customer_id", "target"]].astype(str), on="customer_id")
    return joined.assign(payload="")[DESIRED_COLUMNS].drop_duplicates(ignore_index=True)


def contacts(
    audiences: pd.DataFrame, golden: pd.DataFrame, routed: Iterable[str], eligible: Iterable[str]
) -> pd.DataFrame:
    """DESIRED_COLUMNS of an ad destination: target the customer ID, payload its hashed email and phone.

    ``golden`` has customer_id, email, phone. A customer with neither contact is left out: a line of two
    empty hashes matches nobody.
    """
    chosen = _eligible_rows(audiences, routed, eligible)
    people = golden[golden["customer_id"].astype(str).isin(set(chosen["customer_id"]))]
    payload = {
        str(c): hashed_line(e, p)
        for c, e, p in zip(people["customer_id"], people["email"], people["phone"], strict=True)
    }
    rows = chosen.assign(payload=chosen["customer_id"].map(payload))
    rows = rows[rows["payload"].notna() & (rows["payload"] != SEPARATOR)]
    return rows.rename(columns={"customer_id": "target"})[DESIRED_COLUMNS].drop_duplicates(ignore_index=True)


def hashed_line(email: object, phone: object) -> str:
    """``email_sha256,phone_sha256`` of one customer: the email trimmed and lower-cased, the phone in E.164,
    each SHA-256 in lower-case hex; an empty field where the contact is missing or not valid."""
    return SEPARATOR.join((_sha256(_text(email, "email")), _sha256(_text(phone, "phone"))))


def segment_lists(held: pd.DataFrame) -> pd.Series:
    """Each target's audiences as one field holds them (the webshop's ``hub_segments``, the loyalty snapshot's
    ``segmentit``): sorted, comma-separated; from (``target``, ``audience``) rows, indexed by target.

    Built column by column (the first audience of every target, then the second...) rather than a join per
    target: at 400,000 people a function called once per target took seconds of every run."""
    pairs = held[["target", "audience"]].astype(str).drop_duplicates().sort_values(["target", "audience"])
    pairs["position"] = pairs.groupby("target").cumcount()
    wide = pairs.pivot(index="target", columns="position", values="audience")
    lists = wide[0] if len(wide.columns) else pd.Series(dtype=object)
    for position in wide.columns[1:]:
        more = wide[position]
        lists = lists.where(more.isna(), lists + "," + more)
    return lists.rename("audiences")


def withdrawn(targets: Iterable[str], keys: pd.DataFrame, eligible: Iterable[str]) -> set[str]:
    """The ``targets`` (delivered before) whose person is not eligible now, or whom the hub no longer knows."""
    owners = keys.astype({"target": str, "customer_id": str}).drop_duplicates("target", keep="last")
    owner = owners.set_index("target")["customer_id"]
    listed = pd.Index(pd.unique(pd.Series(list(targets), dtype=object).astype(str)))
    kept = owner.reindex(listed).isin(_texts(eligible)).to_numpy()
    return set(listed[~kept])


def _texts(values: Iterable) -> pd.Index:
    """``values`` as text, converted in one array operation (hundreds of thousands of customer IDs)."""
    return pd.Index(list(values), dtype=object).astype(str)


def _eligible_rows(audiences: pd.DataFrame, routed: Iterable[str], eligible: Iterable[str]) -> pd.DataFrame:
    frame = checked_audiences(audiences)
    return frame[frame["audience"].isin(set(routed)) & frame["customer_id"].isin(_texts(eligible))]


def _text(value: object, kind: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return canonical(kind, value) or ""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else ""
