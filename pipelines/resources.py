"""Resources injected into every asset: the run settings and the DuckDB database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines.settings import Settings, load_settings
from transforms.db import ensure_schema


class SNASettings(dg.ConfigurableResource):
    """Where the settings YAML is and which folder its relative paths are read from."""

    settings_path: str
    base_dir: str

    def load(self) -> Settings:
        return load_settings(self.settings_path, base_dir=Path(self.base_dir))


class SNADuckDB(DuckDBResource):
    """DuckDBResource whose connections always find the stage schemas and fixed tables."""

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as con:
            ensure_schema(con)
            yield con


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """The resource set for one settings file."""
    return {
        "sna": SNASettings(settings_path=str(settings.path), base_dir=str(settings.base_dir)),
        "duckdb": SNADuckDB(database=str(settings.database)),
    }
