"""Finding a person, as requests and the API do it, against the crosswalk read the plain way.

``find_customers`` joins records to the crosswalk on their system and key (indexed columns) rather than on a
key put together from both; the API's lookup answers with rows rather than frames. Both must find exactly
who the crosswalk says, on both stores. Assertions compare sets of IDs and rows, never print a value.
"""

from __future__ import annotations

import pandas as pd
import requests

from hub import api_clients, storage
from hub.access.reader import read_table
from hub.api.app import create_app
from hub.api.context import records
from hub.gdpr.locate import find_customers
from hub.serving import serving

SAMPLE = 25


def crosswalk(settings) -> pd.DataFrame:
    """Every record with its customer, its email and phone, joined in pandas."""
    with storage.engine(settings.database_url).connect() as connection:
        records_ = storage.read_frame(connection, "SELECT unique_id, email, phone FROM mdm.source_record")
        xref = storage.read_frame(connection, "SELECT source_system, source_key, customer_id FROM mdm.customer_xref")
    xref["unique_id"] = xref["source_system"] + ":" + xref["source_key"]
    return xref.merge(records_, on="unique_id", how="left")


def expected(joined: pd.DataFrame, column: str, value: str) -> list[str]:
    return sorted(joined.loc[joined[column] == value, "customer_id"].unique())


def cases(emails, phones, ids) -> tuple:
    return (("email", "email", emails), ("phone", "phone", phones), ("record", "unique_id", ids))


def test_find_customers_finds_whom_the_crosswalk_names_by_email_phone_and_record(piped_settings):
    joined = crosswalk(piped_settings)
    emails = joined["email"].dropna().drop_duplicates().sort_values().head(SAMPLE)
    phones = joined["phone"].dropna().drop_duplicates().sort_values().head(SAMPLE)
    ids = joined["unique_id"].sort_values().head(SAMPLE)
    shared = joined.dropna(subset=["email"]).groupby("email")["customer_id"].nunique()
    assert len(emails) and len(phones) and len(ids)
    with storage.engine(piped_settings.database_url).connect() as connection:
        for kind, column, values in (
            ("email", "email", emails),
            ("phone", "phone", phones),
            ("record", "unique_id", ids),
        ):
            for value in values:
                assert find_customers(connection, kind, value) == expected(joined, column, value), kind
        if (shared > 1).any():  # a family's email names each of them
            email = shared[shared > 1].index[0]
            assert len(find_customers(connection, "email", email)) == shared[email]


def test_the_api_lookup_answers_the_rows_the_role_reads(piped_settings):
    """The lookup's rows (built without a frame) equal the role's view read as a frame, value for value."""
    joined = crosswalk(piped_settings)
    emails = joined["email"].dropna().drop_duplicates().sort_values().head(5)
    with storage.engine(piped_settings.database_url).begin() as connection:
        token = api_clients.add(connection, "lookup-test", "customer_service")
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "customer_service"}
    with serving(create_app(piped_settings)) as url:
        answers = {
            e: requests.get(f"{url}/customers", params={"email": e}, headers=headers, timeout=30) for e in emails
        }
    assert all(answer.status_code == 200 for answer in answers.values())
    with storage.engine(piped_settings.database_url).connect() as connection:
        for email, answer in answers.items():
            wanted = []
            for customer_id in expected(joined, "email", email):
                view = read_table(
                    connection,
                    "customer_service",
                    "mdm.golden_customer",
                    "customer_service",
                    "customer_id = :c",
                    c=customer_id,
                )
                wanted += records(view)
            assert answer.json()["customers"] == wanted
