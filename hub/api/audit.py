"""The audit log's check over HTTP (for the roles the policy lets verify it)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from hub import audit
from hub.access.acting import Actor
from hub.access.policy import load_policy
from hub.api.context import ApiContext


def router(api: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["audit"])

    @routes.get("/audit/verify")
    def verify_audit(actor: Actor = Depends(api.client)) -> dict:
        load_policy().permit(actor.role, "verify_audit")
        result, _ = audit.verify_anchored(api.settings)
        return {
            "ok": result.ok,
            "entries": result.entries,
            "head": result.head,
            "broken_at": result.broken_at,
            "problem": result.problem,
        }

    return routes
