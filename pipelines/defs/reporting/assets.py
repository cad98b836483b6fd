"""Published outputs and the audit record of the run that made them."""

import json
from datetime import UTC, datetime
from importlib.metadata import version

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from outputs.publish import publish_first_outputs
from pipelines.defs.classify.assets import geography_coverage
from pipelines.defs.hotspots.assets import (
    concentration,
    emerging_hotspots,
    hotspot_grid,
    hotspots,
)
from pipelines.defs.rates.assets import sv_rates
from pipelines.defs.risk.assets import risk_correlations_asset, risk_factors, risk_model_asset
from pipelines.resources import SNASettings
from transforms.db import publish_build, read_geotable, read_table, registered
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
        rates = read_table(con, "build.sv_rates")
        lsoas = read_geotable(con, "ref.lsoa")
        coverage = read_table(con, "build.geography_coverage")
    published = publish_first_outputs(
        rates,
        lsoas,
        coverage,
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


# Every asset that writes a `build.*` table, directly or through the outputs made from it.
BUILT_BY = [
    sv_rates,
    geography_coverage,
    first_outputs,
    hotspots,
    hotspot_grid,
    emerging_hotspots,
    concentration,
    risk_factors,
    risk_correlations_asset,
    risk_model_asset,
]


@dg.asset(key=["marts", "published"], group_name="reporting", kinds={"duckdb"}, deps=BUILT_BY)
def publish(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """This run's `build.*` tables become `marts.*` in one transaction, after every check passed."""
    with duckdb.get_connection() as con:
        names = publish_build(con)
    return dg.MaterializeResult(
        metadata={"tables": dg.MetadataValue.md("\n".join(f"- `marts.{n}`" for n in names))}
    )


@dg.asset(key=["audit", "runs"], group_name="reporting", kinds={"duckdb"}, deps=[publish])
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
