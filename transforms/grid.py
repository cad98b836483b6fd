"""Point hotspots on a regular grid: counts, quartic kernel density and Gi* per cell.

Where incidents have coordinates (British National Grid metres), they are counted in square cells
of one grid aligned to the National Grid (cell corners at multiples of the cell size), covering
every cell that touches the study area, empty cells included. Rules, so two runs agree:

- **cell size**, unless one is given: the smallest of (a) sfhotspot's automatic size (Ashby,
  `sfhotspot::hotspot_grid`: one fiftieth of the shorter side of the study area's bounding box),
  (b) the side of a square as large as the county's smallest neighbourhoods (the 10th
  percentile of LSOA area: the grid is there to show places finer than LSOAs) and (c) 1 km (a
  town centre is a few hundred metres across; bigger cells blur it into its suburbs); rounded
  down to a multiple of 100 m, at least 100 m. Norfolk gets 500 m cells; sfhotspot's rule alone
  would give 1,300 m, too coarse to separate a market-town centre from the town;
- **neighbours** for Gi*: the 8 cells around a cell (Queen on the grid, sfhotspot's default
  `nb_dist = cell_size * sqrt(2)`), found from integer row and column indices, never from float
  distances, plus the cell itself (Gi*); binary weights, two-sided p from z, Benjamini-Hochberg,
  ArcGIS bins as for areas (`transforms.hotspots`);
- **KDE**: the quartic (biweight) kernel ArcGIS's Kernel Density uses,
  K(d) = 3 / (pi h^2) * (1 - d^2 / h^2)^2 for d < h, evaluated at cell centres and reported as
  incidents per km^2; the bandwidth h is ArcGIS's default search radius (Silverman's rule of
  thumb made spatial), h = 0.9 * min(SD, sqrt(1 / ln 2) * Dm) * n^-0.2, with SD the standard
  distance of the points and Dm their median distance from the mean centre, and never less than
  one cell. Density near the coast or the county edge is not edge-corrected.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from libpysal.weights import fill_diagonal
from scipy import sparse
from scipy.spatial import cKDTree

from transforms.hotspots import (
    ALPHA,
    FDR_METHOD,
    HEADLINE,
    Neighbours,
    confidence_bins,
    fdr_bh,
    gi_star,
    latest_period,
    quiet_weights,
)

CELLS_ON_SHORT_SIDE = 50
SMALL_LSOA_QUANTILE = 0.10
MAX_CELL_M = 1000
ROUND_TO_M = 100
GRID_METHOD = (
    "cell counts; quartic kernel density at cell centres (per km2); Getis-Ord Gi* on counts"
    " (esda.G_Local, transform='B', star=True; two-sided p from z)"
)
GRID_WEIGHTS = "queen on the grid (8 surrounding cells from row/column indices), binary"
GRID_COLUMNS = [
    "period",
    "months",
    "measure",
    "cell_id",
    "row",
    "col",
    "x",
    "y",
    "cell_size_m",
    "count",
    "kde",
    "kde_bandwidth_m",
    "gi_z",
    "gi_p",
    "gi_q",
    "gi_bin",
    "method",
    "weights",
    "alpha",
    "fdr",
    "source",
    "geometry",
]


def cell_size_rule(bounds: Sequence[float], lsoa_areas_m2: Sequence[float] | None = None) -> int:
    """The grid's cell side in metres (the rule in the module docstring).

    Examples
    --------
    A county 100 km by 65 km: sfhotspot's rule alone gives 1,300 m, capped at 1 km; with LSOAs
    whose smallest tenth are 0.27 km2 (520 m squares, as Norfolk's), 500 m. A town 4 km across
    gets 100 m (the minimum).

    >>> county = (560_000, 280_000, 660_000, 345_000)
    >>> cell_size_rule(county), cell_size_rule(county, [520.0**2] * 20 + [4e6] * 80)
    (1000, 500)
    >>> cell_size_rule((0, 0, 4_000, 6_000))
    100
    """
    minx, miny, maxx, maxy = bounds
    candidates = [min(maxx - minx, maxy - miny) / CELLS_ON_SHORT_SIDE, MAX_CELL_M]
    if lsoa_areas_m2 is not None and len(lsoa_areas_m2):
        candidates.append(
            np.sqrt(np.quantile(np.asarray(lsoa_areas_m2, float), SMALL_LSOA_QUANTILE))
        )
    return int(max(1, np.floor(min(candidates) / ROUND_TO_M)) * ROUND_TO_M)


def study_grid(area, cell_size: float) -> pd.DataFrame:
    """Every cell of the National-Grid-aligned grid that touches `area` (a polygon, metres).

    Returns row, col (0-based from the south-west cell), cell_id, the centre x, y and the square
    as a shapely polygon. Rows and columns are what neighbours are built from.
    """
    minx, miny, maxx, maxy = area.bounds
    x0 = np.floor(minx / cell_size) * cell_size
    y0 = np.floor(miny / cell_size) * cell_size
    n_col = int(np.ceil((maxx - x0) / cell_size))
    n_row = int(np.ceil((maxy - y0) / cell_size))
    col, row = np.meshgrid(np.arange(n_col), np.arange(n_row))
    col, row = col.ravel(), row.ravel()
    left, bottom = x0 + col * cell_size, y0 + row * cell_size
    squares = shapely.box(left, bottom, left + cell_size, bottom + cell_size)
    shapely.prepare(area)
    keep = shapely.intersects(area, squares)
    left, bottom = left[keep], bottom[keep]
    return pd.DataFrame(
        {
            "row": row[keep],
            "col": col[keep],
            "cell_id": [f"{int(e)}_{int(n)}" for e, n in zip(left, bottom, strict=True)],
            "x": left + cell_size / 2,
            "y": bottom + cell_size / 2,
            "geometry": squares[keep],
        }
    ).reset_index(drop=True)


def grid_neighbours(rows, cols) -> Neighbours:
    """Queen neighbours on a grid from integer indices: cells whose row and column differ by <= 1.

    Examples
    --------
    A 3 x 3 block: the centre cell has 8 neighbours, corners 3, edges 5.

    >>> r, c = np.divmod(np.arange(9), 3)
    >>> grid_neighbours(r, c).cardinalities.tolist()
    [3, 5, 3, 5, 8, 5, 3, 5, 3]
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    n = len(rows)
    index = pd.Series(np.arange(n), index=pd.MultiIndex.from_arrays([rows, cols]))
    left, right = [], []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr == dc == 0:
                continue
            found = index.reindex(pd.MultiIndex.from_arrays([rows + dr, cols + dc])).to_numpy()
            ok = ~np.isnan(found)
            left.append(np.flatnonzero(ok))
            right.append(found[ok].astype(np.int64))
    i, j = np.concatenate(left), np.concatenate(right)
    adjacency = sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    ids = tuple(str(k) for k in range(n))
    return Neighbours(ids, adjacency, (), GRID_WEIGHTS)


def count_in_cells(x, y, grid: pd.DataFrame, cell_size: float) -> tuple[np.ndarray, int]:
    """Points per cell of `grid`, and how many points fell in no cell of it."""
    x0 = grid["x"].iloc[0] - (grid["col"].iloc[0] + 0.5) * cell_size  # south-west corner
    y0 = grid["y"].iloc[0] - (grid["row"].iloc[0] + 0.5) * cell_size
    col = np.floor((np.asarray(x, dtype=float) - x0) / cell_size).astype(np.int64)
    row = np.floor((np.asarray(y, dtype=float) - y0) / cell_size).astype(np.int64)
    index = pd.Series(np.arange(len(grid)), index=pd.MultiIndex.from_frame(grid[["row", "col"]]))
    where = index.reindex(pd.MultiIndex.from_arrays([row, col])).to_numpy()
    inside = ~np.isnan(where)
    counts = np.bincount(where[inside].astype(np.int64), minlength=len(grid))
    return counts.astype(np.int64), int((~inside).sum())


def kde_bandwidth(x, y) -> float:
    """ArcGIS Kernel Density's default search radius for points (metres).

    h = 0.9 * min(SD, sqrt(1 / ln 2) * Dm) * n^-0.2, where SD is the standard distance (root
    mean squared distance from the mean centre) and Dm the median distance from it.

    Examples
    --------
    Points on a circle of radius 1,000 m round the origin: SD = Dm = 1,000, n = 32.

    >>> a = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    >>> round(kde_bandwidth(1000 * np.cos(a), 1000 * np.sin(a)), 1)
    450.0
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n < 2:
        return float("nan")
    d = np.hypot(x - x.mean(), y - y.mean())
    sd = np.sqrt(np.mean(d**2))
    dm = np.median(d)
    return float(0.9 * min(sd, np.sqrt(1 / np.log(2)) * dm) * n ** (-0.2))


def quartic_kde(x, y, at_x, at_y, bandwidth: float) -> np.ndarray:
    """Quartic-kernel density of the points (x, y) at (at_x, at_y), in points per km^2.

    Each point spreads a total weight of 1 over a disc of radius `bandwidth`, so the density
    integrates to the number of points (away from edges).

    Examples
    --------
    One point, evaluated on itself: 3 / (pi h^2) per m^2; h = 1 km gives 3 / pi per km^2.

    >>> round(float(quartic_kde([0], [0], [0], [0], 1000.0)[0]), 4)
    0.9549
    """
    points = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    targets = np.column_stack([np.asarray(at_x, dtype=float), np.asarray(at_y, dtype=float)])
    density = np.zeros(len(targets))
    if not len(points) or not np.isfinite(bandwidth) or bandwidth <= 0:
        return density
    # Police.uk points are snapped to map points: weigh each distinct location by its count.
    unique, weight = np.unique(points, axis=0, return_counts=True)
    pairs = cKDTree(targets).sparse_distance_matrix(
        cKDTree(unique), bandwidth, output_type="coo_matrix"
    )
    u = (pairs.data / bandwidth) ** 2
    kernel = 3.0 / (np.pi * bandwidth**2) * (1.0 - u) ** 2 * weight[pairs.col]
    np.add.at(density, pairs.row, kernel)
    return density * 1e6


def grid_hotspots(
    points: pd.DataFrame,
    area,
    cell_size: float | None = None,
    lsoa_areas_m2: Sequence[float] | None = None,
    measure: str = HEADLINE,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """`build.hotspot_grid`: per period, counts, KDE and Gi* in every cell touching `area`.

    Parameters
    ----------
    points : one row per incident with `period`, `occurred_month`, `x`, `y` (EPSG:27700) and
        `source`
    area : the study area polygon (EPSG:27700), e.g. the union of the LSOAs
    cell_size : metres; None applies `cell_size_rule` to the area and `lsoa_areas_m2`
    measure, alpha : recorded on every row
    """
    size = float(cell_size or cell_size_rule(area.bounds, lsoa_areas_m2))
    grid = study_grid(area, size)
    neighbours = grid_neighbours(grid["row"], grid["col"])
    with quiet_weights():  # Gi*: each cell counts itself; done once for all periods
        w = fill_diagonal(neighbours.to_w(), 1.0)
    frames = []
    for period, group in points.groupby("period", sort=True):
        counts, _ = count_in_cells(group["x"], group["y"], grid, size)
        bandwidth = max(kde_bandwidth(group["x"], group["y"]), size)
        gi = gi_star(counts.astype(float), w)
        frame = grid.assign(
            period=period,
            months=group["occurred_month"].nunique(),
            count=counts,
            kde=quartic_kde(group["x"], group["y"], grid["x"], grid["y"], bandwidth),
            kde_bandwidth_m=round(bandwidth, 1),
            gi_z=gi["gi_z"].to_numpy(),
            gi_p=gi["gi_p"].to_numpy(),
            source=",".join(sorted(group["source"].astype(str).unique())),
        )
        frame["gi_q"] = fdr_bh(frame["gi_p"])
        frame["gi_bin"] = confidence_bins(frame["gi_z"], frame["gi_q"])
        frame["fdr"] = f"{FDR_METHOD} across the {len(grid)} cells of this period"
        frames.append(frame)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in GRID_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    out["measure"] = measure
    out["cell_size_m"] = size
    out["method"] = GRID_METHOD
    out["weights"] = GRID_WEIGHTS + ", cell included (Gi*)"
    out["alpha"] = alpha
    out["geometry"] = shapely.to_wkb(out["geometry"].to_numpy())
    for column in ("months", "row", "col", "count", "gi_bin"):
        out[column] = out[column].astype("int64")
    return out[GRID_COLUMNS]


def grid_layer(
    con: duckdb.DuckDBPyConnection,
    period: str | None = None,
    measure: str = HEADLINE,
    schema: str = "marts",
) -> gpd.GeoDataFrame:
    """One map layer of the point grid (counts, KDE, Gi* bin) for a period (default: latest)."""
    table = f"{schema}.hotspot_grid"
    period = period or latest_period(con, table, measure)
    rows = con.execute(
        f"SELECT * FROM {table} WHERE period = ? AND measure = ?", [period, measure]
    ).df()
    geometry = gpd.GeoSeries.from_wkb(rows.pop("geometry").map(bytes), crs="EPSG:27700")
    return gpd.GeoDataFrame(rows, geometry=geometry, crs="EPSG:27700")
