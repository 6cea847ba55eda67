"""Dagster resources: the hub's database and the connection settings of the four systems.

Every value comes from a ``HUB_*`` environment variable when one is set (through ``EnvVar``, so the
Dagster UI shows the variable's name, never a secret), otherwise from the config file.
"""

from __future__ import annotations

import os
from pathlib import Path

import dlt
import sqlalchemy as sa
from dagster import ConfigurableResource, EnvVar, ResourceDefinition

from hub import storage
from hub.config import Settings
from hub.pseudonym import key_from


class HubDatabase(ConfigurableResource):
    url: str
    state_dir: str
    pseudonym_key: str | None = None

    def engine(self) -> sa.Engine:
        return storage.engine(self.url)

    def key(self) -> bytes:
        """The secret key of the hub's pseudonyms (see ``hub.pseudonym``)."""
        return key_from(self.pseudonym_key, Path(self.state_dir))

    def dlt_pipeline(self, system: str) -> dlt.Pipeline:
        return landing_pipeline(system, self.url, Path(self.state_dir))


def landing_pipeline(system: str, database_url: str, state_dir: Path) -> dlt.Pipeline:
    """The dlt pipeline that lands ``system`` in the landing schema; its state survives runs.

    Loaded package files and the staging copies of merged tables are personal data the hub would
    otherwise keep beside its tables (and out of an erasure's reach): both are emptied after each load.
    The package files are not gzipped: they live minutes on local disk, and compressing them took 164 s
    of a 400,000-person landing on PostgreSQL (a quarter of it), 76 s of it on DuckDB too.
    """
    dlt.config["load.delete_completed_jobs"] = True
    dlt.config["load.truncate_staging_dataset"] = True
    dlt.config["data_writer.disable_compression"] = True
    return dlt.pipeline(
        pipeline_name=f"hub_{system}",
        destination=storage.dlt_destination(database_url),
        dataset_name=storage.LANDING_SCHEMA,
        pipelines_dir=str(state_dir / "dlt"),
    )


class SourceSystems(ConfigurableResource):
    erp_url: str
    webshop_url: str
    webshop_key: str
    webshop_secret: str
    loyalty_dir: str
    esp_url: str
    esp_key: str
    esp_list_id: str


def _setting(settings: Settings, name: str):
    variable = f"HUB_{name.upper()}"
    if os.environ.get(variable):
        return EnvVar(variable)
    return getattr(settings, name) or EnvVar(variable)


def database_resource(settings: Settings) -> HubDatabase:
    key = EnvVar("HUB_PSEUDONYM_KEY") if os.environ.get("HUB_PSEUDONYM_KEY") else settings.pseudonym_key
    return HubDatabase(url=_setting(settings, "database_url"), state_dir=str(settings.state_dir), pseudonym_key=key)


def settings_resource(settings: Settings) -> ResourceDefinition:
    """The whole settings, for the steps that talk to the tools (publishing): they need the tools' addresses
    and keys, the outbox folders and the pseudonym key together. Secrets stay out of its repr."""
    return ResourceDefinition.hardcoded_resource(settings, "the hub's settings (secrets not shown)")


def systems_resource(settings: Settings) -> SourceSystems:
    names = SourceSystems.model_fields.keys()
    return SourceSystems(**{name: _setting(settings, name) for name in names})
