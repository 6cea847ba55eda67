"""A settled table (a campaign's activity) is read again whole; landing leaves out the rows it already holds."""

from __future__ import annotations

import pandera.pandas as pa
import pytest
import sqlalchemy as sa
from pandera.typing import Series

from hub import storage
from hub.landed import HeldRows
from quality.contract import LandedTable
from quality.tables.common import Time, time_field


class Activity(pa.DataFrameModel):
    campaign_id: Series[str]
    email_address: Series[str]
    timestamp: Time = time_field()


def test_a_settled_table_must_have_every_column_in_its_key():
    with pytest.raises(ValueError, match="settled"):
        LandedTable("t", "s", Activity, ("campaign_id", "email_address"), {}, settled_by="campaign_id")
    with pytest.raises(ValueError, match="settled"):
        LandedTable("t", "s", Activity, ("email_address", "timestamp"), {}, settled_by="campaign_id")
    assert LandedTable("t", "s", Activity, ("campaign_id", "email_address", "timestamp"), {}, settled_by="campaign_id")


def test_rows_already_landed_are_held_whatever_form_their_time_is_written_in(tmp_path):
    engine = storage.engine(f"duckdb:///{tmp_path / 'hub.duckdb'}")
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {storage.LANDING_SCHEMA}"))
        connection.execute(
            sa.text(
                f"CREATE TABLE {storage.LANDING_SCHEMA}.esp_email_activity "
                '(campaign_id VARCHAR, email_address VARCHAR, action VARCHAR, "timestamp" TIMESTAMPTZ)'
            )
        )
        connection.execute(
            sa.text(
                f"INSERT INTO {storage.LANDING_SCHEMA}.esp_email_activity VALUES "
                "('c1', 'a@example.org', 'open', '2026-11-03 10:00:00+00'), "
                "('c2', 'a@example.org', 'open', '2026-11-03 10:00:00+00')"
            )
        )
    held = HeldRows(engine)
    row = {"campaign_id": "c1", "email_address": "a@example.org", "action": "open"}
    rows = [
        {**row, "timestamp": "2026-11-03T10:00:00+00:00"},
        {**row, "timestamp": "2026-11-03T12:00:00+02:00"},  # the same instant
        {**row, "timestamp": "2026-11-03T10:00:00Z"},
        {**row, "timestamp": "2026-11-03T10:00:01+00:00"},  # a later open: new
        {**row, "action": "click", "timestamp": "2026-11-03T10:00:00+00:00"},  # another action: new
        {**row, "campaign_id": "c3", "timestamp": "2026-11-03T10:00:00+00:00"},  # a campaign not landed
        {**row, "timestamp": "yesterday"},  # goes on to validation and quarantine
        {**row, "timestamp": None},
        {"email_address": "a@example.org", "action": "open", "timestamp": "2026-11-03T10:00:00Z"},  # no campaign
    ]
    assert held("esp_email_activity", rows) == [True, True, True, False, False, False, False, False, False]
    assert held("esp_member", [{"id": "x"}]) == [False], "only settled tables are ever held"
