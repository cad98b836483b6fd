"""Map drawing: classed choropleths with fixed breaks, insets chosen from the data, labels placed
off the data, hotspot bins, scale bars and north arrows.

Pure drawing on matplotlib Axes (no pyplot state); geometry in British National Grid metres.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import mapclassify
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.patches import Rectangle
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

BNG = "EPSG:27700"
CMAP = "YlOrRd"
NO_DATA_LABEL = "No data"
NO_DATA_COLOUR = "#d9d9d9"
NO_DATA_HATCH = "////"
SUPPRESSED_LABEL = "Suppressed (small number)"
SUPPRESSED_COLOUR = "#f2f2f2"
SUPPRESSED_HATCH = "...."
LSOA_EDGE = {"edgecolor": "#ffffff", "linewidth": 0.15}
WARD_LINE = {"color": "#7a7a7a", "linewidth": 0.35}
DISTRICT_LINE = {"color": "#1a1a1a", "linewidth": 0.9}
INSET_FRAME = "#1f3b73"
# Gi* bins after FDR: 3 = hot spot at 99%, ..., -3 = cold spot at 99% (ArcGIS colours).
HOTSPOT_BINS = {
    3: ("Hot spot, 99% confidence", "#d62f27"),
    2: ("Hot spot, 95% confidence", "#ed7551"),
    1: ("Hot spot, 90% confidence", "#fab984"),
    0: ("Not significant", "#f7f7f2"),
    -1: ("Cold spot, 90% confidence", "#c0ccbe"),
    -2: ("Cold spot, 95% confidence", "#849eba"),
    -3: ("Cold spot, 99% confidence", "#4575b5"),
}
_SAMPLE_ABOVE = 1000  # Fisher-Jenks is O(k n^2) in pure Python: above this, break on quantiles


@dataclass(frozen=True)
class Breaks:
    """Class breaks for a choropleth: `bins` are upper bounds (the last is open-ended above)."""

    scheme: str
    lower: float
    bins: tuple[float, ...]
    labels: tuple[str, ...]
    colours: tuple[str, ...]

    @property
    def k(self) -> int:
        return len(self.bins)

    def assign(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Class index of each value; -1 for missing or infinite (drawn as no data)."""
        v = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy()
        out = np.full(v.shape, -1, dtype=int)
        ok = np.isfinite(v)
        if self.k:
            out[ok] = np.minimum(np.searchsorted(np.asarray(self.bins), v[ok], "left"), self.k - 1)
        return out


@dataclass(frozen=True)
class RateClasses:
    """Breaks together with the class of each value they were applied to (-1 = no data)."""

    breaks: Breaks
    classes: np.ndarray = field(compare=False, repr=False)

    scheme = property(lambda self: self.breaks.scheme)
    lower = property(lambda self: self.breaks.lower)
    bins = property(lambda self: self.breaks.bins)
    labels = property(lambda self: self.breaks.labels)
    colours = property(lambda self: self.breaks.colours)
    k = property(lambda self: self.breaks.k)

    def counts(self) -> tuple[int, ...]:
        return tuple(int((self.classes == i).sum()) for i in range(self.k))

    @property
    def n_no_data(self) -> int:
        return int((self.classes == -1).sum())


def _decimals(edges: np.ndarray) -> int:
    """Fewest decimals (1-4; 2 for small values) that keep every class edge distinct in a label."""
    edges = np.unique(edges)
    start = 1 if np.nanmax(np.abs(edges)) >= 10 else 2
    for d in range(start, 5):
        if len({f"{e:.{d}f}" for e in edges}) == len(edges):
            return d
    return 4


def class_breaks(
    values: pd.Series | np.ndarray, *, scheme: str = "FisherJenks", k: int = 5, cmap: str = CMAP
) -> Breaks:
    """Breaks from a mapclassify scheme over `values` (pool every period of a run to fix them).

    Missing and infinite values are ignored. With fewer distinct values than `k` the number of
    classes shrinks; bins run from the minimum to the maximum. Above 1,000 values the scheme runs on
    1,001 evenly spaced quantiles, so Fisher-Jenks stays fast and deterministic.
    """
    v = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Breaks(scheme, math.nan, (), (), ())
    vmin, vmax = float(v.min()), float(v.max())
    k_eff = max(1, min(k, len(np.unique(v))))
    if k_eff == 1:
        bins = np.array([vmax])
    else:
        sample = (
            np.quantile(v, np.linspace(0, 1, _SAMPLE_ABOVE + 1)) if v.size > _SAMPLE_ABOVE else v
        )
        with warnings.catch_warnings():  # "Numba not installed": the pure-Python path is fine
            warnings.simplefilter("ignore", UserWarning)
            breaks = getattr(mapclassify, scheme)(sample, k=k_eff).bins
        bins = np.unique(np.asarray(breaks, dtype=float))
        bins = bins[bins >= vmin]
        bins[-1] = vmax
    edges = np.concatenate([[vmin], bins])
    d = _decimals(edges)
    ends = [f"{e:.{d}f}" for e in edges]
    labels = [  # a class holding one value (often 0.0) is labelled with that value alone
        ends[i + 1] if ends[i] == ends[i + 1] else f"{ends[i]} – {ends[i + 1]}"
        for i in range(len(bins))
    ]
    if len(bins) > 1 and ends[-2] != ends[-1]:
        labels[-1] = f"{ends[-2]} or more"  # values of later periods may pass the old maximum
    cm = mpl.colormaps[cmap]
    positions = np.linspace(0.12, 0.95, len(bins)) if len(bins) > 1 else [0.6]
    colours = tuple(mpl.colors.to_hex(cm(p)) for p in positions)
    return Breaks(scheme, vmin, tuple(float(b) for b in bins), tuple(labels), colours)


def classify_rates(
    rates: pd.Series | np.ndarray, *, scheme: str = "FisherJenks", k: int = 5, cmap: str = CMAP
) -> RateClasses:
    """Breaks drawn from `rates` and the class of each rate (-1 = no data)."""
    breaks = class_breaks(rates, scheme=scheme, k=k, cmap=cmap)
    return RateClasses(breaks, breaks.assign(rates))


def in_bng(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame in British National Grid metres (a frame without a CRS is taken to be in BNG)."""
    if gdf.crs is None:
        return gdf.set_crs(BNG)
    if gdf.crs.to_epsg() != 27700:
        return gdf.to_crs(BNG)
    return gdf


def _without_small_holes(geom, min_hole_m2: float):
    """The geometry with interior rings smaller than `min_hole_m2` filled in."""
    if geom is None or geom.is_empty:
        return geom
    polys = [
        shapely.Polygon(
            p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= min_hole_m2]
        )
        for p in shapely.get_parts(geom)
        if p.geom_type == "Polygon"
    ]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def dissolve_areas(
    lsoas: gpd.GeoDataFrame, level: str, *, min_hole_m2: float = 1000.0
) -> gpd.GeoDataFrame:
    """Outlines of wards or districts (`level`) by dissolving LSOA polygons on `<level>_code`.

    Generalised LSOA boundaries do not meet exactly, so a plain dissolve leaves thousands of
    sub-metre holes that draw as stray lines: holes under `min_hole_m2` are filled. Invalid input
    polygons are repaired first. Keeps `<level>_name` when given; LSOAs without a code are left out.
    """
    code, name = f"{level}_code", f"{level}_name"
    keep = [code] + ([name] if name in lsoas.columns else [])
    g = in_bng(lsoas)[[*keep, lsoas.geometry.name]]
    g = g[g.geometry.notna() & ~g.geometry.is_empty & g[code].notna()].copy()
    g[g.geometry.name] = g.geometry.make_valid()
    if g.empty:
        return gpd.GeoDataFrame({c: pd.Series(dtype="str") for c in keep}, geometry=[], crs=BNG)
    out = g.dissolve(by=keep, as_index=False, sort=True)
    out["geometry"] = [_without_small_holes(geom, min_hole_m2) for geom in out.geometry]
    return gpd.GeoDataFrame(out[[*keep, "geometry"]], geometry="geometry", crs=out.crs)


def dissolve_districts(lsoas: gpd.GeoDataFrame, *, min_hole_m2: float = 1000.0):
    """District outlines (see `dissolve_areas`)."""
    return dissolve_areas(lsoas, "district", min_hole_m2=min_hole_m2)


# --- framing, scale bar, north arrow -------------------------------------------------------------


def frame(ax, bounds: Sequence[float], pad: float = 0.03) -> None:
    """Show `bounds` (minx, miny, maxx, maxy) filling the axes box at equal scale."""
    minx, miny, maxx, maxy = bounds
    w, h = maxx - minx, maxy - miny
    minx, maxx = minx - w * pad - 1, maxx + w * pad + 1
    miny, maxy = miny - h * pad - 1, maxy + h * pad + 1
    box = ax.get_position(original=True)  # the box we asked for, not one shrunk to a drawn aspect
    box_w, box_h = box.width, box.height
    fw, fh = ax.figure.get_size_inches()
    aspect = (box_h * fh) / (box_w * fw)  # height / width of the axes on paper
    w, h = maxx - minx, maxy - miny
    if h / w < aspect:  # too wide for the box: grow vertically
        grow = (w * aspect - h) / 2
        miny, maxy = miny - grow, maxy + grow
    else:
        grow = (h / aspect - w) / 2
        minx, maxx = minx - grow, maxx + grow
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()


def metres_per_inch(ax) -> float:
    x0, x1 = ax.get_xlim()
    return (x1 - x0) / (ax.get_position(original=True).width * ax.figure.get_size_inches()[0])


def _nice_length(width_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^n metres) of at most a fifth of the map width."""
    target = max(width_m / 5, 1.0)
    base = 10 ** math.floor(math.log10(target))
    return max(m * base for m in (1, 2, 5) if m * base <= target)


def scale_bar(ax, *, loc: str = "lower left", fontsize: float = 7.5) -> AnchoredSizeBar:
    """A scale bar in kilometres (BNG units are metres), on a white backing inside the map."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    bar = AnchoredSizeBar(
        ax.transData,
        length,
        label,
        loc=loc,
        pad=0.3,
        borderpad=0.4,
        sep=2,
        frameon=True,
        size_vertical=(y1 - y0) * 0.006,
        fontproperties={"size": fontsize},
    )
    bar.patch.set(facecolor="white", edgecolor="none", alpha=0.85)
    ax.add_artist(bar)
    return bar


def quiet_corners(ax, footprint: shapely.Geometry | None) -> list[str]:
    """The map's corners, those covering the least of `footprint` (the mapped area) first."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = (x1 - x0) * 0.14, (y1 - y0) * 0.16
    boxes = {
        "upper right": shapely.box(x1 - w, y1 - h, x1, y1),
        "upper left": shapely.box(x0, y1 - h, x0 + w, y1),
        "lower left": shapely.box(x0, y0, x0 + w, y0 + h),
        "lower right": shapely.box(x1 - w, y0, x1, y0 + h),
    }
    if footprint is None:
        return list(boxes)
    return sorted(boxes, key=lambda k: round(footprint.intersection(boxes[k]).area / (w * h), 2))


def north_arrow(ax, corner: str = "upper right", size: float = 11) -> None:
    """A north arrow (BNG grid north) in a corner of the map."""
    x = 0.96 if corner.endswith("right") else 0.04
    y = 0.93 if corner.startswith("upper") else 0.18
    ax.annotate(
        "N",
        xy=(x, y),
        xytext=(x, y - 0.09),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=size,
        fontweight="bold",
        arrowprops={"facecolor": "black", "edgecolor": "black", "width": 2.5, "headwidth": 8},
        gid="north_arrow",
    )


# --- drawing layers ------------------------------------------------------------------------------


def draw_classes(
    ax,
    lsoas: gpd.GeoDataFrame,
    classes: np.ndarray,
    colours: Sequence[str],
    *,
    suppressed: np.ndarray | None = None,
    gid_prefix: str = "class",
) -> None:
    """LSOAs filled by class (gid "<prefix>_<i>"), suppressed ones dotted ("suppressed") and those
    with no value grey and hatched ("no_data"): a missing rate is never the lowest class."""
    suppressed = np.zeros(len(lsoas), bool) if suppressed is None else np.asarray(suppressed, bool)
    for i, colour in enumerate(colours):
        part = lsoas[(classes == i) & ~suppressed]
        if len(part):
            part.plot(ax=ax, color=colour, gid=f"{gid_prefix}_{i}", **LSOA_EDGE)
    hidden = lsoas[suppressed]
    if len(hidden):
        hidden.plot(
            ax=ax,
            facecolor=SUPPRESSED_COLOUR,
            edgecolor="#b0b0b0",
            hatch=SUPPRESSED_HATCH,
            linewidth=0.15,
            gid="suppressed",
        )
    nodata = lsoas[(classes == -1) & ~suppressed]
    if len(nodata):
        nodata.plot(
            ax=ax,
            facecolor=NO_DATA_COLOUR,
            edgecolor="#9a9a9a",
            hatch=NO_DATA_HATCH,
            linewidth=0.15,
            gid="no_data",
        )


def draw_outlines(ax, wards: gpd.GeoDataFrame | None, districts: gpd.GeoDataFrame | None) -> None:
    if wards is not None and len(wards):
        wards.boundary.plot(ax=ax, gid="wards", **WARD_LINE)
    if districts is not None and len(districts):
        districts.boundary.plot(ax=ax, gid="districts", **DISTRICT_LINE)


# --- insets chosen from the data -----------------------------------------------------------------


@dataclass(frozen=True)
class Inset:
    """An enlarged view of a dense cluster of high-rate LSOAs."""

    number: int
    title: str
    bounds: tuple[float, float, float, float]
    lsoa_codes: tuple[str, ...]


def choose_insets(
    lsoas: gpd.GeoDataFrame,
    rates: pd.Series,
    *,
    map_m_per_inch: float,
    max_insets: int = 3,
    high_share: float = 0.2,
    speck_mm: float = 6.0,
    min_members: int = 2,
    min_width_m: float = 3000.0,
) -> list[Inset]:
    """Insets for the densest clusters of high-rate LSOAs that would be specks on the main map.

    High-rate LSOAs are the top `high_share` by rate. Those within 250 m of each other form
    clusters; a cluster qualifies when it holds at least `min_members` LSOAs whose median width on
    the main map (at `map_m_per_inch`) is under `speck_mm`. Clusters are ranked by the number of
    high-rate LSOAs they hold (then their mean rate) and the best `max_insets` are kept, merging
    clusters whose extents overlap. Titles name the district and the wards of the highest rates.
    """
    g = in_bng(lsoas).reset_index(drop=True)
    r = pd.to_numeric(pd.Series(rates).reset_index(drop=True), errors="coerce").astype("float64")
    ok = r.notna().to_numpy()
    if ok.sum() < 5:
        return []
    threshold = float(np.nanquantile(r[ok], 1 - high_share))
    high = np.flatnonzero(ok & (r.to_numpy() >= threshold) & (r.to_numpy() > 0))
    if len(high) < min_members:
        return []
    geoms = g.geometry.to_numpy()[high]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=250.0)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(len(high), len(high)))
    _, label = connected_components(graph, directed=False)
    width_mm = np.sqrt(g.geometry.area.to_numpy()) / map_m_per_inch * 25.4
    clusters = []
    for c in np.unique(label):
        members = high[label == c]
        if len(members) < min_members or np.median(width_mm[members]) >= speck_mm:
            continue
        clusters.append((len(members), float(r.iloc[members].mean()), members))
    clusters.sort(key=lambda t: (-t[0], -t[1]))
    chosen: list[tuple[tuple[float, ...], np.ndarray]] = []
    for _, _, members in clusters:
        bounds = _inset_bounds(g.geometry.iloc[members].total_bounds, min_width_m)
        merged = False
        for i, (b, m) in enumerate(chosen):
            if shapely.box(*b).intersects(shapely.box(*bounds)):
                both = np.r_[m, members]
                chosen[i] = (_inset_bounds(g.geometry.iloc[both].total_bounds, min_width_m), both)
                merged = True
                break
        if not merged and len(chosen) < max_insets:
            chosen.append((bounds, members))
    insets = []
    for number, (bounds, members) in enumerate(chosen, start=1):
        insets.append(
            Inset(
                number=number,
                title=_inset_title(g.iloc[members], r.iloc[members]),
                bounds=tuple(float(b) for b in bounds),
                lsoa_codes=tuple(g["lsoa_code"].iloc[members].astype(str)),
            )
        )
    return insets


def _inset_bounds(total: np.ndarray, min_width_m: float) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = total
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = max(maxx - minx, maxy - miny, min_width_m) * 0.6
    return (cx - half, cy - half, cx + half, cy + half)


def _inset_title(members: gpd.GeoDataFrame, rates: pd.Series) -> str:
    """'<district>: <ward>, <ward>' from the members with the highest rates."""
    order = np.argsort(-rates.to_numpy(dtype=float))
    district = (
        members["district_name"].mode().iloc[0]
        if "district_name" in members and members["district_name"].notna().any()
        else ""
    )
    wards: list[str] = []
    if "ward_name" in members:
        for name in members["ward_name"].iloc[order]:
            if isinstance(name, str) and name and name not in wards:
                wards.append(name)
            if len(wards) == 2:
                break
    place = ", ".join(wards)
    return f"{district}: {place}" if district and place else (district or place or "Inset")


def draw_inset_frames(ax, insets: Sequence[Inset], *, fontsize: float = 9) -> None:
    """Each inset's extent as a framed rectangle on the main map, numbered at its top-left."""
    for inset in insets:
        minx, miny, maxx, maxy = inset.bounds
        ax.add_patch(
            Rectangle(
                (minx, miny),
                maxx - minx,
                maxy - miny,
                fill=False,
                edgecolor=INSET_FRAME,
                linewidth=1.1,
                gid=f"inset_frame_{inset.number}",
            )
        )
        ax.text(
            minx,
            maxy,
            str(inset.number),
            ha="right",
            va="bottom",
            fontsize=fontsize,
            fontweight="bold",
            color="white",
            bbox={"boxstyle": "square,pad=0.2", "fc": INSET_FRAME, "ec": "none"},
        )


# --- labels that stay off the data ---------------------------------------------------------------


def place_labels(
    ax,
    areas: gpd.GeoDataFrame,
    names: Sequence[str],
    obstacles: shapely.Geometry | None,
    *,
    avoid: Sequence[shapely.Geometry] = (),
    shown_in: Sequence[shapely.Geometry] = (),
    fontsize: float = 8.0,
    candidates_per_area: int = 60,
    max_cover: float = 1.0,
) -> list[tuple[str, float, float]]:
    """Put each area's name where it covers the least data, inside or near its area.

    Candidates are points spread over each area; each label's box (estimated from the text length)
    is scored by how much of `obstacles` (e.g. LSOAs above the lowest class) it covers, whether it
    touches `avoid` boxes (inset frames) or labels already placed, and how far it strays outside
    its area. An area whose best spot still covers more than `max_cover` of its box with
    obstacles, or lies mostly inside a `shown_in` extent (an inset shows and names it), is not
    labelled. Returns
    (name, x, y) of what was drawn (bold text on a white halo).
    """
    m_per_in = metres_per_inch(ax)
    height = fontsize / 72 * m_per_in * 1.3
    placed: list[shapely.Geometry] = list(avoid)
    shown = shapely.union_all(list(shown_in)) if len(shown_in) else None
    drawn = []
    order = np.argsort(-in_bng(areas).area.to_numpy())  # big areas have the most room: place last
    rng = np.random.default_rng(0)
    for i in order[::-1]:
        geom, name = areas.geometry.iloc[i], str(names[i])
        if shown is not None and geom.intersection(shown).area > 0.5 * geom.area:
            continue  # mostly inside an inset, which names it
        width = len(name) * fontsize * 0.62 / 72 * m_per_in
        pts = _candidate_points(geom, candidates_per_area, rng)
        boxes = shapely.box(pts[:, 0] - width / 2, pts[:, 1] - height / 2,
                            pts[:, 0] + width / 2, pts[:, 1] + height / 2)  # fmt: skip
        area = width * height
        cover = shapely.area(shapely.intersection(boxes, obstacles)) / area if obstacles else 0
        outside = 1 - shapely.area(shapely.intersection(boxes, geom)) / area
        clash = np.zeros(len(boxes))
        for other in placed:
            clash += shapely.intersects(boxes, other)
        centre = geom.representative_point()
        dist = shapely.distance(shapely.points(pts), centre) / max(math.sqrt(geom.area), 1.0)
        score = 100 * cover + 1000 * clash + 20 * outside + dist
        best = int(np.argmin(score))
        if np.ndim(cover) and cover[best] > max_cover:
            continue
        x, y = pts[best]
        placed.append(boxes[best])
        halo = [patheffects.withStroke(linewidth=2.6, foreground="white")]
        ax.text(x, y, name, ha="center", va="center", fontsize=fontsize, fontweight="bold",
                color="#111111", path_effects=halo, gid="area_label", zorder=5)  # fmt: skip
        drawn.append((name, float(x), float(y)))
    return drawn


def _candidate_points(geom, n: int, rng: np.random.Generator) -> np.ndarray:
    """The representative point plus points spread over the polygon (seeded, so reruns agree)."""
    minx, miny, maxx, maxy = geom.bounds
    pts = rng.uniform((minx, miny), (maxx, maxy), size=(n * 4, 2))
    inside = shapely.contains_xy(geom, pts[:, 0], pts[:, 1])
    rep = geom.representative_point()
    return np.vstack([[rep.x, rep.y], pts[inside][:n]])
