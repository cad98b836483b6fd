"""`python -m tests.bench_placement`: placement on ~1M incidents, and point in polygon two ways.

Figures are printed, never asserted. Uses the real Norfolk LSOA 2021 boundaries and the ONS
2011 -> 2021 lookup from ../shared/data (skips when absent): 1M synthetic incidents spread over
Norfolk's LSOAs, a fifth recorded with LSOA 2011 codes (so splits and merges are resolved), 2% with
a point and no code, 2% with neither. Then the same 1M points are placed by DuckDB's spatial join
and by shapely's STRtree against Norfolk's 552 polygons and the 35,672 of England and Wales.
"""

from __future__ import annotations

import sys
import time

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sources.lookups import read_vintage_lookup
from tests.conftest import SHARED_DATA
from transforms.db import load_spatial, write_table
from transforms.geography import place_incidents

N = 1_000_000
NORFOLK = SHARED_DATA / "lsoa21" / "boundaries" / "LSOA21_norfolk_BSC_V4.geojson"
ENGLAND_WALES = SHARED_DATA / "lsoa21" / "boundaries" / "LSOA21_EW_BSC_V4.geojson"
LOOKUP = SHARED_DATA / "lsoa21" / "lookups" / "LSOA11_LSOA21_LAD22_EW_LU.csv"


def timed(label: str, action):
    started = time.perf_counter()
    value = action()
    print(f"{label:<58} {time.perf_counter() - started:6.2f} s", flush=True)
    return value


def boundaries(path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path).to_crs("EPSG:27700")
    return frame.rename(columns={"LSOA21CD": "lsoa_code"})[["lsoa_code", "geometry"]]


def incidents(areas: gpd.GeoDataFrame, lookup: pd.DataFrame, rng) -> pd.DataFrame:
    """N incidents with points inside random LSOAs; a fifth carry the LSOA 2011 code."""
    pick = rng.integers(0, len(areas), N)
    sampled = areas.geometry.sample_points(size=200, rng=1).explode(index_parts=True)
    grid = shapely.get_coordinates(sampled.to_numpy()).reshape(len(areas), 200, 2)
    xy = grid[pick, rng.integers(0, 200, N)]
    codes = areas["lsoa_code"].to_numpy()[pick].astype(object)
    to_2011 = lookup.groupby("lsoa21_code")["lsoa11_code"].first()
    old = rng.random(N) < 0.2
    codes[old] = pd.Series(codes[old]).map(to_2011).to_numpy()
    kind = rng.random(N)
    codes[kind < 0.04] = None
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    x[kind < 0.02], y[kind < 0.02] = np.nan, np.nan
    months = np.where(old, "2022-06-01", "2024-02-01")
    return pd.DataFrame(
        {
            "source": "police_uk",
            "event_id": [f"e{i}" for i in range(N)],
            "occurred_month": pd.to_datetime(months),
            "period": np.where(old, "2022", "2024"),
            "lsoa_code": pd.array(codes, dtype="str"),
            "x": pd.array(x, dtype="Float64"),
            "y": pd.array(y, dtype="Float64"),
        }
    )


def point_in_polygon(label: str, areas: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> None:
    con = duckdb.connect()
    load_spatial(con)
    polygons = pd.DataFrame({"code": areas["lsoa_code"], "wkb": shapely.to_wkb(areas.geometry)})
    con.register("polygons", polygons)
    con.register("points", pd.DataFrame({"x": x, "y": y}))
    con.execute("CREATE TABLE poly AS SELECT code, ST_GeomFromWKB(wkb) AS geom FROM polygons")
    con.execute("CREATE TABLE pts AS SELECT * FROM points")
    hits = timed(
        f"DuckDB spatial join, 1M points x {len(areas):,} polygons",
        lambda: con.execute(
            "SELECT count(*) FROM pts JOIN poly ON ST_Contains(poly.geom, ST_Point(pts.x, pts.y))"
        ).fetchone()[0],
    )

    def strtree() -> int:
        tree = shapely.STRtree(areas.geometry.to_numpy())
        return len(tree.query(shapely.points(x, y), predicate="within")[0])

    same = timed(f"shapely STRtree, 1M points x {len(areas):,} polygons", strtree)
    print(f"  {label}: {hits:,} points matched by both" if hits == same else "  MISMATCH")


def main() -> int:
    if not NORFOLK.is_file():
        print(f"real data not found at {SHARED_DATA}: nothing to measure")
        return 0
    rng = np.random.default_rng(20240401)
    areas = timed("read Norfolk LSOA 2021 boundaries", lambda: boundaries(NORFOLK))
    lookup = timed("read the ONS LSOA11 -> LSOA21 lookup", lambda: read_vintage_lookup(LOOKUP).rows)
    frame = timed("make 1M incidents", lambda: incidents(areas, lookup, rng))
    con = duckdb.connect()
    for schema in ("ref", "core"):
        con.execute(f"CREATE SCHEMA {schema}")
    ref = pd.DataFrame(
        {"lsoa_code": areas["lsoa_code"], "geometry": shapely.to_wkb(areas.geometry)}
    )
    write_table(con, "ref.lsoa", ref)
    write_table(con, "ref.lsoa_vintage_lookup", lookup)
    write_table(con, "core.incidents", frame)
    summary = timed(
        "place_incidents (in memory, lookup, 1M incidents)",
        lambda: place_incidents(con, vintage="2021", lookup="ref.lsoa_vintage_lookup"),
    )
    print(summary.groupby("placement")["incidents"].sum().to_string())
    x = frame["x"].to_numpy(dtype=float, na_value=np.nan)
    y = frame["y"].to_numpy(dtype=float, na_value=np.nan)
    located = ~np.isnan(x)
    point_in_polygon("Norfolk", areas, x[located], y[located])
    if ENGLAND_WALES.is_file():
        point_in_polygon("England and Wales", boundaries(ENGLAND_WALES), x[located], y[located])
    return 0


if __name__ == "__main__":
    sys.exit(main())
