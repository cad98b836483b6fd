"""Published outputs and the audit record of the run that made them."""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from outputs.charts import success_measures_chart
from outputs.publish import (
    latest_period,
    publish_first_outputs,
    slug,
    staging_dir,
    swap_in_staged,
)
from pipelines.defs.geography.assets import geography_coverage
from pipelines.defs.health.assets import nhs_rates, success_measures
from pipelines.defs.hotspots.assets import (
    concentration,
    emerging_hotspots,
    hotspot_grid,
    hotspots,
)
from pipelines.defs.measures.assets import asb_rates, priorities, proportions, trends
from pipelines.defs.rates.assets import sv_rates
from pipelines.defs.risk.assets import risk_correlations_asset, risk_factors, risk_model_asset
from pipelines.resources import SNASettings
from pipelines.runs import record_end
from transforms.coverage import COVERAGE_TABLE
from transforms.db import publish_build, read_geotable, read_table
from transforms.definition import load_definition


@dg.asset(group_name="reporting", kinds={"pdf", "csv"}, deps=[sv_rates, geography_coverage])
def first_outputs(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """sv_rates.csv, geography_coverage.csv and the county rate map PDF for the latest period,
    staged: they replace the published folder only in the `publish` step, after every check."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    with duckdb.get_connection() as con:
        rates = read_table(con, "build.sv_rates")
        lsoas = read_geotable(con, "ref.lsoa")
        coverage = read_table(con, COVERAGE_TABLE)
    published = publish_first_outputs(
        rates,
        lsoas,
        period_coverage_by_status(coverage, latest_period(rates)),
        area_name=settings.area_name,
        definition_id=definition.id,
        definition_hash=definition.hash,
        output_dir=staging_dir(settings.output_dir, context.run.run_id),
    )
    return dg.MaterializeResult(
        metadata={
            "folder": dg.MetadataValue.path(str(published.folder)),
            "period": published.period,
            "files": dg.MetadataValue.md("\n".join(f"- `{p}`" for p in published.files)),
        }
    )


@dg.asset(group_name="reporting", kinds={"pdf"}, deps=[success_measures, first_outputs])
def success_measures_page(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """A one-page line chart of the county success measures by year (all victims and under 25,
    95% CIs, small counts suppressed), staged beside the first outputs of the latest period."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    with duckdb.get_connection() as con:
        table = read_table(con, "build.success_measures")
        [(period,)] = con.execute(
            "SELECT max(period) FROM build.sv_rates WHERE measure = 'all_serious_violence'"
        ).fetchall()  # the folder first_outputs staged (latest_period)
    if table.empty or period is None:
        return dg.MaterializeResult(metadata={"file": "none: no success measure in this run"})
    folder = staging_dir(settings.output_dir, context.run.run_id) / slug(period)
    path = success_measures_chart(
        table,
        folder / f"success_measures_{slug(settings.area_name)}.pdf",
        area_name=settings.area_name,
        definition_id=definition.id,
    )
    return dg.MaterializeResult(metadata={"file": dg.MetadataValue.path(str(path))})


def period_coverage_by_status(coverage: pd.DataFrame, period: str) -> pd.DataFrame:
    """The published period's coverage, one row per source and status (in_area, outside_area,
    no_lsoa): the folder is that period's. The database keeps every period by placement method."""
    rows = coverage[coverage["period"] == period]
    return rows.groupby(["source", "period", "months", "status"], as_index=False)[
        ["incidents", "serious_violence"]
    ].sum()


# Every asset that writes a `build.*` table, directly or through the outputs made from it.
BUILT_BY = [
    sv_rates,
    geography_coverage,
    first_outputs,
    success_measures_page,
    hotspots,
    hotspot_grid,
    emerging_hotspots,
    concentration,
    risk_factors,
    risk_correlations_asset,
    risk_model_asset,
    asb_rates,
    nhs_rates,
    success_measures,
    priorities,
    trends,
    proportions,
]


@dg.asset(key=["marts", "published"], group_name="reporting", kinds={"duckdb"}, deps=BUILT_BY)
def publish(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """After every check passed: this run's `build.*` tables become `marts.*` in one transaction,
    then its staged output folders replace the published ones."""
    with duckdb.get_connection() as con:
        names = publish_build(con)
    files = swap_in_staged(sna.load().output_dir, context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "tables": dg.MetadataValue.md("\n".join(f"- `marts.{n}`" for n in names)),
            "files": dg.MetadataValue.md("\n".join(f"- `{f}`" for f in files)),
        }
    )


@dg.asset(key=["audit", "runs"], group_name="reporting", kinds={"duckdb"}, deps=[publish])
def audit_run(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """What makes this refresh repeatable: definition hash, settings, input file hashes and package
    versions, recorded with the run's outcome (failed runs are recorded by `pipelines.runs`)."""
    with duckdb.get_connection() as con:
        loads = dict(con.execute("SELECT file, sha256 FROM audit.loads ORDER BY file").fetchall())
        record_end(con, context.run.run_id, "success", input_hashes=loads)
        runs = con.execute("SELECT status, count(*) FROM audit.runs GROUP BY 1").fetchall()
    return dg.MaterializeResult(
        metadata={"runs_recorded": dg.MetadataValue.json(dict(runs)), "input_files": len(loads)}
    )
