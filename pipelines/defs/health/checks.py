"""Blocking checks on the NHS tables: the county adds up and every interval holds its rate."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.health.assets import nhs_rates, success_measures
from pipelines.metadata import md_table


@dg.asset_check(asset=nhs_rates, blocking=True)
def nhs_county_equals_sum_of_lsoas(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """County counts equal the sum over LSOAs, per source, period and measure."""
    with duckdb.get_connection() as con:
        off = con.execute(
            """
            SELECT c.source, c.period, c.measure, c.count AS county, l.n AS lsoa_sum
            FROM (SELECT * FROM build.nhs_rates WHERE area_level = 'county') c
            FULL JOIN (SELECT source, period, measure, sum(count) n FROM build.nhs_rates
                       WHERE area_level = 'lsoa' GROUP BY ALL) l USING (source, period, measure)
            WHERE c.count IS DISTINCT FROM l.n
            """
        ).df()
    return dg.AssetCheckResult(passed=off.empty, metadata={"mismatches": md_table(off)})


@dg.asset_check(asset=success_measures, blocking=True)
def success_intervals_hold_and_changes_add_up(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """0 <= ci_lower <= rate <= ci_upper; change = count - previous_count; 0 <= change_p <= 1;
    the county count equals the sum of its LSOAs."""
    with duckdb.get_connection() as con:
        bad = con.execute(
            """
            SELECT area_level, area_code, period, measure, victims, count, rate, ci_lower,
                   ci_upper, previous_count, change, change_p
            FROM build.success_measures
            WHERE (rate IS NOT NULL AND NOT (0 <= ci_lower AND ci_lower <= rate
                                             AND rate <= ci_upper))
               OR change IS DISTINCT FROM count - previous_count
               OR (change_p IS NOT NULL AND NOT (change_p BETWEEN 0 AND 1))
            """
        ).df()
        off = con.execute(
            """
            SELECT c.period, c.measure, c.victims, c.count, l.n FROM
            (SELECT * FROM build.success_measures WHERE area_level = 'county') c
            JOIN (SELECT period, measure, victims, sum(count) n FROM build.success_measures
                  WHERE area_level = 'lsoa' GROUP BY ALL) l USING (period, measure, victims)
            WHERE c.count <> l.n
            """
        ).df()
    return dg.AssetCheckResult(
        passed=bad.empty and off.empty,
        metadata={"rows_off": md_table(bad), "county_off": md_table(off)},
    )
