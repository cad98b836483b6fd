"""Blocking checks on rates: the county adds up, and every interval holds its rate."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.rates.assets import sv_rates
from pipelines.metadata import md_table


@dg.asset_check(asset=sv_rates, blocking=True)
def county_equals_sum_of_lsoas(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """County count and population equal the sum over its LSOAs, for every period and measure."""
    with duckdb.get_connection() as con:
        off = con.execute(
            """
            SELECT c.period, c.measure, c.count AS county_count, l.count AS lsoa_sum,
                   c.population AS county_population, l.population AS lsoa_population
            FROM (SELECT * FROM build.sv_rates WHERE area_level = 'county') c
            FULL JOIN (SELECT period, measure, sum(count) AS count, sum(population) AS population
                       FROM build.sv_rates WHERE area_level = 'lsoa' GROUP BY ALL) l
              USING (period, measure)
            WHERE c.count IS DISTINCT FROM l.count OR c.population IS DISTINCT FROM l.population
            """
        ).df()
        checked = con.execute(
            "SELECT count(*) FROM build.sv_rates WHERE area_level = 'county'"
        ).fetchone()[0]
    return dg.AssetCheckResult(
        passed=off.empty and checked > 0,
        metadata={
            "county_rows_checked": int(checked),
            "mismatches": md_table(off),
        },
    )


@dg.asset_check(asset=sv_rates, blocking=True)
def intervals_hold_their_rates(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """0 <= ci_lower <= rate_per_1000 <= ci_upper wherever a rate is given."""
    with duckdb.get_connection() as con:
        bad = con.execute(
            "SELECT count(*) FROM build.sv_rates WHERE rate_per_1000 IS NOT NULL AND NOT"
            " (0 <= ci_lower AND ci_lower <= rate_per_1000 AND rate_per_1000 <= ci_upper)"
        ).fetchone()[0]
    return dg.AssetCheckResult(passed=bad == 0, metadata={"rows_outside_interval": int(bad)})
