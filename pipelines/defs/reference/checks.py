"""Checks on the study area: every LSOA is placed in a district (inputs reconcile by factory)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.reference.assets import lsoa


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
