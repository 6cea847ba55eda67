"""Consent events as the four systems state them, read from their landing rows.

Each function turns one landing table into events shaped like ``mdm.consent_event``. What counts
as a consent decision, per system:

- email platform (``esp_member``): status ``subscribed`` grants email_marketing (at ``timestamp_opt``,
  else ``last_changed``, with ``ip_opt``), ``unsubscribed`` withdraws it (at ``last_changed``);
  ``cleaned`` (a bounced address) and ``pending`` (double opt-in not confirmed) decide nothing.
  Each marketing permission ('Email' -> email_marketing, 'Customized Online Advertising' ->
  ad_targeting) grants or withdraws at ``last_changed``, except that a pending member's enabled
  permissions grant nothing until the opt-in is confirmed.
- webshop (``webshop_customer``): ``newsletter_opt_in`` 'yes' grants, 'no' withdraws email_marketing,
  at ``newsletter_opt_in_at``.
- loyalty programme (``loyalty_member``): ``markkinointilupa`` 'K' grants, 'E' withdraws the programme's
  marketing consent, taken to cover email, SMS, direct mail and profiling (the programme's personalised
  offers), not ad targeting; at ``lupa_muutettu``, a date.
- ERP (``erp_customer``): ``marketing_ban`` true bans every purpose (direct marketing, and profiling
  for it, Art. 21(2)) at ``updated_at``; false grants nothing. Soft-deleted customers are skipped: they
  are no source record of any customer, so their ban would attach to no one.

Some of these times are not the time of a decision but the last time anything touched the record: the
email platform's ``last_changed`` (which the hub's own tag writes move) and the ERP's ``updated_at``. An
event timed so (``TOUCH_TIMED``) that says again what the ledger's latest event of its record and purpose
says is no new decision (``restatements``): the ledger keeps the first time it was stated. Otherwise the
hub's write of a tag would date a member's old permission after a newer withdrawal in another system,
and grant again what the person withdrew.

Each extractor reads the consent columns its table's description names (``quality.tables``; a column
not landed is null). ``source_key`` is the record's key in ``mdm.customer_xref``. ``event_id`` is a hash
of what the event says, so that reading the same landing rows again yields the same ids and adds nothing to the
append-only ledger, while a change in a system (a new time or wording) is a new event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import numpy as np
import pandas as pd

from transforms.consent import BAN, GRANT, PURPOSES, WITHDRAW

EVENT_COLUMNS = [
    "event_id",
    "source_system",
    "source_key",
    "purpose",
    "action",
    "occurred_at",
    "evidence",
    "ip",
    "request_id",
    "recorded_at",
]
TOUCH_TIMED = "touch_timed"  # the column of ``consent_events`` saying an event's time is its record's last touch
_DRAFT_COLUMNS = ["source_system", "source_key", "purpose", "action", "occurred_at", "evidence", "ip", TOUCH_TIMED]
RESTATED = ["source_system", "source_key", "purpose", "action", "evidence"]  # what a restatement repeats

# Systems whose consent time is a date without a time of day.
DATE_ONLY_SYSTEMS = frozenset({"loyalty"})

ESP_PERMISSIONS = {"Email": "email_marketing", "Customized Online Advertising": "ad_targeting"}
LOYALTY_PURPOSES = ("email_marketing", "sms_marketing", "direct_mail", "profiling")
ERP_BAN_PURPOSES = PURPOSES


def _times(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, errors="coerce").astype("datetime64[ns, UTC]")


def _keys(values: pd.Series) -> pd.Series:
    """Record keys as the crosswalk spells them: integers without a trailing '.0'."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("Int64").astype(str)
    return values.astype(str)


def _positional(values) -> pd.Series:
    return values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(values)


def _draft(system: str, keys, purpose, action, occurred_at, evidence, ip=None, touch_timed=False) -> pd.DataFrame:
    """Events of one system; every argument is a scalar or holds one value per event, in order.
    ``touch_timed``: the time is the record's last change of any kind, not the decision's."""
    frame = pd.DataFrame(
        {
            "source_key": _positional(keys).astype(object),
            "purpose": purpose,
            "action": action,
            "occurred_at": _times(_positional(occurred_at)),
            "evidence": evidence,
            "ip": ip,
            TOUCH_TIMED: touch_timed,
        }
    )
    frame.insert(0, "source_system", system)
    return frame[_DRAFT_COLUMNS]


def _empty() -> pd.DataFrame:
    kinds = {"occurred_at": "datetime64[ns, UTC]", TOUCH_TIMED: bool}
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, object)) for c in _DRAFT_COLUMNS})


def _permissions(value) -> list:
    """Marketing permissions as a list, whether the database gave JSON text or parsed JSON."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return value if isinstance(value, list) else []


def esp_events(members: pd.DataFrame) -> pd.DataFrame:
    keys = _keys(members["id"])
    status = members["status"]
    changed = _times(members["last_changed"])
    opted_at = _times(members["timestamp_opt"])
    opted = opted_at.fillna(changed)
    subscribed, unsubscribed = status == "subscribed", status == "unsubscribed"
    parts = [
        _draft(
            "esp",
            keys[subscribed],
            "email_marketing",
            GRANT,
            opted[subscribed],
            "status subscribed",
            members.loc[subscribed, "ip_opt"].to_numpy(dtype=object),
            opted_at[subscribed].isna().to_numpy(),  # no opt-in time: timed by the last touch
        ),
        _draft(
            "esp",
            keys[unsubscribed],
            "email_marketing",
            WITHDRAW,
            changed[unsubscribed],
            "status unsubscribed",
            touch_timed=True,
        ),
    ]
    permissions = pd.DataFrame(
        {
            "position": np.arange(len(members)),
            "permission": members["marketing_permissions"].map(_permissions).to_numpy(),
        }
    ).explode("permission")
    permissions = permissions[permissions["permission"].map(lambda p: isinstance(p, dict))]
    if not permissions.empty:
        given = pd.DataFrame(permissions["permission"].tolist(), index=permissions.index)
        given = given.reindex(columns=["marketing_permission_id", "text", "enabled"])
        given["position"] = permissions["position"].to_numpy()
        given = given[given["text"].isin(ESP_PERMISSIONS) & given["enabled"].isin([True, False])]
        enabled = given["enabled"].astype(bool)
        pending = status.to_numpy()[given["position"].to_numpy()] == "pending"
        given = given[~(enabled & pending).to_numpy()]
        enabled = given["enabled"].astype(bool)
        positions = given["position"].to_numpy()
        parts.append(
            _draft(
                "esp",
                keys.to_numpy()[positions],
                given["text"].map(ESP_PERMISSIONS).to_numpy(),
                np.where(enabled, GRANT, WITHDRAW),
                changed.to_numpy()[positions],
                (
                    "marketing permission "
                    + given["marketing_permission_id"].astype(str)
                    + " '"
                    + given["text"]
                    + "' enabled="
                    + np.where(enabled, "true", "false")
                ).to_numpy(),
                touch_timed=True,
            )
        )
    return pd.concat(parts, ignore_index=True)


def webshop_events(customers: pd.DataFrame) -> pd.DataFrame:
    answer = customers["newsletter_opt_in"]
    decided = answer.isin(["yes", "no"])
    chosen = customers[decided]
    return _draft(
        "webshop",
        _keys(chosen["id"]),
        "email_marketing",
        np.where(chosen["newsletter_opt_in"] == "yes", GRANT, WITHDRAW),
        chosen["newsletter_opt_in_at"],
        ("meta_data newsletter_opt_in=" + chosen["newsletter_opt_in"]).to_numpy(),
    )


def _per_purpose(frame: pd.DataFrame, purposes: tuple[str, ...]) -> pd.DataFrame:
    if frame.empty:
        return frame
    return pd.concat([frame.assign(purpose=p) for p in purposes], ignore_index=True)[_DRAFT_COLUMNS]


def loyalty_events(members: pd.DataFrame) -> pd.DataFrame:
    chosen = members[members["markkinointilupa"].isin(["K", "E"])]
    decisions = _draft(
        "loyalty",
        _keys(chosen["jasennumero"]),
        None,
        np.where(chosen["markkinointilupa"] == "K", GRANT, WITHDRAW),
        chosen["lupa_muutettu"],
        ("markkinointilupa=" + chosen["markkinointilupa"]).to_numpy(),
    )
    return _per_purpose(decisions, LOYALTY_PURPOSES)


def erp_events(customers: pd.DataFrame) -> pd.DataFrame:
    deleted = customers["is_deleted"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    banned = customers["marketing_ban"].astype("boolean").fillna(False).to_numpy(dtype=bool) & ~deleted
    chosen = customers[banned]
    keys = _keys(chosen["customer_no"])
    bans = _draft("erp", keys, None, BAN, chosen["updated_at"], "marketing_ban=true", touch_timed=True)
    return _per_purpose(bans, ERP_BAN_PURPOSES)


EXTRACTORS = {
    "esp_member": esp_events,
    "webshop_customer": webshop_events,
    "loyalty_member": loyalty_events,
    "erp_customer": erp_events,
}


def event_ids(events: pd.DataFrame) -> pd.Series:
    """A deterministic id per event: system, record, purpose, action, time and evidence, hashed.

    The time enters as whole microseconds since the epoch, the precision both databases keep, so
    an event read back from either one hashes the same.
    """
    times = events["occurred_at"].astype("datetime64[ns, UTC]")
    micros = times.dt.tz_convert(None).to_numpy().view("int64") // 1000
    stamps = pd.Series(micros, index=events.index).astype(str).where(times.notna(), "")
    text = events["source_system"].str.cat(
        [events["source_key"], events["purpose"], events["action"], stamps, events["evidence"]], sep="\x1f"
    )
    digests = [hashlib.blake2b(t.encode(), digest_size=16).hexdigest() for t in text]
    return pd.Series(digests, index=events.index, dtype=object)


def restatements(events: pd.DataFrame, latest: pd.DataFrame) -> np.ndarray:
    """Which of ``events`` (as ``consent_events`` gives them) only say again, at a later touch of their record,
    what the ledger's latest event of the same record and purpose says: ``latest`` holds that event's
    ``RESTATED`` columns and ``occurred_at``, one row per source system, key and purpose."""
    if events.empty or latest.empty:
        return np.zeros(len(events), dtype=bool)
    keys = ["source_system", "source_key", "purpose"]
    said = latest.rename(columns={c: f"latest_{c}" for c in ("action", "evidence", "occurred_at")})
    known = events[keys].merge(said, on=keys, how="left")  # one latest event per key: rows stay in order
    same = np.ones(len(events), dtype=bool)
    for column in ("action", "evidence"):
        same &= known[f"latest_{column}"].to_numpy() == events[column].to_numpy()
    later = events["occurred_at"].to_numpy() > _times(known["latest_occurred_at"]).to_numpy()
    return events[TOUCH_TIMED].to_numpy(dtype=bool) & same & later


def consent_events(landed: dict[str, pd.DataFrame], recorded_at: datetime) -> pd.DataFrame:
    """Every consent event the landing tables state, once each, shaped like ``mdm.consent_event``, with
    ``TOUCH_TIMED`` beside (not a column of the ledger).

    ``landed`` holds a frame per landing table (a table not landed yet is simply absent).
    """
    parts = [EXTRACTORS[table](frame) for table, frame in landed.items() if table in EXTRACTORS and not frame.empty]
    events = pd.concat([_empty(), *parts], ignore_index=True) if parts else _empty()
    events["ip"] = events["ip"].astype(object).where(events["ip"].notna(), None)
    events.insert(0, "event_id", event_ids(events) if len(events) else pd.Series(dtype=object))
    events["request_id"] = None
    stamp = pd.Timestamp(recorded_at)
    events["recorded_at"] = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    events[TOUCH_TIMED] = events[TOUCH_TIMED].astype(bool)
    return events.drop_duplicates("event_id", ignore_index=True)[[*EVENT_COLUMNS, TOUCH_TIMED]]
