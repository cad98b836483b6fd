"""Published outputs and the audit record of the run that made them."""

import json
from datetime import UTC, datetime
from importlib.metadata import version

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from outputs.publish import latest_period, publish_first_outputs
from pipelines.defs.classify.assets import geography_coverage
from pipelines.defs.rates.assets import sv_rates
from pipelines.resources import SNASettings
from transforms.coverage import COVERAGE_TABLE
from transforms.db import read_geotable, read_table, registered
from transforms.definition import load_definition

PACKAGES = (
    "dagster",
    "duckdb",
    "pandas",
    "geopandas",
    "shapely",
    "numpy",
    "scipy",
    "matplotlib",
    "mapclassify",
)


@dg.asset(group_name="reporting", kinds={"pdf", "csv"}, deps=[sv_rates, geography_coverage])
def first_outputs(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """sv_rates.csv, geography_coverage.csv and the county rate map PDF for the latest period."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    with duckdb.get_connection() as con:
        rates = read_table(con, "marts.sv_rates")
        lsoas = read_geotable(con, "ref.lsoa")
        coverage = read_table(con, COVERAGE_TABLE)
    published = publish_first_outputs(
        rates,
        lsoas,
        period_coverage_by_status(coverage, latest_period(rates)),
        area_name=settings.area_name,
        definition_id=definition.id,
        definition_hash=definition.hash,
        output_dir=settings.output_dir,
    )
    return dg.MaterializeResult(
        metadata={
            "folder": dg.MetadataValue.path(str(published.folder)),
            "period": published.period,
            "files": dg.MetadataValue.md("\n".join(f"- `{p}`" for p in published.files)),
        }
    )


def period_coverage_by_status(coverage: pd.DataFrame, period: str) -> pd.DataFrame:
    """The published period's coverage, one row per source and status (in_area, outside_area,
    no_lsoa): the folder is that period's. The database keeps every period by placement method."""
    rows = coverage[coverage["period"] == period]
    return rows.groupby(["source", "period", "months", "status"], as_index=False)[
        ["incidents", "serious_violence"]
    ].sum()


@dg.asset(key=["audit", "runs"], group_name="reporting", kinds={"duckdb"}, deps=[first_outputs])
def audit_run(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """What makes this refresh repeatable: definition hash, input file hashes, package versions."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    with duckdb.get_connection() as con:
        loads = con.execute("SELECT file, sha256 FROM audit.loads ORDER BY file").fetchall()
        record = pd.DataFrame(
            [
                {
                    "run_id": context.run.run_id,
                    "finished_at": datetime.now(UTC).replace(tzinfo=None),
                    "settings_file": str(settings.path),
                    "definition_id": definition.id,
                    "definition_hash": definition.hash,
                    "input_hashes": json.dumps(dict(loads)),
                    "package_versions": json.dumps({p: version(p) for p in PACKAGES}),
                }
            ]
        )
        con.execute("DELETE FROM audit.runs WHERE run_id = ?", [context.run.run_id])
        with registered(con, _record=record):
            con.execute("INSERT INTO audit.runs SELECT * FROM _record")
        runs = int(con.execute("SELECT count(*) FROM audit.runs").fetchone()[0])
    return dg.MaterializeResult(metadata={"runs_recorded": runs, "input_files": len(loads)})
