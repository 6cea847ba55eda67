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
from hub.schema import api_client


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
        sa.insert(api_client).values(name=name, role=role, token_hash=_hash(token), created_at=datetime.now(UTC))
    )
    return token


def revoke(connection: sa.Connection, name: str) -> bool:
    client = api_client.c
    result = connection.execute(
        sa.update(api_client)
        .where(client.name == name, client.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return bool(result.rowcount)


def authenticate(connection: sa.Connection, token: str) -> Client | None:
    client = api_client.c
    row = connection.execute(
        sa.select(client.name, client.role).where(client.token_hash == _hash(token), client.revoked_at.is_(None))
    ).first()
    return Client(row[0], row[1]) if row else None
