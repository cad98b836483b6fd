"""Checks on reference data: every file reconciles and every LSOA is placed in a district."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.reference.assets import (
    area_lookup,
    deprivation,
    lsoa,
    lsoa_boundaries,
    lsoa_vintage_lookup,
    population,
)
from pipelines.loading import reconcile


@dg.asset_check(asset=lsoa_boundaries, blocking=True)
def boundaries_reconcile(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every boundary feature is loaded or quarantined."""
    return reconcile(duckdb, "raw.lsoa_boundaries", "lsoa_boundaries", required=True)


@dg.asset_check(asset=area_lookup, blocking=True)
def lookup_reconcile(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every lookup row is loaded or quarantined."""
    return reconcile(duckdb, "ref.area_lookup", "area_lookup")


@dg.asset_check(asset=lsoa_vintage_lookup, blocking=True)
def vintage_lookup_reconcile(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every LSOA 2011 -> 2021 lookup row is loaded or quarantined."""
    return reconcile(duckdb, "ref.lsoa_vintage_lookup", "lsoa_vintage_lookup")


@dg.asset_check(asset=population, blocking=True)
def population_reconcile(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every population line is loaded or quarantined; one line gives many long rows."""
    return reconcile(
        duckdb,
        "ref.population",
        "population",
        records="count(DISTINCT (_file, _line))",
        required=True,
    )


@dg.asset_check(asset=deprivation, blocking=True)
def deprivation_reconcile(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every deprivation row is loaded or quarantined."""
    return reconcile(duckdb, "ref.deprivation", "deprivation")


@dg.asset_check(asset=lsoa)
def every_lsoa_in_a_district(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """LSOAs the lookup does not place only appear at LSOA and county level: warn, don't stop."""
    with duckdb.get_connection() as con:
        codes = [
            r[0]
            for r in con.execute(
                "SELECT lsoa_code FROM ref.lsoa WHERE district_code IS NULL"
            ).fetchall()
        ]
    return dg.AssetCheckResult(
        passed=not codes,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"lsoas_not_in_lookup": len(codes), "examples": ", ".join(codes[:20])},
    )
