"""A made-up fifth system, added through one description and nothing else, flows to source records, the
access policy, masking, access reports, the suppression screen and erasure."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest
import sqlalchemy as sa
from pandera.typing import Series

from hub import storage
from hub.access import policy
from hub.access.acting import Actor
from hub.gdpr import service
from hub.gdpr.inventory import holdings
from hub.landed import read_identities
from hub.pseudonym import pseudonym_key
from quality.contract import LandedTable, Link, Processing, Records
from quality.identifiers import keyed_hash
from quality.masking import mask_record
from quality.suppression import Suppression
from quality.tables import described, register, unregister
from transforms.source_records import standardise

DPO = Actor("test-dpo", "dpo")


class PosClient(pa.DataFrameModel):
    client_no: Series[str]


POS_CLIENTS = LandedTable(
    name="pos_client",
    system="pos",
    model=PosClient,
    primary_key="client_no",
    categories={
        "record_key": ("client_no",),
        "name": ("given", "family"),
        "email": ("contact__mail",),
        "profile": ("visits",),
    },
    records=(
        Records(
            Link("pos", ("client_no",)),
            fields={"first_name": (("given",),), "last_name": (("family",),), "email": (("contact", "mail"),)},
            updated_at=(),
        ),
    ),
    processing=Processing("till clients", "service at the till", "contract", "while a client", "till", "staff"),
)


@pytest.fixture
def fifth_system():
    register(POS_CLIENTS)
    policy._load.cache_clear()
    yield POS_CLIENTS
    unregister(POS_CLIENTS.name)
    policy._load.cache_clear()


def frame(settings, sql: str, **params) -> pd.DataFrame:
    with storage.engine(settings.database_url).connect() as connection:
        return storage.read_frame(connection, sql, **params)


def land_clients(settings, customer: str, email: str) -> None:
    """Rows as the fifth system's connector would land them: one of the customer, one of someone else."""
    with storage.engine(settings.database_url).begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE landing.pos_client (client_no VARCHAR, given VARCHAR, family VARCHAR, "
                "contact__mail VARCHAR, visits INTEGER, _dlt_load_id VARCHAR, _dlt_id VARCHAR)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO landing.pos_client VALUES ('P1', 'Tiina', 'Till', :mail, 3, 'L1', 'd1'), "
                "('P2', 'Other', 'Person', 'other.person@example.com', 1, 'L1', 'd2')"
            ),
            {"mail": email},
        )
        connection.execute(
            sa.text("INSERT INTO mdm.customer_xref (source_system, source_key, customer_id) VALUES ('pos', 'P1', :c)"),
            {"c": customer},
        )


def test_a_fifth_system_flows_from_its_description_alone(piped_settings, fifth_system):
    customer, email = frame(
        piped_settings, "SELECT customer_id, email FROM mdm.golden_customer WHERE email IS NOT NULL ORDER BY 1 LIMIT 1"
    ).iloc[0]
    land_clients(piped_settings, customer, email)

    with storage.engine(piped_settings.database_url).connect() as connection:
        records = standardise(read_identities(connection))
    pos = records[records["source_system"] == "pos"].set_index("source_key")
    assert list(pos.index) == ["P1", "P2"] and pos.loc["P1", "email"] == email, "source records"

    rules = policy.load_policy().table("landing.pos_client")
    assert rules.categories["given"] == "name" and rules.subject.system == "pos", "the access policy"
    assert {"dpo", "pipeline"} <= {r.name for r in policy.load_policy().roles.values() if rules.qualified in r.tables}
    masked = mask_record(described("pos_client"), {"client_no": "P1", "given": "Tiina", "contact": {"mail": email}})
    assert masked == {"client_no": "P1", "given": "T***", "contact": {"mail": email[0] + "***"}}, "masking"
    assert "landing.pos_client" in {h.name for h in holdings()}, "the inventory"

    report = service.handle(piped_settings, DPO, "access", ("customer", customer), "test").document
    held = next(h for h in report["holdings"] if h["table"] == "landing.pos_client")
    assert [row["client_no"] for row in held["rows"]] == ["P1"], "an access report lists the person's row only"

    erased = service.handle(piped_settings, DPO, "erasure", ("customer", customer), "test")
    assert erased.summary["rows_removed"] > 0
    assert list(frame(piped_settings, "SELECT client_no FROM landing.pos_client")["client_no"]) == ["P2"]
    key = pseudonym_key(piped_settings)
    screen = Suppression(key, frozenset({keyed_hash(key, "record", "pos:P1"), keyed_hash(key, "email", email)}))
    assert screen.screen("pos_client", {"client_no": "P1", "given": "Tiina"}) is None, "held back on every load"
    relative = screen.screen("pos_client", {"client_no": "P3", "contact": {"mail": email}})
    assert relative == {"client_no": "P3", "contact": {"mail": None}}, "someone else's row loses the shared email"
