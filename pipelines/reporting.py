"""What the reporting assets read from the database: this run's build tables (whichever exist),
the months behind each period, the input log, and the definition's wording and partitions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import duckdb
import geopandas as gpd
import pandas as pd

from outputs.pack import Definition
from outputs.publish import TABLE_ORDER
from transforms.db import read_geotable, read_table, release_unused_memory
from transforms.definition import HEADLINE_MEASURE
from transforms.definition import Definition as SVDefinition
from transforms.measures import measure_specs

# Why a section is empty, in words a partner reads on the page.
MISSING = {
    "hotspots": "the hotspot analysis (build.hotspots) did not run",
    "emerging_hotspots": "the emerging hotspot analysis did not run",
    "hotspot_grid": "the grid hotspot analysis did not run",
    "concentration": "the concentration analysis (build.concentration) did not run",
    "lorenz_curve": "the concentration analysis did not run",
    "trends": "monthly trends (build.trends) were not built",
    "year_on_year": "year-on-year tests (build.year_on_year) were not built",
    "time_profile": "the time profile was not built",
    "success_measures": "the success measures need NHS and homicide inputs (build.success_measures)"
    " that this run did not build",
    "priority_under_25s": "build.priority_under_25s was not built",
    "priority_domestic_abuse": "build.priority_domestic_abuse was not built",
    "priority_drugs_alcohol": "build.priority_drugs_alcohol was not built",
    "priority_places": "build.priority_places was not built",
    "asb_rates": "no anti-social behaviour rates were built",
    "proportions": "proportions were not built",
    "risk_factors": "the risk-factor analysis did not run",
    "risk_correlations": "the risk-factor correlations (build.risk_correlations) were not built",
    "risk_model": "the risk-factor model was not built",
}


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ?"
            " AND table_name = ? AND table_catalog = current_database()",
            [schema, name],
        ).fetchone()[0]
    )


class BuildTables(Mapping[str, pd.DataFrame | None]):
    """This run's published tables `names` (every one by default), each read from `build.*` when
    asked for and not kept (None for one not built): a caller that takes them one at a time holds
    one whole table at a time, which a country's tables (9M rows) need."""

    def __init__(self, con: duckdb.DuckDBPyConnection, names: Sequence[str] = TABLE_ORDER):
        self._con, self._names = con, tuple(names)

    def __getitem__(self, name: str) -> pd.DataFrame | None:
        if name not in self._names:
            raise KeyError(name)
        release_unused_memory()  # the table the caller took before is done with
        return (
            read_table(self._con, f"build.{name}")
            if table_exists(self._con, "build", name)
            else None
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def read_lsoas(con: duckdb.DuckDBPyConnection) -> gpd.GeoDataFrame:
    return read_geotable(con, "ref.lsoa")


def read_deprivation(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    if not table_exists(con, "ref", "deprivation"):
        return None
    table = read_table(con, "ref.deprivation")
    return table if len(table) else None


def read_period_months(con: duckdb.DuckDBPyConnection, source: str) -> pd.DataFrame:
    """Months of data per period for the rates' source: how many, and the first and last."""
    return con.execute(
        "SELECT period, count(DISTINCT occurred_month) AS months, min(occurred_month) AS"
        " first_month, max(occurred_month) AS last_month FROM core.incidents"
        " WHERE source = ? AND period IS NOT NULL GROUP BY period ORDER BY period",
        [source],
    ).df()


def read_input_log(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        "SELECT source, file, sha256, rows_loaded FROM audit.loads ORDER BY source, file"
    ).df()


def definition_words(definition: SVDefinition) -> Definition:
    """The definition's id, title, hash and category labels, as the packs print them."""
    return Definition(
        id=definition.id,
        version=definition.version,
        title=definition.title,
        hash=definition.hash,
        categories=tuple(c.label for c in definition.categories.values()),
        proxy_caveat=definition.police_uk_proxy.caveat,
    )


def partitions(definition: SVDefinition, source: str) -> dict[str, list[str]]:
    """The headline measure as the sum of its categories (every incident has one category)."""
    parts = [s.name for s in measure_specs(definition, source) if s.kind == "category"]
    return {HEADLINE_MEASURE: parts} if parts else {}
