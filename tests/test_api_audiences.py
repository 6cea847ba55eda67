"""The pull API for tools, on DuckDB and PostgreSQL: segments and audiences listed with their sizes, an
audience's members paged with a cursor, and the changes since a cursor, through the client roles and purposes
and written to the audit log like every read.

Failures name audiences, roles and counts only: a customer ID is never put into an assertion message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import requests
import sqlalchemy as sa

from hub import api_clients, audit, storage
from hub.api.app import create_app
from hub.config import Settings
from hub.segments.definitions import load_audiences, load_segments
from hub.serving import serving

ROLES = {"dpo": "audit", "marketing": "email_marketing", "analyst": "analytics", "customer_service": "customer_service"}


def frame(settings: Settings, sql: str, **params) -> pd.DataFrame:
    with storage.engine(settings.database_url).connect() as connection:
        return storage.read_frame(connection, sql, **params)


@dataclass
class Hub:
    """The API served over a piped hub, one client per role, and the answers that should each be one audit entry."""

    settings: Settings
    url: str
    tokens: dict[str, str]
    audited: list[str] = field(default_factory=list)  # the purpose of every read that was answered

    def get(self, role: str, path: str, purpose: str | None = None, **params) -> requests.Response:
        why = purpose or ROLES[role]
        headers = {"Authorization": f"Bearer {self.tokens[role]}", "X-Purpose": why}
        answer = requests.get(f"{self.url}{path}", params=params, headers=headers, timeout=60)
        if answer.status_code == 200:
            self.audited.append(why)
        return answer

    def biggest_audience(self) -> str:
        sizes = frame(
            self.settings, "SELECT audience, count(*) AS n FROM mdm.audience_decision WHERE included GROUP BY audience"
        )
        return sizes.sort_values(["n", "audience"], ascending=[False, True])["audience"].iloc[0]

    def members(self, role: str, audience: str, limit: int, purpose: str | None = None) -> tuple[list[str], list]:
        """Every page of the audience's members: the customer IDs in the order given, and each page's next_cursor."""
        found, cursors, cursor = [], [], None
        while True:
            params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
            answer = self.get(role, f"/audiences/{audience}/members", purpose, **params)
            assert answer.status_code == 200, (audience, answer.status_code)
            page = answer.json()
            assert page["audience"] == audience and len(page["members"]) <= limit
            found += [member["customer_id"] for member in page["members"]]
            cursor = page["next_cursor"]
            cursors.append(cursor)
            if cursor is None:
                return found, cursors

    def changes(
        self, audience: str, since: str | None, limit: int, role: str = "dpo", purpose: str | None = None
    ) -> tuple[list[tuple], str | None]:
        """Every change after ``since``, page by page, and the cursor to continue from."""
        found = []
        while True:
            answer = self.get(
                role, f"/audiences/{audience}/changes", purpose, limit=limit, **({"since": since} if since else {})
            )
            assert answer.status_code == 200, (audience, answer.status_code)
            page = answer.json()
            found += [(c["at"], c["customer_id"], c["change"]) for c in page["changes"]]
            since = page["next_cursor"]
            if not page["more"]:
                return found, since

    def assert_every_answer_was_audited(self) -> None:
        log = frame(
            self.settings,
            "SELECT purpose, detail FROM mdm.audit_log WHERE action = 'read' AND actor LIKE 'test-%' ORDER BY seq",
        )
        assert list(log["purpose"]) == self.audited
        for detail in log["detail"]:
            assert set(json.loads(detail)) == {"table", "rows"}, "an audit detail holds the table and a count only"
        with storage.engine(self.settings.database_url).connect() as connection:
            assert audit.verify(connection).ok


@pytest.fixture
def hub(piped_settings: Settings) -> Iterator[Hub]:
    with storage.engine(piped_settings.database_url).begin() as connection:
        tokens = {role: api_clients.add(connection, f"test-{role}", role) for role in ROLES}
    with serving(create_app(piped_settings)) as url:
        yield Hub(piped_settings, url, tokens)


def test_segments_and_audiences_are_listed_with_the_sizes_in_the_tables_and_only_to_roles_that_may(hub):
    members = frame(
        hub.settings, "SELECT segment, count(*) AS n FROM mdm.segment_membership WHERE left_at IS NULL GROUP BY segment"
    )
    included = frame(
        hub.settings, "SELECT audience, count(*) AS n FROM mdm.audience_decision WHERE included GROUP BY audience"
    )
    segments = hub.get("dpo", "/segments").json()["segments"]
    assert [s["name"] for s in segments] == [s.name for s in load_segments()]
    assert {s["name"]: s["members"] for s in segments if s["members"]} == dict(members.itertuples(index=False))
    assert {"description", "owner", "purpose"} <= set(segments[0])
    audiences = hub.get("dpo", "/audiences").json()["audiences"]
    assert [a["name"] for a in audiences] == [a.name for a in load_audiences(load_segments()).audiences]
    assert {a["name"]: a["included"] for a in audiences if a["included"]} == dict(included.itertuples(index=False))
    assert sum(a["included"] for a in audiences) > 0
    assert {"segment", "purpose", "channel", "holdout"} <= set(audiences[0])

    assert hub.get("marketing", "/segments").status_code == 200
    assert hub.get("marketing", "/audiences").status_code == 200
    assert hub.get("analyst", "/segments").status_code == 200, "the analyst reads segment membership"
    audience = hub.biggest_audience()
    for path in (
        "/audiences",
        f"/audiences/{audience}/members",
        f"/audiences/{audience}/changes",
        "/audiences/nope/members",
    ):
        assert hub.get("analyst", path).status_code == 403, ("analyst", path)
    for path in ("/segments", "/audiences", f"/audiences/{audience}/members"):
        assert hub.get("customer_service", path).status_code == 403, ("customer_service", path)
        assert hub.get("marketing", path, purpose="analytics").status_code == 403, ("marketing for analytics", path)
    no_purpose = {"Authorization": f"Bearer {hub.tokens['dpo']}"}
    assert requests.get(f"{hub.url}/segments", headers=no_purpose, timeout=30).status_code == 400
    assert requests.get(f"{hub.url}/audiences", timeout=30).status_code == 401
    assert hub.get("dpo", "/audiences/nope/members").status_code == 404
    assert hub.get("dpo", "/audiences/nope/changes").status_code == 404
    hub.assert_every_answer_was_audited()


def test_paging_gives_every_member_once_in_order_and_a_cursor_must_be_the_hubs(hub):
    audience = hub.biggest_audience()
    expected = sorted(
        frame(
            hub.settings,
            "SELECT customer_id FROM mdm.audience_membership WHERE audience = :a AND left_at IS NULL",
            a=audience,
        )["customer_id"]
    )
    decided = frame(
        hub.settings, "SELECT customer_id FROM mdm.audience_decision WHERE audience = :a AND included", a=audience
    )
    assert set(expected) == set(decided["customer_id"])
    limit = max(2, len(expected) // 4)
    found, cursors = hub.members("dpo", audience, limit)
    assert found == expected, f"{audience}: {len(found)} members paged, {len(expected)} in the table"
    assert cursors[-1] is None and all(cursors[:-1]) and len(cursors) == -(-len(expected) // limit)
    whole, _ = hub.members("dpo", audience, 1000)
    assert whole == expected

    cursor = hub.get("dpo", f"/audiences/{audience}/members", limit=1).json()["next_cursor"]
    payload, _, mac = cursor.partition(".")
    tampered = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + mac
    other = next(a.name for a in load_audiences(load_segments()).audiences if a.name != audience)
    for bad in (tampered, cursor[:-2], "not a cursor", "!!!.???", "", cursor + "x" * 600):
        answer = hub.get("dpo", f"/audiences/{audience}/members", cursor=bad)
        assert answer.status_code in (400, 422), answer.status_code
        assert "cursor" in json.dumps(answer.json())
    assert hub.get("dpo", f"/audiences/{other}/members", cursor=cursor).status_code == 400, "another audience's"
    assert hub.get("dpo", f"/audiences/{audience}/changes", since=cursor).status_code == 400, "another feed's"
    for wrong in (0, 1001, "ten"):
        assert hub.get("dpo", f"/audiences/{audience}/members", limit=wrong).status_code == 422, wrong

    for purpose in ("email_marketing", "profiling"):
        shown, _ = hub.members("marketing", audience, limit, purpose=purpose)
        consenting = frame(
            hub.settings,
            "SELECT m.customer_id FROM mdm.audience_membership m WHERE m.audience = :a AND m.left_at IS NULL "
            "AND m.customer_id IN (SELECT customer_id FROM mdm.consent_state WHERE purpose = :p AND granted) "
            "AND m.customer_id NOT IN "
            "(SELECT customer_id FROM mdm.subject_flag WHERE flag IN ('restricted', 'objected'))",
            a=audience,
            p=purpose,
        )
        assert shown == sorted(consenting["customer_id"]), f"marketing for {purpose} sees the consenting members"
        if purpose == "email_marketing":
            assert 0 < len(shown) < len(expected), "some members of a profiling audience get no marketing email"
    hub.assert_every_answer_was_audited()


def test_the_changes_feed_shows_new_entries_and_exits_once_from_its_cursor(hub):
    audience = hub.biggest_audience()
    rows = frame(
        hub.settings, "SELECT customer_id, left_at FROM mdm.audience_membership WHERE audience = :a", a=audience
    )
    history, cursor = hub.changes(audience, None, limit=7)
    assert len(history) == len(rows) + int(rows["left_at"].notna().sum()), "every entry and exit once"
    assert len(set(history)) == len(history)
    assert [(pd.Timestamp(at), c, k) for at, c, k in history] == sorted(
        (pd.Timestamp(at), c, k) for at, c, k in history
    )
    assert hub.changes(audience, cursor, limit=7) == ([], cursor), "nothing new: the same cursor back"

    leaving = sorted(rows.loc[rows["left_at"].isna(), "customer_id"])[0]
    newcomer = frame(
        hub.settings,
        "SELECT min(customer_id) AS c FROM mdm.golden_customer WHERE customer_id NOT IN "
        "(SELECT customer_id FROM mdm.audience_membership WHERE audience = :a)",
        a=audience,
    )["c"].iloc[0]
    entered_at = datetime.now(UTC).replace(microsecond=123456) + timedelta(days=1)
    with storage.engine(hub.settings.database_url).begin() as connection:
        connection.execute(
            sa.text("INSERT INTO mdm.audience_membership VALUES (:a, :c, :t, NULL)"),
            {"a": audience, "c": newcomer, "t": entered_at},
        )
        connection.execute(
            sa.text(
                "UPDATE mdm.audience_membership SET left_at = :t "
                "WHERE audience = :a AND customer_id = :c AND left_at IS NULL"
            ),
            {"a": audience, "c": leaving, "t": entered_at + timedelta(seconds=1)},
        )
    fresh, after = hub.changes(audience, cursor, limit=1)
    assert [(c, k) for _, c, k in fresh] == [(newcomer, "entered"), (leaving, "left")], "the entry, then the exit"
    assert pd.Timestamp(fresh[0][0]) == pd.Timestamp(entered_at)
    assert hub.changes(audience, after, limit=1) == ([], after), "continuing repeats nothing"
    again, _ = hub.changes(audience, None, limit=50)
    assert again == history + fresh, "the whole feed again: the old changes, then the new ones"
    members, _ = hub.members("dpo", audience, 1000)
    assert newcomer in members and leaving not in members, "the members follow the membership rows"
    hub.assert_every_answer_was_audited()


def test_a_member_who_withdraws_consent_leaves_the_feed_of_a_role_that_no_longer_sees_them(hub):
    """Marketing reads the feed for email marketing: entries of those without that consent stay hidden, but the
    exit of a member who withdrew it is shown, or the tool holding them would go on mailing them."""
    audience = hub.biggest_audience()
    history, cursor = hub.changes(audience, None, limit=5, role="marketing", purpose="email_marketing")
    consenting = set(
        frame(
            hub.settings,
            "SELECT customer_id FROM mdm.consent_state WHERE purpose = 'email_marketing' AND granted "
            "AND customer_id NOT IN "
            "(SELECT customer_id FROM mdm.subject_flag WHERE flag IN ('restricted', 'objected'))",
        )["customer_id"]
    )
    entered = {c for _, c, k in history if k == "entered"}
    assert entered and entered <= consenting, "marketing sees only the entries of those who consented"
    everyone, _ = hub.changes(audience, None, limit=50)
    assert len(entered) < len({c for _, c, k in everyone if k == "entered"}), "some entries are hidden from it"

    withdrawing = sorted(entered & set(hub.members("dpo", audience, 1000)[0]))[0]
    with storage.engine(hub.settings.database_url).begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE mdm.consent_state SET granted = FALSE WHERE customer_id = :c AND purpose = 'email_marketing'"
            ),
            {"c": withdrawing},
        )
        connection.execute(
            sa.text(
                "UPDATE mdm.audience_membership SET left_at = :t "
                "WHERE audience = :a AND customer_id = :c AND left_at IS NULL"
            ),
            {"a": audience, "c": withdrawing, "t": datetime.now(UTC) + timedelta(days=1)},
        )
    fresh, _ = hub.changes(audience, cursor, limit=5, role="marketing", purpose="email_marketing")
    assert [(c, k) for _, c, k in fresh] == [(withdrawing, "left")], "the exit, and nothing else"
    members, _ = hub.members("marketing", audience, 1000, purpose="email_marketing")
    assert withdrawing not in members
    hub.assert_every_answer_was_audited()
