"""Any table a role may read, a page at a time, through its view."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from hub.access.acting import Actor
from hub.api.context import MAX_PAGE, ApiContext, records


def router(api: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["tables"])

    @routes.get("/tables/{table}")
    def table(
        table: str,
        limit: int = 100,
        offset: int = 0,
        actor: Actor = Depends(api.client),
        why: str = Depends(api.purpose),
    ) -> dict:
        """Any table the role may read (``schema.table``), a page at a time, as its view shows it."""
        start = max(offset, 0)
        with api.engine.connect() as connection:
            page = api.read(
                connection, actor, why, table, None, page=slice(start, start + max(1, min(limit, MAX_PAGE)))
            )
        return {"table": table, "offset": start, "rows": records(page)}

    return routes
