"""The email platform's tables, as the contract names them: members, campaigns, email activity (Mailchimp)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from quality.contract import LandedTable, Link, Processing, Records
from quality.tables.common import MIRROR, LandingModel, Time, time_field


class EspMember(LandingModel):
    id: Series[str] = pa.Field(str_matches=r"^[0-9a-f]{32}$")
    email_address: Series[str] = pa.Field(str_contains="@")
    status: Series[str] = pa.Field(isin=["subscribed", "unsubscribed", "cleaned", "pending"])
    last_changed: Time = time_field()


class EspCampaign(LandingModel):
    id: Series[str] = pa.Field(str_length={"min_value": 1})
    send_time: Time = time_field()


class EspEmailActivity(LandingModel):
    campaign_id: Series[str] = pa.Field(str_length={"min_value": 1})
    email_address: Series[str] = pa.Field(str_contains="@")
    action: Series[str] = pa.Field(isin=["open", "click", "bounce"])
    timestamp: Time = time_field()


# The platform keys its members, and reports their activity, by the address itself: a row with the
# person's address is the person's own, whoever else's record shares it.
BY_ADDRESS = Link("esp", ("email_address",), by="email")

MEMBERS = LandedTable(
    name="esp_member",
    system="esp",
    model=EspMember,
    primary_key="id",
    categories={
        "record_key": ("id", "unique_email_id"),
        "email": ("email_address",),
        "name": ("merge_fields__fname", "merge_fields__lname"),
        "phone": ("merge_fields__phone",),
        "birth": ("merge_fields__birthday",),
        "network": ("ip_opt",),
        "consent": ("status", "timestamp_opt", "marketing_permissions"),
        "profile": ("tags", "tags_count", "member_rating", "language", "vip", "timestamp_signup"),
        "technical": ("last_changed", "email_type", "list_id"),
    },
    records=(
        Records(
            Link("esp", ("id",)),
            fields={
                "first_name": (("merge_fields", "FNAME"),),
                "last_name": (("merge_fields", "LNAME"),),
                "email": (("email_address",),),
                "phone": (("merge_fields", "PHONE"),),
                "birth_date": (("merge_fields", "BIRTHDAY"),),
            },
            updated_at=(("last_changed",),),
        ),
    ),
    belongs=(BY_ADDRESS,),
    consent=("id", "status", "timestamp_opt", "last_changed", "ip_opt", "marketing_permissions"),
    processing=Processing(
        "email list membership, consent and tags",
        "email marketing",
        "consent (Art. 6(1)(a))",
        MIRROR,
        "email platform",
        "email platform; marketing",
    ),
)

CAMPAIGNS = LandedTable(
    name="esp_campaign",
    system="esp",
    model=EspCampaign,
    primary_key="id",
    categories={
        "business": (
            "id",
            "web_id",
            "type",
            "status",
            "send_time",
            "emails_sent",
            "settings__subject_line",
            "settings__title",
            "recipients__list_id",
            "recipients__recipient_count",
        ),
    },
)

ACTIVITY = LandedTable(
    name="esp_email_activity",
    system="esp",
    model=EspEmailActivity,
    primary_key=("campaign_id", "email_address", "action", "timestamp"),
    settled_by="campaign_id",  # a campaign's activity is read again whole while late opens still come
    categories={"email": ("email_address",), "profile": ("action", "timestamp"), "business": ("campaign_id",)},
    belongs=(BY_ADDRESS,),
    processing=Processing(
        "opens, clicks and bounces of campaigns",
        "email marketing, profiling",
        "consent (Art. 6(1)(a))",
        MIRROR,
        "email platform",
        "marketing; analysts (pseudonymised)",
    ),
)

TABLES = (MEMBERS, CAMPAIGNS, ACTIVITY)
