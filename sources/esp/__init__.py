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

from quality.suppression import Suppression
from sources.http import DEFAULT_ATTEMPTS, TotalItemsPaginator, in_batches, rest_client
from sources.landing import landed

SYSTEM = "esp"
MAX_COUNT = 1000


def _activity_rows(campaign_id: str, emails: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "campaign_id": campaign_id,
            "email_address": email.get("email_address"),
            "action": act.get("action"),
            "timestamp": act.get("timestamp"),
        }
        for email in emails
        for act in email.get("activity") or []
    ]


def _blank_times_to_null(member: dict[str, Any]) -> dict[str, Any]:
    """Mailchimp answers ``""`` for a time it does not have; land that as NULL."""
    return {**member, **{k: None for k in ("timestamp_opt", "last_changed") if member.get(k) == ""}}


@dlt.source(name=SYSTEM)
def esp(
    base_url: str = dlt.config.value,
    api_key: str = dlt.secrets.value,
    list_id: str = dlt.config.value,
    count: int = MAX_COUNT,
    activity_lookback_days: int = 14,
    attempts: int = DEFAULT_ATTEMPTS,
    suppression: Suppression | None = None,
):
    """``base_url`` is the API root including ``/3.0``."""
    client = rest_client(base_url.rstrip("/"), "hub", api_key, attempts)
    count = min(count, MAX_COUNT)

    @dlt.resource(name="esp_member_raw", primary_key="id")
    def members(changed=dlt.sources.incremental("last_changed")) -> Iterator[list[dict[str, Any]]]:
        params = {"since_last_changed": changed.start_value} if changed.start_value else {}
        yield from in_batches(
            client.paginate(
                f"lists/{list_id}/members",
                params=params,
                paginator=TotalItemsPaginator(count),
                data_selector="members",
            )
        )

    @dlt.resource(name="esp_campaign_raw", primary_key="id")
    def campaigns() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        params = {}
        if newest := state.get("newest_send_time"):
            since = datetime.fromisoformat(newest) - timedelta(days=activity_lookback_days)
            params["since_send_time"] = since.isoformat()
        for page in client.paginate(
            "campaigns", params=params, paginator=TotalItemsPaginator(count), data_selector="campaigns"
        ):
            times = [c["send_time"] for c in page if c.get("send_time")]
            if times:
                state["newest_send_time"] = max([*times, state.get("newest_send_time", "")])
            yield page

    @dlt.transformer(name="esp_email_activity_raw")
    def activity(page: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        for campaign in page:
            pages = client.paginate(
                f"reports/{campaign['id']}/email-activity",
                paginator=TotalItemsPaginator(count),
                data_selector="emails",
            )
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
            suppression=suppression,
            table="esp_member",
            primary_key="id",
            columns=member_columns,
        ),
        landed(
            sent,
            system=SYSTEM,
            suppression=suppression,
            table="esp_campaign",
            primary_key="id",
            columns={"send_time": {"data_type": "timestamp"}},
        ),
        landed(
            sent | activity,
            system=SYSTEM,
            suppression=suppression,
            table="esp_email_activity",
            primary_key=["campaign_id", "email_address", "action", "timestamp"],
            columns={"timestamp": {"data_type": "timestamp"}},
        ),
    ]
