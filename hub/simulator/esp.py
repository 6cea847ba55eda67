"""The email platform: one Mailchimp audience, its campaigns and their email activity.

People sign up with whatever address and name they like (nicknames, no umlauts, a family
address shared by two people, so only one of them is a member). A member's id is the MD5 of
the lower-cased address. Opens and clicks follow each person's engagement; lapsed people stop
reading; bounced addresses end up 'cleaned'. Only members with some activity appear in a
campaign's email-activity report, as in the real API.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from hub.simulator import clock, identity, jsondoc, people, sqlite_store, wordlists, writes_log
from hub.simulator.world import World

FILE = "esp.sqlite"

TABLES = (
    """
CREATE TABLE member (
  seq           INTEGER PRIMARY KEY,
  id            TEXT NOT NULL,
  email         TEXT NOT NULL,
  status        TEXT NOT NULL,
  timestamp_opt TEXT NOT NULL,
  last_changed  TEXT NOT NULL,
  doc           TEXT NOT NULL
);
CREATE TABLE campaign (
  seq       INTEGER PRIMARY KEY,
  id        TEXT NOT NULL UNIQUE,
  send_time TEXT NOT NULL,
  doc       TEXT NOT NULL
);
CREATE TABLE activity (
  seq         INTEGER PRIMARY KEY,
  campaign_id TEXT NOT NULL,
  member_id   TEXT NOT NULL,
  doc         TEXT NOT NULL
);
CREATE TABLE tag (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
"""
    + writes_log.WRITES_TABLE
)
INDEXES = """
CREATE UNIQUE INDEX ix_member_id ON member (id);
CREATE INDEX ix_member_last_changed ON member (last_changed, seq);
CREATE INDEX ix_campaign_send_time ON campaign (send_time, seq);
CREATE INDEX ix_activity_campaign ON activity (campaign_id, seq);
"""

STARTING_TAGS = ("Asiakasilta 2024", "Kilpailu", "Jäsen")
CAMPAIGN_EVERY = np.timedelta64(14, "D")
CAMPAIGN_HISTORY = 13
_IP_PREFIXES = ("84.248", "85.76", "88.112", "91.152", "62.78", "80.220", "193.166", "87.95", "95.175")


def member_id(email: str) -> str:
    """Mailchimp's subscriber hash: MD5 of the lower-cased address."""
    return hashlib.md5(email.lower().encode()).hexdigest()


def permission_ids(seed: int) -> tuple[str, str]:
    """The audience's two marketing permissions ('Email', 'Customized Online Advertising')."""
    return tuple(hashlib.md5(f"{seed}:{text}".encode()).hexdigest()[:10] for text in ("Email", "Ads"))


def _members(
    world: World,
    idx: np.ndarray,
    signup: np.ndarray,
    used: set[str],
    list_id: str,
    first_seq: int,
    history: bool,
    rng: np.random.Generator,
    r: random.Random,
) -> tuple[list[tuple], list[int]]:
    """Member rows for persons `idx` signing up at `signup` (sorted); returns rows and their persons."""
    pop, habits = world.pop, world.profile.esp
    wanted = identity.render_emails(pop, idx, habits, world.profile, rng, r)
    keep: list[int] = []
    emails: list[str] = []
    for k, p in enumerate(idx.tolist()):
        for candidate in (wanted[k], pop.email[p], pop.email_alt[p], pop.email_family[p]):
            if candidate and member_id(candidate) not in used:
                used.add(member_id(candidate))
                keep.append(k)
                emails.append(candidate)
                break
    idx, signup = idx[keep], signup[keep]
    count = len(idx)
    firsts, lasts = identity.render_names(pop, idx, habits, world.profile, rng, r)
    phones = identity.render_phones(pop, idx, habits, rng)
    births = identity.render_births(pop, idx, habits, rng)
    birthdays = [
        ("" if t == "NaT" else f"{t[5:7]}/{t[8:10]}") for t in np.datetime_as_string(births, unit="D").tolist()
    ]
    engagement = pop.engagement[idx]
    u = rng.random((count, 10))
    if history:
        subscribed = 0.5 + 0.4 * engagement
        status = np.where(
            u[:, 0] < subscribed,
            "subscribed",
            np.where(
                u[:, 0] < subscribed + 0.03, "pending", np.where(u[:, 0] < subscribed + 0.07, "cleaned", "unsubscribed")
            ),
        )
    else:
        status = np.where(u[:, 0] < 0.85, "subscribed", "pending")
    opted = np.minimum(signup + (u[:, 1] * 2 * 86400).astype("timedelta64[s]"), world.clock - clock.SECOND)
    age = (world.clock - opted).astype(np.int64)
    later = opted + (age * u[:, 2]).astype("timedelta64[s]")
    if history:
        unchanged = (status == "subscribed") & (u[:, 3] < 0.5)
        changed = np.where(status == "pending", signup, np.where(unchanged, opted, later))
    else:
        changed = np.where(status == "pending", signup, opted)
    live = status == "subscribed"
    email_on = np.where(live, u[:, 4] < 0.95, u[:, 4] < 0.2)
    ads_on = np.where(live, u[:, 5] < 0.3 + 0.4 * engagement, u[:, 5] < 0.08)
    tagged = u[:, 6] < 0.1
    tag_pick = (u[:, 7] * len(STARTING_TAGS)).astype(int)
    ips = [
        f"{_IP_PREFIXES[int(a * len(_IP_PREFIXES))]}.{int(b * 254) + 1}.{int(c * 254) + 1}"
        for a, b, c in zip(u[:, 8].tolist(), u[:, 9].tolist(), rng.random(count).tolist(), strict=False)
    ]
    capitalised = rng.random(count) < 0.04
    perm_email, perm_ads = permission_ids(world.seed)
    signup_text, opted_text, changed_text = clock.iso(signup), clock.iso(opted), clock.iso(changed)
    rating = np.clip(1 + (engagement * 5).astype(int), 1, 5).tolist()
    rows = []
    for k in range(count):
        email = emails[k]
        if capitalised[k]:
            local, _, domain = email.partition("@")
            email = ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
        mid = member_id(email)
        st = str(status[k])
        opt = "" if st == "pending" else opted_text[k]
        doc: dict[str, Any] = {
            "id": mid,
            "email_address": email,
            "unique_email_id": mid[:10],
            "email_type": "html",
            "status": st,
            "merge_fields": {"FNAME": firsts[k], "LNAME": lasts[k], "PHONE": phones[k], "BIRTHDAY": birthdays[k]},
            "member_rating": rating[k],
            "timestamp_signup": signup_text[k],
            "timestamp_opt": opt,
            "ip_opt": ips[k] if opt else "",
            "last_changed": changed_text[k],
            "language": "fi",
            "vip": False,
            "marketing_permissions": [
                {"marketing_permission_id": perm_email, "text": "Email", "enabled": bool(email_on[k])},
                {
                    "marketing_permission_id": perm_ads,
                    "text": "Customized Online Advertising",
                    "enabled": bool(ads_on[k]),
                },
            ],
            "tags": [{"id": int(tag_pick[k]) + 1, "name": STARTING_TAGS[tag_pick[k]]}] if tagged[k] else [],
            "list_id": list_id,
        }
        doc["tags_count"] = len(doc["tags"])
        rows.append((first_seq + k, mid, email, st, opt, changed_text[k], jsondoc.dumps(doc)))
    return rows, idx.tolist()


def campaign_id(seed: int, send_time: str) -> str:
    return hashlib.md5(f"{seed}:campaign:{send_time}".encode()).hexdigest()[:10]


def _campaign(
    world: World,
    send: np.datetime64,
    subject: str,
    members: dict[str, np.ndarray],
    list_id: str,
    rng: np.random.Generator,
) -> tuple[tuple, list[tuple], np.ndarray]:
    """One sent campaign and its activity rows; also returns which members bounced."""
    pop = world.pop
    status, opted, changed, persons = members["status"], members["opted"], members["changed"], members["persons"]
    subscribed_then = (opted < send) & ((status == "subscribed") | ((status != "pending") & (changed > send)))
    recipients = np.flatnonzero(subscribed_then)
    count = len(recipients)
    engagement = pop.engagement[persons[recipients]]
    lapsed = pop.lapsed_on[persons[recipients]].astype("datetime64[s]")
    gone = ~np.isnat(lapsed) & (lapsed < send)
    u = rng.random((count, 4))
    hard_bounce = (status[recipients] == "cleaned") & ((changed[recipients] - send) < np.timedelta64(30, "D"))
    bounce = hard_bounce | (u[:, 0] < 0.003)
    p_open = 0.75 * engagement**1.5 * np.where(gone, 0.03, 1.0)
    opened = ~bounce & (u[:, 1] < p_open)
    again = opened & (u[:, 2] < 0.35)
    clicked = opened & (u[:, 3] < 0.15 + 0.4 * engagement)
    first_open = send + (rng.exponential(8 * 3600, count)).astype("timedelta64[s]")
    second_open = first_open + (rng.exponential(24 * 3600, count)).astype("timedelta64[s]")
    click = first_open + rng.integers(5, 600, count).astype("timedelta64[s]")
    bounce_at = send + rng.integers(10, 600, count).astype("timedelta64[s]")
    horizon = world.clock
    send_text = clock.iso(np.array([send]))[0]
    cid = campaign_id(world.seed, send_text)
    active = np.flatnonzero((bounce | opened) & (np.where(bounce, bounce_at, first_open) < horizon))
    texts = {
        name: clock.iso(moments[active])
        for name, moments in (("bounce", bounce_at), ("open", first_open), ("again", second_open), ("click", click))
    }
    rows = []
    for j, k in enumerate(active.tolist()):
        member = recipients[k]
        if bounce[k]:
            events = [("bounce", texts["bounce"][j])]
        else:
            events = [("open", texts["open"][j])]
            if clicked[k] and click[k] < horizon:
                events.append(("click", texts["click"][j]))
            if again[k] and second_open[k] < horizon:
                events.append(("open", texts["again"][j]))
            events.sort(key=lambda event: event[1])
        activity = ",".join(f'{{"action":"{a}","timestamp":"{t}"}}' for a, t in events)
        email = members["emails"][member]
        rows.append(
            (cid, members["ids"][member], f'{{"email_address":{jsondoc.dumps(email)},"activity":[{activity}]}}')
        )
    campaign_doc = {
        "id": cid,
        "web_id": int(cid[:6], 16),
        "type": "regular",
        "status": "sent",
        "emails_sent": count,
        "send_time": send_text,
        "recipients": {"list_id": list_id, "recipient_count": count},
        "settings": {"subject_line": subject, "title": subject},
    }
    bounced = recipients[bounce & (bounce_at < horizon)]
    return (cid, send_text, jsondoc.dumps(campaign_doc)), rows, bounced


def _member_arrays(rows: list[tuple], persons: list[int]) -> dict[str, Any]:
    return {
        "ids": [row[1] for row in rows],
        "emails": [row[2] for row in rows],
        "status": np.array([row[3] for row in rows]),
        "opted": np.array([row[4] or "NaT" for row in rows], dtype="datetime64[s]"),
        "changed": np.array([row[5] for row in rows], dtype="datetime64[s]"),
        "persons": np.array(persons, dtype=np.int64),
    }


def generate(world: World, list_id: str) -> tuple[list[tuple[str, str, str]], int]:
    """Write esp.sqlite; returns the truth rows and the number of activity rows."""
    rng, r = world.streams("esp")
    pop = world.pop
    idx = np.repeat(np.arange(len(pop)), pop.in_esp)
    signup = clock.random_moments(rng, np.full(len(idx), world.clock - 5 * np.timedelta64(365, "D")), world.clock)
    order = np.argsort(signup, kind="stable")
    rows, persons = _members(world, idx[order], signup[order], set(), list_id, 1, True, rng, r)
    pop.in_esp[:] = np.bincount(np.array(persons, dtype=np.int64), minlength=len(pop))

    arrays = _member_arrays(rows, persons)
    conn = sqlite_store.create(world.out_dir / FILE, TABLES)
    conn.executemany("INSERT INTO tag VALUES (?,?)", list(enumerate(STARTING_TAGS, start=1)))
    activity_count = 0
    first_send = world.today - CAMPAIGN_EVERY * (CAMPAIGN_HISTORY - 1) - np.timedelta64(3, "D")
    for c in range(CAMPAIGN_HISTORY):
        send = (first_send + CAMPAIGN_EVERY * c).astype("datetime64[s]") + np.timedelta64(7 * 3600, "s")
        subject = wordlists.CAMPAIGN_SUBJECTS[c % len(wordlists.CAMPAIGN_SUBJECTS)]
        campaign, activity, _ = _campaign(world, send, subject, arrays, list_id, rng)
        conn.execute("INSERT INTO campaign (id, send_time, doc) VALUES (?,?,?)", campaign)
        conn.executemany("INSERT INTO activity (campaign_id, member_id, doc) VALUES (?,?,?)", activity)
        activity_count += len(activity)
    conn.executemany("INSERT INTO member VALUES (?,?,?,?,?,?,?)", rows)
    sqlite_store.finish(conn, INDEXES)
    truth = [("esp", row[1], people.person_key(p)) for row, p in zip(rows, persons, strict=False)]
    return truth, activity_count


def advance_day(
    world: World, owners: dict[str, int], joiners: np.ndarray, list_id: str
) -> tuple[list[tuple[str, str, str]], int]:
    """One day of the audience: edited and unsubscribed members, sign-ups, a campaign and its activity."""
    rng, r = world.streams("esp-day")
    pop = world.pop
    conn = sqlite_store.connect(world.out_dir / FILE)
    conn.execute("BEGIN IMMEDIATE")
    ids = [row[0] for row in conn.execute("SELECT id FROM member ORDER BY seq")]
    picks = np.sort(rng.choice(len(ids), size=min(len(ids), rng.binomial(len(ids), 0.002)), replace=False))
    moments = clock.iso(np.sort(clock.random_moments(rng, np.full(len(picks), world.start), world.clock)))
    for pick, moment in zip(picks.tolist(), moments, strict=False):
        mid = ids[pick]
        doc = jsondoc.loads(conn.execute("SELECT doc FROM member WHERE id = ?", (mid,)).fetchone()[0])
        _edit_member(world, doc, owners.get(mid), moment, rng, r)
        conn.execute(
            "UPDATE member SET status = ?, timestamp_opt = ?, last_changed = ?, doc = ? WHERE id = ?",
            (doc["status"], doc["timestamp_opt"], moment, jsondoc.dumps(doc), mid),
        )

    signup = np.sort(clock.random_moments(rng, np.full(len(joiners), world.start), world.clock))
    first_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM member").fetchone()[0] + 1
    rows, persons = _members(world, joiners, signup, set(ids), list_id, first_seq, False, rng, r)
    conn.executemany("INSERT INTO member VALUES (?,?,?,?,?,?,?)", rows)
    for row, p in zip(rows, persons, strict=False):
        owners[row[1]] = p
        pop.in_esp[p] += 1

    every = conn.execute("SELECT id, email, status, timestamp_opt, last_changed FROM member ORDER BY seq").fetchall()
    arrays = _member_arrays([(None,) + row for row in every], [owners.get(row[0], 0) for row in every])
    send = world.start + np.timedelta64(3600, "s") + np.timedelta64(int(rng.integers(0, 3 * 3600)), "s")
    subject = wordlists.CAMPAIGN_SUBJECTS[int(rng.integers(len(wordlists.CAMPAIGN_SUBJECTS)))]
    campaign, activity, bounced = _campaign(world, send, subject, arrays, list_id, rng)
    conn.execute("INSERT INTO campaign (id, send_time, doc) VALUES (?,?,?)", campaign)
    conn.executemany("INSERT INTO activity (campaign_id, member_id, doc) VALUES (?,?,?)", activity)
    cleaned_at = clock.iso(np.array([send + np.timedelta64(900, "s")]))[0]
    for k in bounced[rng.random(len(bounced)) < 0.2].tolist():
        mid = arrays["ids"][k]
        doc = jsondoc.loads(conn.execute("SELECT doc FROM member WHERE id = ?", (mid,)).fetchone()[0])
        doc["status"], doc["last_changed"] = "cleaned", cleaned_at
        doc["marketing_permissions"][0]["enabled"] = False
        conn.execute(
            "UPDATE member SET status = 'cleaned', last_changed = ?, doc = ? WHERE id = ?",
            (cleaned_at, jsondoc.dumps(doc), mid),
        )
    conn.execute("COMMIT")
    conn.close()
    truth = [("esp", row[1], people.person_key(p)) for row, p in zip(rows, persons, strict=False)]
    return truth, len(activity)


def _edit_member(
    world: World, doc: dict[str, Any], pid: int | None, moment: str, rng: np.random.Generator, r: random.Random
) -> None:
    """A member unsubscribes, comes back, edits their profile or changes a permission."""
    kind = int(rng.choice(4, p=[0.4, 0.1, 0.35, 0.15]))
    doc["last_changed"] = moment
    if kind == 0 and doc["status"] == "subscribed":
        doc["status"] = "unsubscribed"
        doc["marketing_permissions"][0]["enabled"] = False
    elif kind == 1 and doc["status"] in ("unsubscribed", "pending"):
        doc["status"] = "subscribed"
        doc["timestamp_opt"] = moment
        doc["marketing_permissions"][0]["enabled"] = True
    elif kind == 2 and pid is not None:
        one = np.array([pid])
        firsts, lasts = identity.render_names(world.pop, one, world.profile.esp, world.profile, rng, r)
        doc["merge_fields"] |= {
            "FNAME": firsts[0],
            "LNAME": lasts[0],
            "PHONE": identity.render_phones(world.pop, one, world.profile.esp, rng)[0],
        }
    else:
        permission = doc["marketing_permissions"][1]
        permission["enabled"] = not permission["enabled"]


def tag_ids(conn: sqlite3.Connection, names: list[str]) -> dict[str, int]:
    """The ids of tags by name, creating the tags that do not exist yet."""
    out = {}
    for name in names:
        row = conn.execute("SELECT id FROM tag WHERE name = ?", (name,)).fetchone()
        if row is None:
            out[name] = conn.execute("INSERT INTO tag (name) VALUES (?)", (name,)).lastrowid
        else:
            out[name] = row[0]
    return out


def count(out_dir: Path) -> dict[str, int]:
    conn = sqlite_store.connect(out_dir / FILE)
    out = {
        "esp_members": conn.execute("SELECT COUNT(*) FROM member").fetchone()[0],
        "esp_campaigns": conn.execute("SELECT COUNT(*) FROM campaign").fetchone()[0],
        "esp_activity": conn.execute("SELECT COUNT(*) FROM activity").fetchone()[0],
    }
    conn.close()
    return out
