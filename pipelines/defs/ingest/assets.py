"""Police inputs as published: a force crime extract and data.police.uk street-level files."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.loading import not_configured, store_read
from pipelines.resources import SNASettings
from sources.paths import expand
from sources.police_extract import read_police_extract
from sources.police_uk import read_police_uk


@dg.asset(key=["raw", "police_extract"], group_name="ingest", kinds={"duckdb", "csv"})
def police_extract(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Force crime extract: one row per crime with HO offence code, flags and victim."""
    pattern = sna.load().inputs["police_extract"]
    if not pattern:
        return dg.MaterializeResult(metadata=not_configured(duckdb, "raw.police_extract", "police"))
    result = read_police_extract(expand(pattern))
    return dg.MaterializeResult(
        metadata=store_read(duckdb, "raw.police_extract", "police", result, context.run.run_id)
    )


@dg.asset(key=["raw", "police_uk"], group_name="ingest", kinds={"duckdb", "csv"})
def police_uk(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """data.police.uk monthly street-level CSVs (open data: month only, snapped points)."""
    pattern = sna.load().inputs["police_uk"]
    if not pattern:
        return dg.MaterializeResult(metadata=not_configured(duckdb, "raw.police_uk", "police_uk"))
    result = read_police_uk(expand(pattern))
    return dg.MaterializeResult(
        metadata=store_read(duckdb, "raw.police_uk", "police_uk", result, context.run.run_id)
    )
