"""The email platform: Mailchimp Marketing API v3 members, campaigns and email activity.

Members are read incrementally on ``last_changed``. A campaign's activity keeps growing for days
after it is sent (late opens and clicks), so every run re-reads the activity of campaigns sent
within ``activity_lookback_days`` of the newest one seen; rows merge on their natural key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import dlt

from quality.quarantine import Rejected
from sources.http import NOT_AN_OBJECT, Api, HttpPolicy, TotalItemsPaginator, in_batches
from sources.landing import Screen, landed

SYSTEM = "esp"
MAX_COUNT = 1000


def _activity_rows(campaign_id: str, emails: list[Any]) -> list[Any]:
    """One row per action; an email or action that is not an object is passed on as ``Rejected``."""
    rows: list[Any] = []
    for email in emails:
        if not isinstance(email, dict):
            rows.append(email)  # already a Rejected: page_items checked the list's elements
            continue
        for act in email.get("activity") or []:
            row = {"campaign_id": campaign_id, "email_address": email.get("email_address")}
            if isinstance(act, dict):
                rows.append({**row, "action": act.get("action"), "timestamp": act.get("timestamp")})
            else:
                rows.append(Rejected({**row, "activity": act}, [{**NOT_AN_OBJECT, "column": "activity"}]))
    return rows


def _blank_times_to_null(member: Any) -> Any:
    """Mailchimp answers ``""`` for a time it does not have; land that as NULL."""
    if not isinstance(member, dict):
        return member
    return {**member, **{k: None for k in ("timestamp_opt", "last_changed") if member.get(k) == ""}}


@dlt.source(name=SYSTEM)
def esp(
    base_url: str = dlt.config.value,
    api_key: str = dlt.secrets.value,
    list_id: str = dlt.config.value,
    count: int = MAX_COUNT,
    activity_lookback_days: int = 14,
    http: HttpPolicy = HttpPolicy(),
    screen: Screen | None = None,
):
    """``base_url`` is the API root including ``/3.0``. Elements that are not objects pass the cursor
    and the maps untouched, to be quarantined by the landing step."""
    api = Api(SYSTEM, base_url.rstrip("/"), "hub", api_key, http)
    count = min(count, MAX_COUNT)

    @dlt.resource(name="esp_member_raw", primary_key="id")
    def members(
        changed=dlt.sources.incremental("last_changed", on_cursor_value_missing="include"),
    ) -> Iterator[list[Any]]:
        params = {"since_last_changed": changed.start_value} if changed.start_value else {}
        yield from in_batches(api.pages(f"lists/{list_id}/members", TotalItemsPaginator(count), params, "members"))

    @dlt.resource(name="esp_campaign_raw", primary_key="id")
    def campaigns() -> Iterator[list[Any]]:
        state = dlt.current.resource_state()
        params = {}
        if newest := state.get("newest_send_time"):
            since = datetime.fromisoformat(newest) - timedelta(days=activity_lookback_days)
            params["since_send_time"] = since.isoformat()
        # The contract names no paging for campaigns and a server of the page alone answers all of them;
        # Mailchimp itself answers ten unless asked for more, so page as for members (total_items says when
        # the answer was whole, and a server ignoring count and offset is read once).
        for page in api.pages("campaigns", TotalItemsPaginator(count), params, "campaigns"):
            times = [c["send_time"] for c in page if isinstance(c, dict) and isinstance(c.get("send_time"), str)]
            if times:
                state["newest_send_time"] = max([*times, state.get("newest_send_time", "")])
            yield page

    @dlt.transformer(name="esp_email_activity_raw")
    def activity(page: list[Any]) -> Iterator[list[Any]]:
        for campaign in page:
            if not isinstance(campaign, dict) or not campaign.get("id"):
                continue  # quarantined in esp_campaign: without an id there is no report to read
            pages = api.pages(f"reports/{campaign['id']}/email-activity", TotalItemsPaginator(count), key="emails")
            yield from in_batches(_activity_rows(campaign["id"], emails) for emails in pages)

    member_columns = {
        "last_changed": {"data_type": "timestamp", "dedup_sort": "desc"},
        "timestamp_opt": {"data_type": "timestamp"},
        "marketing_permissions": {"data_type": "json"},
        "tags": {"data_type": "json"},
    }
    sent = campaigns()
    return [
        landed(
            members().add_map(_blank_times_to_null),
            system=SYSTEM,
            screen=screen,
            table="esp_member",
            primary_key="id",
            columns=member_columns,
        ),
        landed(
            sent,
            system=SYSTEM,
            screen=screen,
            table="esp_campaign",
            primary_key="id",
            columns={"send_time": {"data_type": "timestamp"}},
        ),
        landed(
            sent | activity,
            system=SYSTEM,
            screen=screen,
            table="esp_email_activity",
            primary_key=["campaign_id", "email_address", "action", "timestamp"],
            columns={"timestamp": {"data_type": "timestamp"}},
        ),
    ]
