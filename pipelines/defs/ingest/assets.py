"""Police inputs as published: a force crime extract and data.police.uk street-level files."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.loading import load_input
from pipelines.resources import SNASettings
from sources.police_extract import read_police_extract
from sources.police_uk import read_police_uk


@dg.asset(key=["raw", "police_extract"], group_name="ingest", kinds={"duckdb", "csv"})
def police_extract(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Force crime extract: one row per crime with HO offence code, flags and victim (optional)."""
    pattern = sna.load().inputs["police_extract"]
    return dg.MaterializeResult(
        metadata=load_input(
            duckdb, pattern, "raw.police_extract", "police", read_police_extract, context.run.run_id
        )
    )


@dg.asset(key=["raw", "police_uk"], group_name="ingest", kinds={"duckdb", "csv"})
def police_uk(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """data.police.uk monthly street-level CSVs: open data, month only, snapped points (optional)."""
    pattern = sna.load().inputs["police_uk"]
    return dg.MaterializeResult(
        metadata=load_input(
            duckdb, pattern, "raw.police_uk", "police_uk", read_police_uk, context.run.run_id
        )
    )
