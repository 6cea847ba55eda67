"""Audiences: the members of a segment who may be contacted for a purpose, and why each other member may not.

A segment reaches a tool only through an audience. Every member of the audience's segment is decided by
these rules, the first that keeps them out giving the reason (``explain`` reads it back):

1. ``restricted`` / ``objected``: a restriction or objection in force (erased people are not in the data);
2. ``no consent for <purpose>``: the consent state does not grant the audience's purpose;
3. ``bought <category> within <n> days``: a purchase of one of the audience's excluded product categories
   in the recent window (no offer for what the person just bought);
4. ``holdout``: the audience's control group, drawn by a hash of audience and customer so that it is
   stable from run to run (they are members for measurement, never sent);
5. ``frequency cap``: entering this audience would make more than ``messages`` messages in ``days``
   days, counting what the tools were actually sent and the audiences entered earlier in this run; the
   audiences are decided in the order listed, so the first ones take precedence. Staying in an audience
   is no new message.

Otherwise the member is ``eligible`` and included.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

ELIGIBLE = "eligible"
DECISION_COLUMNS = ["audience", "customer_id", "included", "reason"]


class FrequencyCap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    messages: int = Field(ge=1)
    days: int = Field(ge=1)


class RecentPurchases(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    categories: list[str] = Field(min_length=1)
    days: int = Field(ge=1)


class Audience(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    segment: str
    purpose: str
    channel: str = Field(min_length=1)
    holdout: float = Field(default=0.0, ge=0.0, le=0.5)
    exclude_recent_buyers: RecentPurchases | None = None


class AudienceSettings(BaseModel):
    """The audiences file: the shared frequency cap, the product catalogue's categories, the audiences."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    frequency_cap: FrequencyCap | None = None
    product_categories: dict[str, list[str]] = {}  # category -> the product names in it
    audiences: list[Audience] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> AudienceSettings:
        names = [a.name for a in self.audiences]
        if len(names) != len(set(names)):
            raise ValueError("an audience name is used twice")
        for audience in self.audiences:
            wanted = audience.exclude_recent_buyers
            unknown = sorted(set(wanted.categories) - set(self.product_categories)) if wanted else []
            if unknown:
                raise ValueError(f"audience {audience.name}: categories {unknown} are not in product_categories")
        return self


def holdout_draw(audience: str, customer_ids: pd.Series) -> np.ndarray:
    """A number in [0, 1) per customer, fixed for the audience: below the holdout share means control group."""
    return np.array(
        [
            int.from_bytes(hashlib.sha256(f"{audience}\x1f{c}".encode()).digest()[:8], "big") / 2**64
            for c in customer_ids
        ],
        dtype=float,
    )


def decide(
    settings: AudienceSettings,
    members: pd.DataFrame,
    *,
    granted: pd.DataFrame,
    flags: pd.DataFrame,
    recent_categories: pd.DataFrame,
    sent_recently: pd.Series,
    current: pd.DataFrame,
) -> pd.DataFrame:
    """Every segment member of every audience with ``included`` and the ``reason``, audiences in order.

    ``members``: segment, customer_id. ``granted``: customer_id, purpose (consent granted). ``flags``:
    customer_id, flag. ``recent_categories``: customer_id, category, days_ago (purchases by category).
    ``sent_recently``: messages the tools were sent per customer within the cap's window. ``current``:
    audience, customer_id of the audiences as the tools hold them now (staying in is no new message).
    """
    flagged = flags.drop_duplicates("customer_id").set_index("customer_id")["flag"]
    consented = set(zip(granted["customer_id"], granted["purpose"], strict=True))
    held_now = set(zip(current["audience"], current["customer_id"], strict=True))
    messages = sent_recently.astype(int).to_dict()
    cap = settings.frequency_cap
    parts = []
    for audience in settings.audiences:
        ids = (
            members.loc[members["segment"] == audience.segment, "customer_id"].drop_duplicates().reset_index(drop=True)
        )
        reason = pd.Series(ELIGIBLE, index=ids.index, dtype=object)
        flag = ids.map(flagged)
        reason = reason.where(flag.isna(), flag)
        no_consent = ~np.fromiter(((c, audience.purpose) in consented for c in ids), bool, len(ids))
        reason = reason.where(~((reason == ELIGIBLE) & no_consent), f"no consent for {audience.purpose}")
        if audience.exclude_recent_buyers is not None:
            recent = _recent_buyers(recent_categories, audience.exclude_recent_buyers)
            for category, buyers in recent.items():
                bought = ids.isin(buyers).to_numpy()
                days = audience.exclude_recent_buyers.days
                reason = reason.where(~((reason == ELIGIBLE) & bought), f"bought {category} within {days} days")
        if audience.holdout > 0:
            control = holdout_draw(audience.name, ids) < audience.holdout
            reason = reason.where(~((reason == ELIGIBLE) & control), "holdout")
        if cap is not None:
            for position in np.flatnonzero((reason == ELIGIBLE).to_numpy()):
                customer = ids.iloc[position]
                if (audience.name, customer) in held_now:
                    continue
                if messages.get(customer, 0) >= cap.messages:
                    reason.iloc[position] = f"frequency cap: {cap.messages} messages in {cap.days} days"
                else:
                    messages[customer] = messages.get(customer, 0) + 1
        parts.append(
            pd.DataFrame(
                {"audience": audience.name, "customer_id": ids, "included": reason == ELIGIBLE, "reason": reason}
            )
        )
    return pd.concat(parts, ignore_index=True)[DECISION_COLUMNS] if parts else pd.DataFrame(columns=DECISION_COLUMNS)


def _recent_buyers(recent: pd.DataFrame, rule: RecentPurchases) -> dict[str, set[str]]:
    window = recent[(recent["days_ago"] <= rule.days) & recent["category"].isin(rule.categories)]
    return {category: set(window.loc[window["category"] == category, "customer_id"]) for category in rule.categories}
