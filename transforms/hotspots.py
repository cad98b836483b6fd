"""Area hotspots: Getis-Ord Gi* and Local Moran's I on LSOA and ward values, with FDR bins.

Gi* is computed as ArcGIS Pro's Hot Spot Analysis computes it: binary weights with the focal area
included (`esda.G_Local(y, w, transform="B", star=True)`) and a two-sided p-value from the
z-score; no permutations are needed for it. esda 2.9's permutation p-value (`p_sim`) is the
"directed" one, half a two-sided p-value, so it is never used as it comes: Local Moran's
`lisa_p` doubles it (esda's own note on `calculate_significance`) into a two-sided pseudo
p-value. Multiple testing is corrected with Benjamini-Hochberg across the areas of one analysis
(one area level, period, measure and value), and Gi* confidence bins follow ArcGIS's `Gi_Bin`:
+/-3, 2, 1 where the FDR-adjusted p-value is at most 0.01, 0.05 and 0.10.

Neighbours are Queen contiguity: two areas are neighbours when their boundaries touch or overlap.
It is computed from the geometry with a small tolerance, not from shared vertices: published
generalised LSOA 2011 GeoJSON (ONS via UK-GeoJSON) has neighbouring polygons that overlap
slightly and share no vertex, so libpysal's vertex-based Queen (and its "strict" touches test)
finds no neighbour at all there. Islands (areas with no neighbour) are joined to their nearest
area, both ways, so every area has a neighbourhood.

What Gi* finds, and what it does not: Gi* tests whether an area *and its neighbours together*
are higher than the county, so it finds clusters (a city centre of several LSOAs), and the
neighbours of a very high area can be hot through it. A single very high LSOA surrounded by
ordinary ones (a small town centre) has a Gi* z near 0; Local Moran's I calls it a high-low
outlier when significant, and the point grid (`transforms.grid`) finds it at a finer scale.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import esda
import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.stats import false_discovery_control, norm

HEADLINE = "all_serious_violence"
VALUE_TYPES: tuple[str, ...] = ("rate_per_1000", "count")
ALPHA = 0.05
DEFAULT_PERMUTATIONS = 9999
DEFAULT_SEED = 20240401
CONTIGUITY_TOLERANCE_M = 1.0
BIN_LEVELS: tuple[tuple[float, int], ...] = ((0.01, 3), (0.05, 2), (0.10, 1))
QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
NOT_SIGNIFICANT = "not significant"
GI_METHOD = (
    "Getis-Ord Gi* (esda.G_Local, transform='B', star=True; two-sided p from z as ArcGIS);"
    " Local Moran's I (esda.Moran_Local, row-standardised, conditional permutations)"
)
FDR_METHOD = "Benjamini-Hochberg"
HOTSPOT_COLUMNS = [
    "area_level",
    "area_code",
    "area_name",
    "period",
    "months",
    "measure",
    "value_type",
    "value",
    "neighbours",
    "gi_z",
    "gi_p",
    "gi_q",
    "gi_bin",
    "lisa_i",
    "lisa_p",
    "lisa_q",
    "lisa_quadrant",
    "method",
    "weights",
    "permutations",
    "seed",
    "alpha",
    "fdr",
    "source",
    "definition_id",
]


# ---------------------------------------------------------------------------------------------
# Neighbours
# ---------------------------------------------------------------------------------------------
@contextmanager
def quiet_weights() -> Iterator[None]:
    """Silence libpysal/esda notices this module handles itself: disconnected components and
    islands (joined, or a grid cell that is its own Gi* neighbourhood) and esda 2.9's notice that
    its default permutation p-value will change (we make it two-sided ourselves)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The weights matrix is not fully connected")
        warnings.filterwarnings("ignore", message=".*island", category=UserWarning)
        warnings.filterwarnings("ignore", message="The alternative hypothesis for conditional")
        yield


@dataclass(frozen=True)
class Neighbours:
    """Symmetric binary adjacency between areas (zero diagonal), in the order of `ids`."""

    ids: tuple[str, ...]
    adjacency: sparse.csr_matrix
    islands_joined: tuple[str, ...] = ()
    rule: str = ""

    @property
    def cardinalities(self) -> np.ndarray:
        return np.asarray(self.adjacency.sum(axis=1)).ravel().astype(int)

    def describe(self) -> str:
        """The weights as a row of `build.hotspots` records them."""
        joined = len(self.islands_joined)
        return f"{self.rule}; {joined} island(s) joined to their nearest area" + (
            f" ({', '.join(self.islands_joined[:5])}{', ...' if joined > 5 else ''})"
            if joined
            else ""
        )

    def to_w(self) -> libpysal.weights.W:
        """A libpysal W with binary weights (esda transforms it as each statistic needs)."""
        with quiet_weights():
            w = libpysal.weights.WSP(self.adjacency.astype(float), id_order=list(self.ids)).to_W(
                silence_warnings=True
            )
            w.transform = "B"
        return w


def contiguity(
    geometries: Sequence, ids: Sequence[str], tolerance_m: float = CONTIGUITY_TOLERANCE_M
) -> Neighbours:
    """Queen contiguity from geometry: areas whose boundaries come within `tolerance_m` metres.

    Parameters
    ----------
    geometries : sequence of shapely polygons in a metric CRS (EPSG:27700)
    ids : area codes, in the same order
    tolerance_m : float
        Distance under which two boundaries count as touching (default 1 m). On exact-topology
        boundaries (Norfolk's ONS BSC 2021) this gives libpysal's vertex Queen neighbours;
        generalised boundaries whose neighbours overlap or leave sub-metre slivers need it.

    Examples
    --------
    Four unit squares, two by two: each touches the other three (corners count).

    >>> from shapely import box
    >>> squares = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2), box(1, 1, 2, 2)]
    >>> contiguity(squares, ["a", "b", "c", "d"]).cardinalities.tolist()
    [3, 3, 3, 3]
    """
    geoms = np.asarray(list(geometries), dtype=object)
    n = len(geoms)
    if n != len(ids):
        raise ValueError(f"{n} geometries but {len(ids)} ids")
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    keep = left != right
    adjacency = sparse.coo_matrix(
        (np.ones(int(keep.sum())), (left[keep], right[keep])), shape=(n, n)
    ).tocsr()
    adjacency = ((adjacency + adjacency.T) > 0).astype(float).tocsr()
    rule = f"queen contiguity (boundaries within {tolerance_m:g} m), binary"
    return join_islands(Neighbours(tuple(ids), adjacency, (), rule), geoms)


def join_islands(neighbours: Neighbours, geometries: Sequence) -> Neighbours:
    """Link every area without a neighbour to its nearest area (polygon distance), both ways."""
    card = neighbours.cardinalities
    islands = np.flatnonzero(card == 0)
    n = len(card)
    if not len(islands) or n < 2:
        return neighbours
    geoms = np.asarray(list(geometries), dtype=object)
    tree = shapely.STRtree(geoms)
    adjacency = neighbours.adjacency.tolil()
    for i in islands:
        nearest = [int(j) for j in tree.query_nearest(geoms[i], exclusive=True) if j != i]
        j = nearest[0] if nearest else (i + 1) % n  # an identical twin polygon: any other area
        adjacency[i, j] = adjacency[j, i] = 1.0
    joined = tuple(neighbours.ids[i] for i in islands)
    return Neighbours(neighbours.ids, adjacency.tocsr(), joined, neighbours.rule)


def area_geometries(areas: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """One polygon per area of a level: LSOAs as they are, wards as the union of their LSOAs."""
    if level == "lsoa":
        out = areas[["lsoa_code", "geometry"]].rename(columns={"lsoa_code": "area_code"})
    else:
        code = f"{level}_code"
        placed = areas.dropna(subset=[code])
        unions = placed.groupby(code)["geometry"].agg(lambda g: shapely.union_all(g.values))
        out = gpd.GeoDataFrame(
            {"area_code": unions.index.astype(str), "geometry": unions.to_numpy()},
            geometry="geometry",
            crs=areas.crs,
        )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=areas.crs).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------
def fdr_bh(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); missing p-values stay missing.

    Examples
    --------
    The same values as R's ``p.adjust(p, "BH")`` and statsmodels'
    ``multipletests(p, method="fdr_bh")``:

    >>> fdr_bh([0.01, 0.04, 0.03, 0.005, 0.5]).round(4).tolist()
    [0.025, 0.05, 0.05, 0.025, 0.5]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = false_discovery_control(p[ok], method="bh")
    return out


def confidence_bins(z, q) -> np.ndarray:
    """ArcGIS `Gi_Bin`: sign(z) * 3, 2 or 1 where q <= 0.01, 0.05, 0.10; 0 otherwise (or missing).

    Examples
    --------
    >>> confidence_bins([3.1, -2.2, 1.7, 0.4], [0.004, 0.03, 0.08, 0.7]).tolist()
    [3, -2, 1, 0]
    """
    z = np.asarray(z, dtype=float)
    q = np.asarray(q, dtype=float)
    level = np.zeros(z.shape, dtype=int)
    for threshold, value in reversed(BIN_LEVELS):
        level[np.isfinite(q) & (q <= threshold)] = value
    return (np.sign(np.nan_to_num(z)) * level).astype(int)


def two_sided_from_directed(p_sim) -> np.ndarray:
    """esda's directed permutation p-value (one tail, chosen by the data) made two-sided."""
    return np.minimum(1.0, 2.0 * np.asarray(p_sim, dtype=float))


def gi_star(y, w: libpysal.weights.W) -> pd.DataFrame:
    """Getis-Ord Gi* z-scores and two-sided p-values, as ArcGIS Hot Spot Analysis gives them.

    Parameters
    ----------
    y : array of n values (rates or counts), no missing values
    w : binary spatial weights; the focal area is added with weight 1 (unless `w` already has
        self-weights, as a precomputed `libpysal.weights.fill_diagonal(w, 1)` has)

    Returns
    -------
    DataFrame with `gi_z` and `gi_p` (two-sided, from z: 2 * (1 - Phi(|z|))).

    Examples
    --------
    esda's published example (`esda.getisord.G_Local` docstring and tests: six points,
    distance band 15, binary weights, star):

    >>> from libpysal.weights import DistanceBand
    >>> points = [(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)]
    >>> w = DistanceBand(points, threshold=15, silence_warnings=True)
    >>> gi_star([2, 3, 3.2, 5, 8, 7], w)["gi_z"].round(8).tolist()
    [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331]
    """
    y = np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"), quiet_weights():
        # an area whose neighbourhood is every area has no Gi* (zero variance): z is missing
        g = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    z = np.asarray(g.Zs, dtype=float)
    return pd.DataFrame({"gi_z": z, "gi_p": 2.0 * norm.sf(np.abs(z))})


def local_moran(
    y,
    w: libpysal.weights.W,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = DEFAULT_SEED,
) -> pd.DataFrame:
    """Local Moran's I with row-standardised weights: statistic, quadrant and two-sided pseudo p.

    The quadrant says where the area and its neighbours' average sit against the mean: HH (high
    among high: part of a hot cluster), LL, HL (a high outlier among low neighbours) and LH.
    """
    y = np.asarray(y, dtype=float)
    with quiet_weights():  # esda's directed p is doubled below
        lm = esda.Moran_Local(
            y,
            w,
            transformation="r",
            permutations=permutations,
            seed=seed,
            n_jobs=1,
            keep_simulations=False,
        )
    return pd.DataFrame(
        {
            "lisa_i": np.asarray(lm.Is, dtype=float),
            "lisa_quadrant": [QUADRANTS.get(int(q), NOT_SIGNIFICANT) for q in lm.q],
            # no permutations, no pseudo p-value: every quadrant then reads "not significant"
            "lisa_p": two_sided_from_directed(lm.p_sim) if permutations else np.nan,
        }
    )


def hotspot_statistics(
    values,
    neighbours: Neighbours,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = DEFAULT_SEED,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Gi* and Local Moran for one set of areas, with BH q-values, Gi* bins and LISA labels."""
    y = np.asarray(values, dtype=float)
    gi = gi_star(y, neighbours.to_w())
    lisa = local_moran(y, neighbours.to_w(), permutations, seed)
    out = pd.concat([gi, lisa], axis=1)
    out["gi_q"] = fdr_bh(out["gi_p"])
    out["gi_bin"] = confidence_bins(out["gi_z"], out["gi_q"])
    out["lisa_q"] = fdr_bh(out["lisa_p"])
    out.loc[~(out["lisa_q"] <= alpha), "lisa_quadrant"] = NOT_SIGNIFICANT
    out["neighbours"] = neighbours.cardinalities
    return out


# ---------------------------------------------------------------------------------------------
# The mart
# ---------------------------------------------------------------------------------------------
def area_hotspots(
    rates: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    measures: Sequence[str] = (HEADLINE,),
    area_levels: Sequence[str] = ("lsoa", "ward"),
    value_types: Sequence[str] = VALUE_TYPES,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """`build.hotspots`: Gi* and LISA for every area level, period, measure and value type.

    Parameters
    ----------
    rates : rows of `build.sv_rates` (one source)
    areas : `ref.lsoa` as a GeoDataFrame (EPSG:27700) with ward and district codes
    measures, area_levels, value_types : what to analyse (value types: rate_per_1000, count)
    permutations, seed : Local Moran's conditional permutations, and their seed
    alpha : significance for the LISA quadrant labels (FDR-adjusted); Gi* bins are fixed at
        90/95/99% as ArcGIS's

    Every area of `rates` gets a row for every analysis; an area whose value is missing (no
    population, so no rate) keeps its row with empty statistics and is left out of the
    neighbours, which are rebuilt without it.
    """
    frames = []
    for level in area_levels:
        level_rates = rates[(rates["area_level"] == level) & rates["measure"].isin(measures)]
        if level_rates.empty:
            continue
        shapes = area_geometries(areas, level).set_index("area_code")
        cache: dict[tuple[str, ...], Neighbours] = {}  # the same areas give the same neighbours
        for (period, measure), group in level_rates.groupby(["period", "measure"], sort=True):
            group = group[group["area_code"].isin(shapes.index)].sort_values("area_code")
            for value_type in value_types:
                frame = _one_analysis(group, shapes, value_type, permutations, seed, alpha, cache)
                frames.append(frame.assign(area_level=level, period=period, measure=measure))
    if not frames:
        return _typed(pd.DataFrame(columns=HOTSPOT_COLUMNS))
    table = pd.concat(frames, ignore_index=True)
    table["method"] = GI_METHOD
    table["permutations"] = permutations
    table["seed"] = seed
    table["alpha"] = alpha
    return _typed(table)


def _one_analysis(
    group: pd.DataFrame,
    shapes: gpd.GeoDataFrame,
    value_type: str,
    permutations: int,
    seed: int,
    alpha: float,
    cache: dict[tuple[str, ...], Neighbours],
) -> pd.DataFrame:
    values = pd.to_numeric(group[value_type], errors="coerce").astype(float).to_numpy()
    ok = np.isfinite(values)
    out = pd.DataFrame(
        {
            "area_code": group["area_code"].to_numpy(),
            "area_name": group["area_name"].to_numpy(),
            "months": group["months"].to_numpy(),
            "value_type": value_type,
            "value": values,
            "source": group["source"].to_numpy(),
            "definition_id": group["definition_id"].to_numpy(),
        }
    )
    if ok.sum() < 3:
        out["weights"] = "not computed: fewer than 3 areas with a value"
        out["fdr"] = FDR_METHOD
        return out
    codes = tuple(out.loc[ok, "area_code"])
    if codes not in cache:
        cache[codes] = contiguity(shapes.loc[list(codes), "geometry"].to_numpy(), codes)
    neighbours = cache[codes]
    stats = hotspot_statistics(values[ok], neighbours, permutations, seed, alpha)
    stats.index = np.flatnonzero(ok)
    out = out.join(stats)
    out["weights"] = neighbours.describe()
    out["fdr"] = f"{FDR_METHOD} across the {int(ok.sum())} areas of this period, measure and value"
    return out


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    table = table.reindex(columns=HOTSPOT_COLUMNS)
    floats = ["value", "gi_z", "gi_p", "gi_q", "lisa_i", "lisa_p", "lisa_q", "alpha"]
    ints = ["months", "neighbours", "gi_bin", "permutations", "seed"]
    for column in floats:
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("Float64")
    for column in ints:
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("Int64")
    for column in set(HOTSPOT_COLUMNS) - set(floats) - set(ints):
        table[column] = table[column].astype("str")
    order = {"lsoa": 0, "ward": 1}
    table = table.sort_values(
        ["area_level", "period", "measure", "value_type", "area_code"],
        key=lambda s: s.map(order) if s.name == "area_level" else s,
        kind="stable",
    )
    return table.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# For the map pack and the notebook
# ---------------------------------------------------------------------------------------------
def latest_period(con: duckdb.DuckDBPyConnection, table: str, measure: str) -> str | None:
    """The latest period of a table for a measure, preferring full years (months >= 12)."""
    row = con.execute(
        f"SELECT period FROM {table} WHERE measure = ? ORDER BY (months >= 12) DESC NULLS LAST,"
        " period DESC LIMIT 1",
        [measure],
    ).fetchone()
    return row[0] if row else None


def hotspot_layer(
    con: duckdb.DuckDBPyConnection,
    period: str | None = None,
    measure: str = HEADLINE,
    value_type: str = "rate_per_1000",
    area_level: str = "lsoa",
    schema: str = "marts",
) -> gpd.GeoDataFrame:
    """One map layer of area hotspots: every area's Gi* bin and LISA label with its polygon.

    `period` defaults to the latest full year. LSOA polygons come from `ref.lsoa`; ward polygons
    are the union of their LSOAs. Ready for `GeoDataFrame.plot(column="gi_bin")` or a GeoPackage.
    """
    table = f"{schema}.hotspots"
    period = period or latest_period(con, table, measure)
    rows = con.execute(
        f"SELECT * FROM {table} WHERE period = ? AND measure = ? AND value_type = ?"
        " AND area_level = ?",
        [period, measure, value_type, area_level],
    ).df()
    return with_shapes(con, rows, area_level)


def with_shapes(
    con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, area_level: str
) -> gpd.GeoDataFrame:
    """Rows keyed by `area_code` with their polygons: LSOAs from `ref.lsoa`, wards as the union
    of their LSOAs (EPSG:27700)."""
    lsoas = con.execute("SELECT * FROM ref.lsoa").df()
    geometry = gpd.GeoSeries.from_wkb(lsoas.pop("geometry").map(bytes), crs="EPSG:27700")
    shapes = area_geometries(gpd.GeoDataFrame(lsoas, geometry=geometry), area_level)
    layer = shapes.merge(rows, on="area_code", how="inner")
    return gpd.GeoDataFrame(layer, geometry="geometry", crs="EPSG:27700")
