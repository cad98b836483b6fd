"""Checks on the study area: every LSOA is placed and has people (inputs reconcile by factory)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.reference.assets import lsoa, population


@dg.asset_check(asset=lsoa, blocking=True, additional_deps=[population])
def every_lsoa_has_population(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """A rate needs a denominator: every study-area LSOA must have a population estimate."""
    with duckdb.get_connection() as con:
        missing = con.execute(
            "SELECT lsoa_code FROM ref.lsoa WHERE lsoa_code NOT IN"
            " (SELECT lsoa_code FROM ref.population) ORDER BY 1"
        ).fetchall()
    codes = [row[0] for row in missing]
    return dg.AssetCheckResult(
        passed=not codes,
        metadata={"lsoas_without_population": len(codes), "examples": ", ".join(codes[:20])},
        description=None
        if not codes
        else f"{len(codes)} LSOAs have no population (vintage mismatch?)",
    )


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
