"""Blocking checks: every line of every police file is loaded or quarantined."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.ingest.assets import police_extract, police_uk
from pipelines.loading import reconcile


@dg.asset_check(asset=police_extract, blocking=True)
def police_extract_reconciles(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """loaded + rejected == data lines for each force extract file."""
    return reconcile(duckdb, "raw.police_extract", "police")


@dg.asset_check(asset=police_uk, blocking=True)
def police_uk_reconciles(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """loaded + rejected == data lines for each police.uk file."""
    return reconcile(duckdb, "raw.police_uk", "police_uk")
