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

At national scale (England and Wales: about 955,000 cells of 400 m, 2.8 million located
incidents a year) nothing is held per incident: DuckDB hands over each distinct location with its
incident count, cells are found one district at a time, Gi* is computed on the sparse adjacency
and the KDE a block of cells at a time, and the table is written a period at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.stats import norm

from transforms.hotspots import (
    ALPHA,
    FDR_METHOD,
    HEADLINE,
    Neighbours,
    confidence_bins,
    fdr_bh,
    latest_period,
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


def touched_cells(area, cell_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Row and column, counted from the National Grid origin (floor(northing / size),
    floor(easting / size)), of every cell that touches `area` (a polygon, metres)."""
    minx, miny, maxx, maxy = area.bounds
    c0, r0 = np.floor(minx / cell_size), np.floor(miny / cell_size)
    n_col = int(np.ceil((maxx - c0 * cell_size) / cell_size))
    n_row = int(np.ceil((maxy - r0 * cell_size) / cell_size))
    col, row = np.meshgrid(np.arange(n_col), np.arange(n_row))
    col, row = col.ravel(), row.ravel()
    left, bottom = c0 * cell_size + col * cell_size, r0 * cell_size + row * cell_size
    squares = shapely.box(left, bottom, left + cell_size, bottom + cell_size)
    shapely.prepare(area)
    keep = shapely.intersects(area, squares)
    return (row[keep] + int(r0)).astype(np.int64), (col[keep] + int(c0)).astype(np.int64)


def study_cells(parts: Iterable, cell_size: float) -> pd.DataFrame:
    """Every cell of the National-Grid-aligned grid that touches any of `parts` (polygons in
    metres, e.g. one per district), in row-major order, without their shapes.

    Built one part at a time, so memory is bounded by the largest part's bounding box, and no
    union of the parts is needed: a cell touches the union exactly when it touches a part.
    Returns row, col (0-based from the south-west cell), cell_id (south-west corner
    "easting_northing") and the centre x, y.
    """
    found = [touched_cells(part, cell_size) for part in parts]
    rows = np.concatenate([r for r, _ in found]) if found else np.empty(0, np.int64)
    cols = np.concatenate([c for _, c in found]) if found else np.empty(0, np.int64)
    cells = pd.DataFrame({"r": rows, "c": cols}).drop_duplicates().sort_values(["r", "c"])
    left, bottom = cells["c"].to_numpy() * cell_size, cells["r"].to_numpy() * cell_size
    return pd.DataFrame(
        {
            "row": cells["r"].to_numpy() - (cells["r"].min() if len(cells) else 0),
            "col": cells["c"].to_numpy() - (cells["c"].min() if len(cells) else 0),
            "cell_id": [f"{int(e)}_{int(n)}" for e, n in zip(left, bottom, strict=True)],
            "x": left + cell_size / 2,
            "y": bottom + cell_size / 2,
        }
    )


def cell_squares(cells: pd.DataFrame, cell_size: float) -> np.ndarray:
    """The square of each cell of `study_cells` as a shapely polygon."""
    left = cells["x"].to_numpy() - cell_size / 2
    bottom = cells["y"].to_numpy() - cell_size / 2
    return shapely.box(left, bottom, left + cell_size, bottom + cell_size)


def study_grid(area, cell_size: float) -> pd.DataFrame:
    """Every cell of the National-Grid-aligned grid that touches `area` (a polygon, metres).

    Returns row, col (0-based from the south-west cell), cell_id, the centre x, y and the square
    as a shapely polygon. Rows and columns are what neighbours are built from.
    """
    cells = study_cells([area], cell_size)
    return cells.assign(geometry=cell_squares(cells, cell_size))


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


def count_in_cells(
    x, y, grid: pd.DataFrame, cell_size: float, weight=None
) -> tuple[np.ndarray, int]:
    """Points per cell of `grid`, and how many points fell in no cell of it; with `weight`,
    each (x, y) stands for that many points (a distinct location and its incidents)."""
    x0 = grid["x"].iloc[0] - (grid["col"].iloc[0] + 0.5) * cell_size  # south-west corner
    y0 = grid["y"].iloc[0] - (grid["row"].iloc[0] + 0.5) * cell_size
    col = np.floor((np.asarray(x, dtype=float) - x0) / cell_size).astype(np.int64)
    row = np.floor((np.asarray(y, dtype=float) - y0) / cell_size).astype(np.int64)
    index = pd.Series(np.arange(len(grid)), index=pd.MultiIndex.from_frame(grid[["row", "col"]]))
    where = index.reindex(pd.MultiIndex.from_arrays([row, col])).to_numpy()
    inside = ~np.isnan(where)
    weight = np.ones(len(where), np.int64) if weight is None else np.asarray(weight, np.int64)
    counts = np.bincount(where[inside].astype(np.int64), weight[inside], minlength=len(grid))
    return counts.round().astype(np.int64), int(weight[~inside].sum())


def kde_bandwidth(x, y, weight=None) -> float:
    """ArcGIS Kernel Density's default search radius for points (metres).

    h = 0.9 * min(SD, sqrt(1 / ln 2) * Dm) * n^-0.2, where SD is the standard distance (root
    mean squared distance from the mean centre) and Dm the median distance from it. With
    `weight`, each (x, y) stands for that many points.

    Examples
    --------
    Points on a circle of radius 1,000 m round the origin: SD = Dm = 1,000, n = 32.

    >>> a = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    >>> round(kde_bandwidth(1000 * np.cos(a), 1000 * np.sin(a)), 1)
    450.0
    >>> round(kde_bandwidth(1000 * np.cos(a), 1000 * np.sin(a), np.full(32, 3)), 1)
    361.2
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones(len(x), np.int64) if weight is None else np.asarray(weight, np.int64)
    n = int(w.sum())
    if n < 2:
        return float("nan")
    d = np.hypot(x - np.average(x, weights=w), y - np.average(y, weights=w))
    sd = np.sqrt(np.average(d**2, weights=w))
    dm = weighted_median(d, w)
    return float(0.9 * min(sd, np.sqrt(1 / np.log(2)) * dm) * n ** (-0.2))


def weighted_median(values, weight) -> float:
    """The median of `values` with each repeated `weight` times, as `np.median` of the repeats.

    >>> weighted_median([3.0, 1.0, 2.0], [1, 2, 1]), float(np.median([3.0, 1.0, 1.0, 2.0]))
    (1.5, 1.5)
    """
    order = np.argsort(values, kind="stable")
    v, ends = np.asarray(values, float)[order], np.cumsum(np.asarray(weight)[order])
    n = ends[-1]
    low, high = (
        v[np.searchsorted(ends, (n - 1) // 2, side="right")],
        v[np.searchsorted(ends, n // 2, side="right")],
    )
    return float((low + high) / 2)


KDE_TARGETS_PER_BLOCK = 1024  # targets per tree query: bounds the (target, point) pairs held


def quartic_kde(x, y, at_x, at_y, bandwidth: float, weight=None) -> np.ndarray:
    """Quartic-kernel density of the points (x, y) at (at_x, at_y), in points per km^2.

    Each point spreads a total weight of 1 over a disc of radius `bandwidth`, so the density
    integrates to the number of points (away from edges). With `weight`, each (x, y) stands for
    that many points. Targets are taken `KDE_TARGETS_PER_BLOCK` at a time, so memory grows with
    the points within one bandwidth of a block, not with the whole area.

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
    if weight is None:  # police.uk points are snapped to map points: weigh each by its count
        points, weight = np.unique(points, axis=0, return_counts=True)
    weight = np.asarray(weight, dtype=float)
    tree = cKDTree(points)
    for start in range(0, len(targets), KDE_TARGETS_PER_BLOCK):
        block = targets[start : start + KDE_TARGETS_PER_BLOCK]
        pairs = cKDTree(block).sparse_distance_matrix(tree, bandwidth, output_type="coo_matrix")
        u = (pairs.data / bandwidth) ** 2
        kernel = 3.0 / (np.pi * bandwidth**2) * (1.0 - u) ** 2 * weight[pairs.col]
        density[start : start + len(block)] = np.bincount(pairs.row, kernel, len(block))
    return density * 1e6


def grid_gi_star(counts, neighbours: Neighbours) -> pd.DataFrame:
    """Gi* on the grid, as `transforms.hotspots.gi_star` (esda.G_Local, transform='B',
    star=True) gives it, from the sparse adjacency: no libpysal W of a country's cells is built.

    >>> r, c = np.divmod(np.arange(16), 4)
    >>> y = np.array([0, 1, 0, 2, 5, 9, 1, 0, 4, 7, 0, 0, 1, 0, 0, 3.0])
    >>> from libpysal.weights import fill_diagonal
    >>> from transforms.hotspots import gi_star
    >>> n = grid_neighbours(r, c)
    >>> esda = gi_star(y, fill_diagonal(n.to_w(), 1.0))["gi_z"].to_numpy()
    >>> bool(np.array_equal(grid_gi_star(y, n)["gi_z"], esda))
    True
    """
    y = np.asarray(counts, dtype=float)
    n = len(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        lag = neighbours.adjacency @ y + y  # the cell itself counts (Gi*)
        cardinality = neighbours.cardinalities + 1.0
        mean = y.sum() / n
        variance = (y**2).sum() / n - mean**2
        # esda's order of operations, so the z-scores agree to the last bit
        spread = cardinality * (n - cardinality)
        spread /= n - 1
        spread *= 1 / n**2
        spread *= variance / (mean**2)
        z = (lag / y.sum() - cardinality / n) / np.sqrt(spread)
    return pd.DataFrame({"gi_z": z, "gi_p": 2.0 * norm.sf(np.abs(z))})


Locations = Callable[[str], tuple[np.ndarray, np.ndarray, np.ndarray]]


def grid_periods(
    periods: pd.DataFrame,
    locations: Locations,
    cells: pd.DataFrame,
    cell_size: float,
    measure: str = HEADLINE,
    alpha: float = ALPHA,
) -> Iterator[pd.DataFrame]:
    """`build.hotspot_grid`, one period at a time: counts, KDE and Gi* in every cell of `cells`.

    Parameters
    ----------
    periods : one row per period with `period`, `months` (distinct months with incidents) and
        `source` (the sources, comma-separated)
    locations : period -> (x, y, incidents) of each distinct location (EPSG:27700) that period
    cells : `study_cells` of the study area
    """
    neighbours = grid_neighbours(cells["row"], cells["col"])  # once for all periods
    squares = shapely.to_wkb(cell_squares(cells, cell_size))
    for period, months, source in periods[["period", "months", "source"]].itertuples(False):
        x, y, incidents = locations(period)
        counts, _ = count_in_cells(x, y, cells, cell_size, incidents)
        bandwidth = max(kde_bandwidth(x, y, incidents), cell_size)
        gi = grid_gi_star(counts, neighbours)
        frame = cells.assign(
            period=period,
            months=months,
            measure=measure,
            cell_size_m=cell_size,
            count=counts,
            kde=quartic_kde(x, y, cells["x"], cells["y"], bandwidth, incidents),
            kde_bandwidth_m=round(bandwidth, 1),
            gi_z=gi["gi_z"].to_numpy(),
            gi_p=gi["gi_p"].to_numpy(),
            method=GRID_METHOD,
            weights=GRID_WEIGHTS + ", cell included (Gi*)",
            alpha=alpha,
            source=source,
            geometry=squares,
        )
        frame["gi_q"] = fdr_bh(frame["gi_p"])
        frame["gi_bin"] = confidence_bins(frame["gi_z"], frame["gi_q"])
        frame["fdr"] = f"{FDR_METHOD} across the {len(cells)} cells of this period"
        for column in ("months", "row", "col", "count", "gi_bin"):
            frame[column] = frame[column].astype("int64")
        yield frame[GRID_COLUMNS]


PERIODS_SQL = """
    SELECT period, count(DISTINCT occurred_month) AS months,
           array_to_string(list_sort(list(DISTINCT CAST(source AS VARCHAR))), ',') AS source
    FROM {points} GROUP BY period ORDER BY period
"""
LOCATIONS_SQL = (  # ordered: the KDE and bandwidth sums then add up the same way every run
    "SELECT x, y, count(*) AS incidents FROM {points} WHERE period = ? GROUP BY x, y ORDER BY x, y"
)


def sql_locations(con: duckdb.DuckDBPyConnection, points: str) -> Locations:
    """Distinct locations of one period and their incident counts, aggregated in DuckDB: only
    these leave SQL, never one row per incident."""

    def locations(period: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        found = con.execute(LOCATIONS_SQL.format(points=points), [period]).fetchnumpy()
        return found["x"], found["y"], found["incidents"]

    return locations


def grid_hotspots(
    points: pd.DataFrame,
    area,
    cell_size: float | None = None,
    lsoa_areas_m2: Sequence[float] | None = None,
    measure: str = HEADLINE,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """`build.hotspot_grid` for incidents held in a frame: per period, counts, KDE and Gi* in
    every cell touching `area` (the pipeline's path, `grid_periods`, through DuckDB).

    Parameters
    ----------
    points : one row per incident with `period`, `occurred_month`, `x`, `y` (EPSG:27700) and
        `source`
    area : the study area polygon (EPSG:27700), e.g. the union of the LSOAs
    cell_size : metres; None applies `cell_size_rule` to the area and `lsoa_areas_m2`
    measure, alpha : recorded on every row
    """
    size = float(cell_size or cell_size_rule(area.bounds, lsoa_areas_m2))
    with duckdb.connect() as con:
        con.register("points", points.dropna(subset=["period"]))
        periods = con.execute(PERIODS_SQL.format(points="points")).df()
        frames = list(
            grid_periods(
                periods,
                sql_locations(con, "points"),
                study_cells([area], size),
                size,
                measure,
                alpha,
            )
        )
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in GRID_COLUMNS})
    return pd.concat(frames, ignore_index=True)


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
