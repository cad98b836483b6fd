"""Blocking checks on hotspots: every area analysed, bins agree with z and q, the grid reconciles
with the incidents it was built from, concentration shares add up, one category per area."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.hotspots.assets import emerging_hotspots, hotspot_grid, hotspots
from pipelines.defs.rates.assets import sv_rates
from pipelines.metadata import md_table
from pipelines.resources import SNASettings


@dg.asset_check(asset=hotspots, blocking=True)
def every_area_has_a_row_per_analysis(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Each area of build.sv_rates appears exactly once per period, measure and value type."""
    with duckdb.get_connection() as con:
        off = con.execute(
            """
            WITH expected AS (
                SELECT r.area_level, r.period, r.measure, v.value_type, count(*) AS areas
                FROM build.sv_rates r
                CROSS JOIN (SELECT DISTINCT value_type FROM build.hotspots) v
                WHERE r.area_level IN (SELECT DISTINCT area_level FROM build.hotspots)
                  AND r.measure IN (SELECT DISTINCT measure FROM build.hotspots)
                  AND r.source IN (SELECT DISTINCT source FROM build.hotspots)
                GROUP BY ALL
            ), got AS (
                SELECT area_level, period, measure, value_type, count(*) AS rows,
                       count(DISTINCT area_code) AS areas
                FROM build.hotspots GROUP BY ALL
            )
            SELECT * FROM expected e FULL JOIN got g USING (area_level, period, measure, value_type)
            WHERE e.areas IS DISTINCT FROM g.rows OR g.rows IS DISTINCT FROM g.areas
            """
        ).df()
        rows = con.execute("SELECT count(*) FROM build.hotspots").fetchone()[0]
    return dg.AssetCheckResult(
        passed=off.empty and rows > 0,
        metadata={"rows": int(rows), "analyses_not_matching": md_table(off)},
    )


@dg.asset_check(asset=hotspots, blocking=True)
def bins_follow_z_and_fdr(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """gi_bin = sign(z) x 3/2/1 at q <= 0.01/0.05/0.10; p and q in [0, 1] with q >= p."""
    with duckdb.get_connection() as con:
        bad = con.execute(
            """
            SELECT area_level, area_code, period, measure, value_type, gi_z, gi_p, gi_q, gi_bin
            FROM build.hotspots
            WHERE gi_z IS NOT NULL AND (
                gi_bin IS DISTINCT FROM CAST(sign(gi_z) * CASE WHEN gi_q <= 0.01 THEN 3
                    WHEN gi_q <= 0.05 THEN 2 WHEN gi_q <= 0.10 THEN 1 ELSE 0 END AS BIGINT)
                OR NOT (gi_p BETWEEN 0 AND 1) OR NOT (gi_q BETWEEN 0 AND 1)
                OR gi_q < gi_p - 1e-12
                OR (lisa_p IS NOT NULL AND NOT (lisa_p > 0 AND lisa_p <= 1)))
            """
        ).df()
    return dg.AssetCheckResult(passed=bad.empty, metadata={"rows_off": md_table(bad)})


@dg.asset_check(asset=hotspot_grid, blocking=True, additional_deps=[sv_rates])  # reads its county
def grid_reconciles_with_incidents(sna: SNASettings, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Per period, grid counts equal the located in-area incidents whose cell (found here in SQL
    from the coordinates, independently of the Python binning) is in the grid; with those in no
    cell and those without coordinates, they make up the county's headline count."""
    source = sna.load().rates_source
    with duckdb.get_connection() as con:
        off = con.execute(
            """
            WITH size AS (SELECT any_value(cell_size_m) AS s FROM build.hotspot_grid),
            located AS (
                SELECT i.period,
                       CAST(floor(i.x / size.s) * size.s AS BIGINT) || '_'
                         || CAST(floor(i.y / size.s) * size.s AS BIGINT) AS cell_id,
                       i.x IS NULL OR i.y IS NULL AS no_xy
                FROM core.incidents i JOIN ref.lsoa l USING (lsoa_code), size
                WHERE i.source = ? AND i.sv_category IS NOT NULL AND i.period IS NOT NULL
            ), tally AS (
                SELECT l.period,
                       count(*) FILTER (WHERE NOT no_xy AND g.cell_id IS NOT NULL) AS in_cells,
                       count(*) FILTER (WHERE NOT no_xy AND g.cell_id IS NULL) AS in_no_cell,
                       count(*) FILTER (WHERE no_xy) AS no_coordinates
                FROM located l
                LEFT JOIN (SELECT DISTINCT cell_id FROM build.hotspot_grid) g USING (cell_id)
                GROUP BY ALL
            ), grid AS (
                SELECT period, sum(count) AS grid_count FROM build.hotspot_grid GROUP BY ALL
            ), county AS (
                SELECT period, count AS county_count FROM build.sv_rates
                WHERE area_level = 'county' AND measure = 'all_serious_violence' AND source = ?
            )
            SELECT * FROM county c FULL JOIN tally t USING (period) FULL JOIN grid g USING (period)
            WHERE g.grid_count IS DISTINCT FROM t.in_cells
               OR c.county_count IS DISTINCT FROM t.in_cells + t.in_no_cell + t.no_coordinates
            """,
            [source, source],
        ).df()
        summary = con.execute(
            "SELECT period, sum(count) AS points, count(*) AS cells FROM build.hotspot_grid"
            " GROUP BY ALL ORDER BY 1"
        ).df()
    return dg.AssetCheckResult(
        passed=off.empty, metadata={"periods_off": md_table(off), "grid": md_table(summary)}
    )


@dg.asset_check(asset=emerging_hotspots, blocking=True)
def one_category_per_area(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every area has one emerging-hotspot category per measure and value type, from the list."""
    with duckdb.get_connection() as con:
        duplicated = con.execute(
            "SELECT area_level, area_code, measure, value_type, count(*) AS n"
            " FROM build.emerging_hotspots GROUP BY ALL HAVING count(*) > 1"
        ).df()
        unknown = con.execute(
            "SELECT DISTINCT category FROM build.emerging_hotspots WHERE category <> 'no pattern"
            " detected' AND NOT regexp_matches(category, '^(new|consecutive|intensifying|"
            "persistent|diminishing|sporadic|oscillating|historical) (hot|cold) spot$')"
        ).df()
    return dg.AssetCheckResult(
        passed=duplicated.empty and unknown.empty,
        metadata={"duplicated": md_table(duplicated), "unknown_categories": md_table(unknown)},
    )


@dg.asset_check(asset=dg.AssetKey(["marts", "concentration"]), blocking=True)
def concentration_shares_add_up(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Shares lie in [0, 1] and grow with the top percent; totals equal the LSOA counts in
    build.sv_rates; each Lorenz curve runs from (0, 0) to (1, 1) without falling."""
    with duckdb.get_connection() as con:
        off = con.execute(
            """
            SELECT c.period, c.measure, c.top_percent, c.share_of_incidents, c.total_incidents,
                   r.lsoa_total
            FROM (SELECT *, lag(share_of_incidents) OVER (PARTITION BY period, measure
                          ORDER BY top_percent) AS previous FROM build.concentration) c
            LEFT JOIN (SELECT period, measure, sum(count) AS lsoa_total FROM build.sv_rates
                       WHERE area_level = 'lsoa' AND source IN (SELECT DISTINCT source
                       FROM build.concentration) GROUP BY ALL) r USING (period, measure)
            WHERE NOT (c.share_of_incidents BETWEEN 0 AND 1)
               OR c.share_of_incidents < coalesce(c.previous, 0)
               OR c.total_incidents IS DISTINCT FROM r.lsoa_total
            """
        ).df()
        lorenz = con.execute(
            """
            SELECT period, measure, min(cumulative_share_of_incidents) AS first,
                   max(cumulative_share_of_incidents) AS last,
                   bool_and(cumulative_share_of_incidents >= previous) AS rising
            FROM (SELECT *, coalesce(lag(cumulative_share_of_incidents) OVER (
                      PARTITION BY period, measure ORDER BY rank), 0) AS previous
                  FROM build.lorenz_curve)
            GROUP BY ALL
            HAVING first <> 0 OR abs(last - 1) > 1e-9 OR NOT rising
            """
        ).df()
    return dg.AssetCheckResult(
        passed=off.empty and lorenz.empty,
        metadata={"rows_off": md_table(off), "curves_off": md_table(lorenz)},
    )
