"""Blocking checks on risk results: intervals hold their estimates, the crime domain is flagged."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.risk.assets import risk_correlations_asset, risk_model_asset
from pipelines.metadata import md_table


@dg.asset_check(asset=risk_correlations_asset, blocking=True)
def correlations_hold_their_intervals(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """-1 <= ci_lower <= estimate <= ci_upper <= 1, p <= q <= 1, crime-domain rows flagged."""
    with duckdb.get_connection() as con:
        bad = con.execute(
            """
            SELECT * FROM build.risk_correlations
            WHERE estimate IS NOT NULL AND NOT (
                -1 <= ci_lower AND ci_lower <= estimate AND estimate <= ci_upper AND ci_upper <= 1
                AND p_value <= q_value + 1e-12 AND q_value <= 1)
               OR (factor LIKE 'crime\\_%' ESCAPE '\\') IS DISTINCT FROM circular
            """
        ).df()
    return dg.AssetCheckResult(passed=bad.empty, metadata={"rows_off": md_table(bad)})


@dg.asset_check(asset=risk_model_asset, blocking=True)
def rate_ratios_hold_their_intervals(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """0 < ci_lower <= irr <= ci_upper and alpha >= 0 for every model term."""
    with duckdb.get_connection() as con:
        bad = con.execute(
            "SELECT * FROM build.risk_model WHERE NOT (0 < ci_lower AND ci_lower <= irr"
            " AND irr <= ci_upper AND alpha >= 0)"
        ).df()
    return dg.AssetCheckResult(passed=bad.empty, metadata={"rows_off": md_table(bad)})
