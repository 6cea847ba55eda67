"""Dagster definitions of the access area."""

from dagster import Definitions


def access_definitions() -> Definitions:
    return Definitions()
