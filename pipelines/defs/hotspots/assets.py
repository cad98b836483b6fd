"""Where serious violence concentrates: area and point hotspots, emerging hotspots, concentration."""

import time

import dagster as dg
import duckdb
import shapely
from dagster_duckdb import DuckDBResource

from pipelines.defs.geography.assets import incident_placement
from pipelines.defs.rates.assets import sv_rates
from pipelines.defs.reference.assets import lsoa
from pipelines.freshness import MARTS_FRESHNESS
from pipelines.metadata import md_table, preview, table_metadata
from pipelines.partitions import periods_def, periods_of_run
from pipelines.resources import SNASettings
from pipelines.settings import Settings
from transforms.concentration import concentration_tables
from transforms.db import (
    read_geotable,
    read_table,
    sql_literal,
    write_periods,
    write_table,
    write_table_parts,
)
from transforms.emerging import emerging_hotspots as compute_emerging
from transforms.grid import (
    GRID_COLUMNS,
    PERIODS_SQL,
    cell_size_rule,
    grid_periods,
    sql_locations,
    study_cells,
)
from transforms.hotspots import HEADLINE, area_hotspots

POINTS_SQL = """
    CREATE OR REPLACE TEMP VIEW grid_points AS
    SELECT i.period, i.occurred_month, i.x, i.y, i.source
    FROM core.incidents AS i
    JOIN ref.lsoa AS l USING (lsoa_code)
    WHERE i.source = {source} AND i.sv_category IS NOT NULL AND i.period IS NOT NULL
      AND i.x IS NOT NULL AND i.y IS NOT NULL
"""


def analysed_measures(con: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[list, list]:
    """The headline plus the settings' `hotspot_measures` that the rates have for this source,
    and the ones asked for that it does not have (reported, not fatal)."""
    present = {
        row[0]
        for row in con.execute(
            "SELECT DISTINCT measure FROM build.sv_rates WHERE source = ?", [settings.rates_source]
        ).fetchall()
    }
    wanted = [HEADLINE, *(m for m in settings.hotspot_measures if m != HEADLINE)]
    return [m for m in wanted if m in present], [m for m in wanted if m not in present]


def source_rates(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    measures: list,
    periods: list[str] | None = None,
):
    """LSOA and ward rows of build.sv_rates for the run's source and the analysed measures (and
    only `periods`, when given)."""
    return con.execute(
        "SELECT * FROM build.sv_rates WHERE source = ? AND area_level IN ('lsoa', 'ward')"
        " AND list_contains(?, measure) AND (? OR list_contains(?, period))",
        [settings.rates_source, measures, periods is None, periods or []],
    ).df()


@dg.asset(
    key=["marts", "hotspots"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="hotspots",
    kinds={"duckdb"},
    deps=[sv_rates, lsoa],
    partitions_def=periods_def(),
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def hotspots(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Getis-Ord Gi* (as ArcGIS) and Local Moran's I per LSOA and ward, on rates and counts,
    with Benjamini-Hochberg FDR bins: where serious violence clusters. Each period is tested on
    its own, so a refresh of some years replaces only their rows."""
    settings = sna.load()
    periods = periods_of_run(context, settings.period)
    started = time.perf_counter()
    with duckdb.get_connection() as con:
        measures, missing = analysed_measures(con, settings)
        rates = source_rates(con, settings, measures, periods)
        areas = read_geotable(con, "ref.lsoa")
        table = area_hotspots(
            rates,
            areas,
            measures,
            permutations=settings.hotspot_permutations,
            seed=settings.hotspot_seed,
        )
        write_periods(con, {"build.hotspots": table}, periods)
    lsoa_rates = table[
        (table["area_level"] == "lsoa")
        & (table["value_type"] == "rate_per_1000")
        & (table["measure"] == HEADLINE)
    ]
    summary = (
        lsoa_rates.assign(hot=lsoa_rates["gi_bin"] >= 2, cold=lsoa_rates["gi_bin"] <= -2)
        .groupby("period")[["hot", "cold"]]
        .sum()
        .reset_index()
    )
    latest = lsoa_rates[lsoa_rates["period"] == lsoa_rates["period"].max()]
    top = latest[latest["gi_bin"] >= 2].sort_values("gi_z", ascending=False).head(5)
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            "build.hotspots",
            measures=", ".join(measures),
            periods_rebuilt="all" if periods is None else ", ".join(periods),
            measures_not_available=", ".join(missing) or "none",
            permutations=settings.hotspot_permutations,
            seed=settings.hotspot_seed,
            weights=str(table["weights"].iloc[0]) if len(table) else "",
            hot_and_cold_lsoas_95=md_table(summary.rename(columns=str)),
            top_five_hotspots=md_table(
                top[["area_code", "area_name", "period", "value", "gi_z", "gi_q", "lisa_quadrant"]]
            ),
            seconds=round(time.perf_counter() - started, 1),
        )
    )


@dg.asset(
    key=["marts", "hotspot_grid"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="hotspots",
    kinds={"duckdb"},
    deps=[incident_placement, lsoa],
)
def hotspot_grid(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Located serious-violence incidents on a regular grid: counts, quartic KDE and Gi* per cell.

    Incidents are aggregated to distinct locations in DuckDB, and the cells are found one
    district at a time, so memory follows the number of cells and locations, not incidents.
    """
    settings = sna.load()
    started = time.perf_counter()
    with duckdb.get_connection() as con:
        areas = read_geotable(con, "ref.lsoa")
        size = float(
            settings.hotspot_grid_cell_m
            or cell_size_rule(areas.total_bounds, areas.geometry.area.to_numpy())
        )
        districts = (
            areas.geometry.make_valid()
            .groupby(areas["district_code"], dropna=False)
            .agg(shapely.union_all)
        )
        cells = study_cells(districts.to_numpy(), size)
        del areas, districts
        con.execute(POINTS_SQL.format(source=sql_literal(settings.rates_source)))
        periods = con.execute(PERIODS_SQL.format(points="grid_points")).df()
        frames = grid_periods(periods, sql_locations(con, "grid_points"), cells, size)
        rows = write_table_parts(con, "build.hotspot_grid", frames, GRID_COLUMNS)
        per_period = con.execute(
            "SELECT period, sum(count) AS points, count(*) AS cells,"
            " count(*) FILTER (WHERE gi_bin >= 2) AS hot_cells_95,"
            " any_value(kde_bandwidth_m) AS kde_bandwidth_m"
            " FROM build.hotspot_grid GROUP BY period ORDER BY period"
        ).df()
        first_rows = con.execute("SELECT * FROM build.hotspot_grid LIMIT 10").df()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "table": "build.hotspot_grid",
            "preview": preview(first_rows),
            "cell_size_m": size,
            "cell_size_rule": "settings"
            if settings.hotspot_grid_cell_m
            else "min(sfhotspot 1/50 side, 10th-percentile LSOA side, 1 km)",
            "cells": len(cells),
            "per_period": md_table(per_period),
            "points_in_cells": int(per_period["points"].sum()),
            "seconds": round(time.perf_counter() - started, 1),
        }
    )


@dg.asset(
    key=["marts", "emerging_hotspots"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="hotspots",
    kinds={"duckdb"},
    deps=[hotspots],
)
def emerging_hotspots(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """ArcGIS Emerging Hot Spot categories from each full year's Gi* and a Mann-Kendall trend."""
    with duckdb.get_connection() as con:
        yearly = read_table(con, "build.hotspots")
        table = compute_emerging(yearly)
        write_table(con, "build.emerging_hotspots", table)
    full_years = sorted(yearly.loc[yearly["months"] >= 12, "period"].unique())
    categories = (
        table.groupby(["area_level", "value_type", "category"]).size().rename("areas").reset_index()
    )
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            "build.emerging_hotspots",
            full_years=", ".join(full_years) or "none",
            note="needs at least 3 full years" if len(full_years) < 3 else "",
            categories=md_table(categories, rows=40),
        )
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["marts", "concentration"],
            freshness_policy=MARTS_FRESHNESS,
            group_name="hotspots",
            kinds={"duckdb"},
            deps=[sv_rates],
        ),
        dg.AssetSpec(
            ["marts", "lorenz_curve"],
            freshness_policy=MARTS_FRESHNESS,
            group_name="hotspots",
            kinds={"duckdb"},
            deps=[sv_rates],
        ),
    ],
    partitions_def=periods_def(),
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def concentration(context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource):
    """Share of serious violence in the top 1/5/10/20% of LSOAs against their share of residents
    and land; Lorenz curve; Gini, generalised Gini and a random-allocation baseline. Per period:
    a refresh of some years replaces only their rows."""
    settings = sna.load()
    periods = periods_of_run(context, settings.period)
    with duckdb.get_connection() as con:
        measures, _ = analysed_measures(con, settings)
        rates = source_rates(con, settings, measures, periods)
        areas = con.execute("SELECT lsoa_code, area_km2 FROM ref.lsoa").df()
        shares, lorenz = concentration_tables(rates, areas, measures, seed=settings.hotspot_seed)
        write_periods(con, {"build.concentration": shares, "build.lorenz_curve": lorenz}, periods)
    headline = shares[shares["measure"] == HEADLINE]
    yield dg.MaterializeResult(
        asset_key=["marts", "concentration"],
        metadata=table_metadata(
            shares,
            "build.concentration",
            headline=md_table(
                headline[
                    [
                        "period",
                        "top_percent",
                        "share_of_incidents",
                        "share_of_population",
                        "share_of_area",
                        "gini",
                        "generalised_gini",
                        "gini_random_baseline",
                    ]
                ]
            ),
        ),
    )
    yield dg.MaterializeResult(
        asset_key=["marts", "lorenz_curve"],
        metadata=table_metadata(lorenz, "build.lorenz_curve"),
    )
