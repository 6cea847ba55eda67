"""Golden customers and their consent, as the client's role sees them for the purpose it names."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from hub.access.acting import Actor
from hub.access.policy import AccessDenied, load_policy
from hub.api.context import ApiContext
from hub.gdpr.locate import find_customers
from hub.golden_store import resolve

# A role may look people up by an identifier only if it sees that identifier in clear.
LOOKUP_COLUMNS = {
    "email": ("mdm.golden_customer", "email"),
    "phone": ("mdm.golden_customer", "phone"),
    "record": ("mdm.customer_xref", "source_key"),
}


def router(api: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["customers"])

    def about(actor: Actor, why: str, table: str, customer_id: str) -> tuple[str, list[dict]]:
        """The current ID of a customer and their rows of ``table``; 404 when the role may not see them."""
        with api.engine.connect() as connection:
            current = resolve(connection, customer_id)
            rows = api.rows(connection, actor, why, table, current, "customer_id = :c", c=current)
        if not rows:
            raise HTTPException(404, "no such customer visible to this role for this purpose")
        return current, rows

    @routes.get("/customers/{customer_id}")
    def customer(customer_id: str, actor: Actor = Depends(api.client), why: str = Depends(api.purpose)) -> dict:
        """The golden record as the role sees it (404 also when the role may not see this person)."""
        current, rows = about(actor, why, "mdm.golden_customer", customer_id)
        return {
            "customer_id": current,
            "merged_from": customer_id if current != customer_id else None,
            "record": rows[0],
        }

    @routes.get("/customers")
    def lookup(
        email: str | None = None,
        phone: str | None = None,
        record: str | None = None,
        actor: Actor = Depends(api.client),
        why: str = Depends(api.purpose),
    ) -> dict:
        """Find customers by one identifier; only those the role may see for the purpose come back."""
        given = [(k, v) for k, v in (("email", email), ("phone", phone), ("record", record)) if v]
        if len(given) != 1:
            raise HTTPException(400, "give exactly one of email, phone, record")
        role = load_policy().role(actor.role)
        role.check("mdm.golden_customer", why)
        table, column = LOOKUP_COLUMNS[given[0][0]]
        if table not in role.tables or role.column_access(table, column) != "see":
            raise AccessDenied(f"role {actor.role} may not look people up by {given[0][0]}")
        found = []
        with api.engine.connect() as connection:
            for customer_id in find_customers(connection, *given[0]):
                found += api.rows(
                    connection, actor, why, "mdm.golden_customer", customer_id, "customer_id = :c", c=customer_id
                )
        return {"customers": found}

    @routes.get("/customers/{customer_id}/consent")
    def consent(customer_id: str, actor: Actor = Depends(api.client), why: str = Depends(api.purpose)) -> dict:
        current, rows = about(actor, why, "mdm.consent_state", customer_id)
        return {"customer_id": current, "consent": rows}

    return routes
