"""The names of the pipeline's assets: one group per area, one key per asset (``<group>/<name>``).

Kept apart from the areas' definitions so that an area can name another's assets (its dependencies)
without importing its code.
"""

from __future__ import annotations

from dagster import AssetKey

LANDING_GROUP = "landing"
GOLDEN_GROUP = "golden"
CONSENT_GROUP = "consent"
ACCESS_GROUP = "access"
SEGMENTS_GROUP = "segments"
PUBLISH_GROUP = "publish"


def landing_key(table: str) -> AssetKey:
    return AssetKey([LANDING_GROUP, table])


def golden_key(name: str) -> AssetKey:
    return AssetKey([GOLDEN_GROUP, name])


def consent_key(name: str) -> AssetKey:
    return AssetKey([CONSENT_GROUP, name])


def access_key(name: str) -> AssetKey:
    return AssetKey([ACCESS_GROUP, name])


def segments_key(name: str) -> AssetKey:
    return AssetKey([SEGMENTS_GROUP, name])


def publish_key(name: str) -> AssetKey:
    return AssetKey([PUBLISH_GROUP, name])
