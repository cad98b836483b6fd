"""Hotspot, concentration and risk marts for the notebook's fixture database, made by the real
transforms from the fixture's own LSOAs and rates (so the fixture cannot drift from the marts)."""

from __future__ import annotations

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from transforms.concentration import concentration_tables
from transforms.emerging import emerging_hotspots
from transforms.grid import grid_hotspots
from transforms.hotspots import area_hotspots
from transforms.risk import lsoa_factors, risk_correlations, risk_model


def add_analysis_tables(
    con: duckdb.DuckDBPyConnection, lsoa: pd.DataFrame, rates: pd.DataFrame, seed: int = 11
) -> None:
    """Write marts.hotspots, hotspot_grid, emerging_hotspots, concentration, lorenz_curve,
    risk_factors, risk_correlations and risk_model for the fixture's LSOAs and rates."""
    rng = np.random.default_rng(seed)
    areas = gpd.GeoDataFrame(
        lsoa.drop(columns="geometry"),
        geometry=shapely.from_wkb(lsoa["geometry"].map(bytes)),
        crs="EPSG:27700",
    )
    hotspots = area_hotspots(rates, areas, permutations=99, seed=seed)
    lsoa_rates = rates[rates["area_level"] == "lsoa"]
    points = []
    for row in lsoa_rates.itertuples():
        left, bottom, right, top = (
            areas.set_index("lsoa_code").loc[row.area_code, "geometry"].bounds
        )
        n = int(row.count)
        points.append(
            pd.DataFrame(
                {
                    "period": row.period,
                    "occurred_month": pd.Timestamp(f"{row.period[:4]}-04-01")
                    + pd.to_timedelta(rng.integers(0, row.months, n) * 31, "D"),
                    "x": rng.uniform(left, right, n),
                    "y": rng.uniform(bottom, top, n),
                    "source": row.source,
                }
            )
        )
    area = shapely.union_all(areas.geometry.to_numpy())
    grid = grid_hotspots(pd.concat(points, ignore_index=True), area, cell_size=250)
    shares, lorenz = concentration_tables(rates, lsoa.drop(columns="geometry"), seed=seed)
    codes = lsoa["lsoa_code"]
    deprivation = pd.DataFrame(
        {
            "lsoa_code": codes,
            "imd_score": rng.gamma(3, 8, len(codes)),
            "income_rank": rng.permutation(len(codes)) + 1,
        }
    )
    population = pd.DataFrame(
        {
            "lsoa_code": np.repeat(codes.to_numpy(), 3),
            "year": 2022,
            "sex": "all",
            "age_from": np.tile([0, 10, 25], len(codes)),
            "age_to": np.tile([9, 24, 120], len(codes)),
            "persons": rng.integers(100, 800, 3 * len(codes)),
        }
    )
    factors, _ = lsoa_factors(deprivation, population, 2022, sorted(rates["period"].unique()))
    correlations = risk_correlations(rates, factors)
    model, _ = risk_model(rates, factors, {})
    for name, frame in {
        "hotspots": hotspots,
        "hotspot_grid": grid,
        "emerging_hotspots": emerging_hotspots(hotspots),
        "concentration": shares,
        "lorenz_curve": lorenz,
        "risk_factors": factors,
        "risk_correlations": correlations,
        "risk_model": model,
    }.items():
        con.register("frame", frame)
        con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM frame")
        con.unregister("frame")
