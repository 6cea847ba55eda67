"""The loyalty programme's tables, as the contract names them: members and purchases (nightly CSV drops)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from quality.contract import LandedTable, Link, Records, Sales
from quality.tables.common import LandingModel, Time, customer_record, purchase_history, time_field


class LoyaltyMember(LandingModel):
    jasennumero: Series[str] = pa.Field(str_length={"min_value": 1})
    etunimi: Series[str] = pa.Field(nullable=True)
    sukunimi: Series[str] = pa.Field(nullable=True)
    syntymaaika: Time = time_field(nullable=True)
    puhelin: Series[str] = pa.Field(nullable=True)
    sahkoposti: Series[str] = pa.Field(nullable=True)
    postinumero: Series[str] = pa.Field(nullable=True)
    liittynyt: Time = time_field()
    taso: Series[str] = pa.Field(isin=["perus", "hopea", "kulta"])
    pisteet: Series[int] = pa.Field(ge=0)
    markkinointilupa: Series[str] = pa.Field(isin=["K", "E"])
    lupa_muutettu: Time = time_field(nullable=True)


class LoyaltyPurchase(LandingModel):
    purchase_id: Series[str]
    jasennumero: Series[str] = pa.Field(str_length={"min_value": 1})
    myymala: Series[str] = pa.Field(nullable=True)
    aika: Time = time_field()
    summa: Series[float]


MEMBER = Link("loyalty", ("jasennumero",))

MEMBERS = LandedTable(
    name="loyalty_member",
    system="loyalty",
    model=LoyaltyMember,
    primary_key="jasennumero",
    categories={
        "record_key": ("jasennumero",),
        "name": ("etunimi", "sukunimi"),
        "email": ("sahkoposti",),
        "phone": ("puhelin",),
        "birth": ("syntymaaika",),
        "locality": ("postinumero",),
        "consent": ("markkinointilupa", "lupa_muutettu"),
        "profile": ("taso", "liittynyt", "pisteet"),
        "technical": ("source_file",),
    },
    records=(
        Records(
            MEMBER,
            fields={
                "first_name": (("etunimi",),),
                "last_name": (("sukunimi",),),
                "email": (("sahkoposti",),),
                "phone": (("puhelin",),),
                "birth_date": (("syntymaaika",),),
                "postal_code": (("postinumero",),),
            },
            updated_at=(("lupa_muutettu",), ("liittynyt",)),
        ),
    ),
    consent=("jasennumero", "markkinointilupa", "lupa_muutettu"),
    processing=customer_record("loyalty programme membership", "loyalty programme"),
)

PURCHASES = LandedTable(
    name="loyalty_purchase",
    system="loyalty",
    model=LoyaltyPurchase,
    primary_key="purchase_id",
    categories={
        "record_key": ("jasennumero",),
        "transaction": ("purchase_id", "summa", "myymala", "aika"),
        "technical": ("source_file",),
    },
    belongs=(MEMBER,),
    sales=Sales((MEMBER,), amount=("summa",), at=("aika",)),
    processing=purchase_history("store purchases with the loyalty card", "loyalty programme"),
)

TABLES = (MEMBERS, PURCHASES)
