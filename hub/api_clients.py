"""Clients of the HTTP API: a name, an access role and a bearer token kept only as its hash.

The token is shown once when the client is added; the hub stores its SHA-256, so a stolen copy of the
database yields no working token. Revoking keeps the row, so the audit log's names stay meaningful.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from hub.access.policy import load_policy
from hub.storage import HUB_SCHEMA

TABLE = f"{HUB_SCHEMA}.api_client"


@dataclass(frozen=True)
class Client:
    name: str
    role: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add(connection: sa.Connection, name: str, role: str) -> str:
    """Register a client in a role of the policy; returns its token (shown once, never stored)."""
    load_policy().role(role)
    token = secrets.token_urlsafe(32)
    connection.execute(
        sa.text(f"INSERT INTO {TABLE} (name, role, token_hash, created_at) VALUES (:n, :r, :h, :t)"),
        {"n": name, "r": role, "h": _hash(token), "t": datetime.now(UTC)},
    )
    return token


def revoke(connection: sa.Connection, name: str) -> bool:
    result = connection.execute(
        sa.text(f"UPDATE {TABLE} SET revoked_at = :t WHERE name = :n AND revoked_at IS NULL"),
        {"t": datetime.now(UTC), "n": name},
    )
    return bool(result.rowcount)


def authenticate(connection: sa.Connection, token: str) -> Client | None:
    row = connection.execute(
        sa.text(f"SELECT name, role FROM {TABLE} WHERE token_hash = :h AND revoked_at IS NULL"), {"h": _hash(token)}
    ).first()
    return Client(row[0], row[1]) if row else None
