"""Blocking checks on ASB rates, trends and proportions: counts reconcile, sums and intervals hold."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.measures.assets import asb_rates, proportions
from pipelines.metadata import md_table
from pipelines.resources import SNASettings
from transforms.priorities import asb_reconciliation


@dg.asset_check(asset=asb_rates, blocking=True)
def asb_records_reconcile(sna: SNASettings, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Per source and period: ASB records loaded (counted in the raw tables) = those in the county
    rate + those outside the area or unlocated; and the county equals the sum of its LSOAs."""
    with duckdb.get_connection() as con:
        counts, problems = asb_reconciliation(con, sna.load().period)
        off = con.execute(
            """
            SELECT c.source, c.period, c.count AS county, l.n AS lsoa_sum
            FROM (SELECT * FROM build.asb_rates WHERE area_level = 'county') c
            FULL JOIN (SELECT source, period, sum(count) n FROM build.asb_rates
                       WHERE area_level = 'lsoa' GROUP BY ALL) l USING (source, period)
            WHERE c.count IS DISTINCT FROM l.n
            """
        ).df()
    return dg.AssetCheckResult(
        passed=not problems and off.empty,
        metadata={"counts": dg.MetadataValue.json(counts), "county_off": md_table(off)},
        description="\n".join(problems) or None,
    )


@dg.asset_check(asset=dg.AssetKey(["marts", "trends"]), blocking=True)
def rolling_sums_add_up(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Each rolling_12m equals the sum of the 12 monthly counts ending that month (recomputed with
    a join, not the window), and is NULL only with fewer than 12 months in the window."""
    with duckdb.get_connection() as con:
        off = con.execute(
            """
            SELECT t.source, t.measure, t.area_code, t.month, t.rolling_12m,
                   sum(p.count) AS summed, count(p.count) AS months
            FROM build.trends t JOIN build.trends p
              ON p.source = t.source AND p.measure = t.measure AND p.area_level = t.area_level
             AND p.area_code = t.area_code
             AND p.month BETWEEN t.month - INTERVAL 11 MONTH AND t.month
            GROUP BY ALL
            HAVING (months = 12 AND t.rolling_12m IS DISTINCT FROM summed)
                OR (months < 12 AND t.rolling_12m IS NOT NULL)
            """
        ).df()
    return dg.AssetCheckResult(passed=off.empty, metadata={"rows_off": md_table(off)})


@dg.asset_check(asset=proportions, blocking=True)
def proportions_hold_their_intervals(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """0 <= numerator <= denominator and 0 <= ci_lower <= proportion <= ci_upper <= 1."""
    with duckdb.get_connection() as con:
        bad = con.execute(
            """
            SELECT * FROM build.proportions
            WHERE NOT (0 <= numerator AND numerator <= denominator)
               OR (denominator > 0 AND NOT (0 <= ci_lower AND ci_lower <= proportion
                   AND proportion <= ci_upper AND ci_upper <= 1))
            """
        ).df()
    return dg.AssetCheckResult(passed=bad.empty, metadata={"rows_off": md_table(bad)})
