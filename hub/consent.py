"""Dagster definitions of the consent area: the consent ledger and the state derived from it."""

from dagster import Definitions


def consent_definitions() -> Definitions:
    return Definitions()
