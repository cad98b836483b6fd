"""County choropleth of serious-violence rates and its district table, as a multi-page A4 PDF.

Pure drawing: GeoDataFrames and DataFrames in, a PDF (or matplotlib Figures) out. No pyplot state
is used (figures are plain `matplotlib.figure.Figure`s), so this is safe in a pipeline process.
Every page carries the definition id and hash, the source line and the licence attributions; when
the numbers come from the data.police.uk proxy, every page also carries a visible proxy banner.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import mapclassify
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.table import Table
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from outputs.tables import atomic_path

BNG = "EPSG:27700"
A4_LANDSCAPE = (11.69, 8.27)  # inches
PROXY_BANNER = (
    "Proxy: data.police.uk open data (Violence and sexual offences + Robbery + Possession of "
    "weapons); not the local definition"
)
OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0"
)
OS_ATTRIBUTION = "Contains OS data © Crown copyright and database right"
NO_DATA_LABEL = "No data"
NO_DATA_COLOUR = "#d9d9d9"
NO_DATA_HATCH = "////"
CMAP = "YlOrRd"
DISTRICT_TABLE_COLUMNS = [
    "district_name",
    "count",
    "population",
    "rate_per_1000",
    "ci_lower",
    "ci_upper",
    "vs_county",
]
VS_COLOURS = {"higher": "#f4a582", "lower": "#92c5de", "similar": "#ffffff"}
ROWS_PER_TABLE_PAGE = 20
TABLE_WIDTHS = (0.28, 0.12, 0.18, 0.18, 0.11, 0.13)
_SAMPLE_ABOVE = 1000  # Fisher-Jenks is O(k n^2) (pure Python here): above this, break on quantiles


@dataclass(frozen=True)
class PageMeta:
    """What every page must say: which numbers these are and where they came from."""

    title: str
    period: str
    definition_id: str
    definition_hash: str
    source_note: str
    is_proxy: bool
    run_id: str = ""  # the pipeline run that made the page

    @property
    def short_hash(self) -> str:
        return (self.definition_hash or "")[:12]


@dataclass(frozen=True)
class RateClasses:
    """A classification of rates for a choropleth.

    `bins` are the classes' upper bounds (ascending; the last is the maximum), `lower` the minimum,
    `classes` the class index of each input value (-1 = no data: missing or not finite).
    """

    scheme: str
    lower: float
    bins: tuple[float, ...]
    labels: tuple[str, ...]
    colours: tuple[str, ...]
    classes: np.ndarray = field(compare=False, repr=False)

    @property
    def k(self) -> int:
        return len(self.bins)

    def counts(self) -> tuple[int, ...]:
        """Number of areas in each class (no-data areas excluded)."""
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


def classify_rates(
    rates: pd.Series | np.ndarray, *, scheme: str = "FisherJenks", k: int = 5, cmap: str = CMAP
) -> RateClasses:
    """Class rates for a choropleth with a mapclassify scheme (any class name, e.g. "Quantiles").

    Missing/infinite rates go to the no-data class (-1). With fewer distinct values than `k` the
    number of classes shrinks; bins always run from the minimum to the maximum. Large inputs
    (> 1,000 values) are broken on 1,001 evenly spaced quantiles so Fisher-Jenks stays fast and
    deterministic.
    """
    values = pd.to_numeric(pd.Series(rates), errors="coerce").astype("float64").to_numpy()
    finite = np.isfinite(values)
    classes = np.full(values.shape, -1, dtype=int)
    v = values[finite]
    if v.size == 0:
        return RateClasses(scheme, math.nan, (), (), (), classes)
    vmin, vmax = float(v.min()), float(v.max())
    k_eff = max(1, min(k, len(np.unique(v))))
    if k_eff == 1:
        bins = np.array([vmax])
    else:
        sample = (
            np.quantile(v, np.linspace(0, 1, _SAMPLE_ABOVE + 1)) if v.size > _SAMPLE_ABOVE else v
        )
        with warnings.catch_warnings():  # "Numba not installed": the pure-Python path is fine here
            warnings.simplefilter("ignore", UserWarning)
            breaks = getattr(mapclassify, scheme)(sample, k=k_eff).bins
        bins = np.unique(np.asarray(breaks, dtype=float))
        bins = bins[bins >= vmin]
        bins[-1] = vmax  # cover the maximum exactly, whatever the scheme did
    classes[finite] = np.minimum(np.searchsorted(bins, v, side="left"), len(bins) - 1)
    edges = np.concatenate([[vmin], bins])
    d = _decimals(edges)
    ends = [f"{e:.{d}f}" for e in edges]
    labels = tuple(  # a class holding one value (often 0.0) is labelled with that value alone
        ends[i + 1] if ends[i] == ends[i + 1] else f"{ends[i]} – {ends[i + 1]}"
        for i in range(len(bins))
    )
    cm = mpl.colormaps[cmap]
    positions = np.linspace(0.12, 0.95, len(bins)) if len(bins) > 1 else [0.6]
    colours = tuple(mpl.colors.to_hex(cm(p)) for p in positions)
    return RateClasses(scheme, vmin, tuple(float(b) for b in bins), labels, colours, classes)


def _in_bng(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
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


def dissolve_districts(lsoas: gpd.GeoDataFrame, *, min_hole_m2: float = 1000.0) -> gpd.GeoDataFrame:
    """District outlines by dissolving LSOA polygons on district_code (keeps district_name if given).

    Generalised LSOA boundaries do not meet exactly, so a plain dissolve leaves thousands of
    sub-metre holes that draw as stray lines inside a district: holes under `min_hole_m2` are
    filled. Invalid input polygons are repaired first.
    """
    keep = ["district_code"] + (["district_name"] if "district_name" in lsoas.columns else [])
    g = _in_bng(lsoas)[[*keep, lsoas.geometry.name]]
    g = g[g.geometry.notna() & ~g.geometry.is_empty].copy()
    g[g.geometry.name] = g.geometry.make_valid()
    out = g.dissolve(by=keep, as_index=False, sort=True)
    out["geometry"] = [_without_small_holes(geom, min_hole_m2) for geom in out.geometry]
    return gpd.GeoDataFrame(out[[*keep, "geometry"]], geometry="geometry", crs=out.crs)


def _wrap(text: str, width: int = 190) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else ""


def _header(fig: Figure, meta: PageMeta, subtitle: str) -> None:
    """Proxy banner (when proxy), title and subtitle at the top of a page."""
    if meta.is_proxy:
        fig.text(
            0.5,
            0.975,
            PROXY_BANNER,
            ha="center",
            va="top",
            fontsize=10,
            fontweight="bold",
            color="#7f0000",
            bbox={"boxstyle": "square,pad=0.5", "fc": "#ffe0c2", "ec": "#c0392b", "lw": 1.2},
            gid="proxy_banner",
        )
    fig.text(0.04, 0.925, meta.title, ha="left", va="top", fontsize=16, fontweight="bold")
    fig.text(0.04, 0.885, subtitle, ha="left", va="top", fontsize=11, color="#333333")


def _footer(fig: Figure, meta: PageMeta, page: int, pages: int) -> None:
    """Definition, source and licence lines, plus the page number, at the bottom of a page."""
    source = (meta.source_note or "").strip()
    lines = [
        f"Definition: {meta.definition_id} (sha256 {meta.short_hash})    Period: {meta.period}"
        + (f"    Run: {meta.run_id}" if meta.run_id else ""),
        _wrap(source if source.lower().startswith("source") else f"Source: {source}"),
        OGL_ATTRIBUTION + ".  " + OS_ATTRIBUTION + ".",
    ]
    fig.text(
        0.04, 0.02, "\n".join(line for line in lines if line), ha="left", va="bottom", fontsize=7.5
    )
    fig.text(0.96, 0.02, f"Page {page} of {pages}", ha="right", va="bottom", fontsize=7.5)


def _nice_length(width_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^n metres) of at most a fifth of the map width."""
    target = max(width_m / 5, 1.0)
    base = 10 ** math.floor(math.log10(target))
    return max(m * base for m in (1, 2, 5) if m * base <= target)


def _north_arrow(ax) -> None:
    """A simple north arrow just outside the map's top-right corner (BNG grid north)."""
    ax.annotate(
        "N",
        xy=(1.03, 1.0),
        xytext=(1.03, 0.90),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
        arrowprops={"facecolor": "black", "edgecolor": "black", "width": 3, "headwidth": 10},
    )


def _scale_bar(ax) -> None:
    """A scale bar in metres, under the map's bottom-left corner (BNG units are metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    bar = AnchoredSizeBar(
        ax.transData,
        length,
        label,
        loc="upper left",
        bbox_to_anchor=(0.0, -0.01),
        bbox_transform=ax.transAxes,
        pad=0.2,
        borderpad=0.0,
        sep=3,
        frameon=False,
        size_vertical=(y1 - y0) * 0.006,
        fontproperties={"size": 8},
    )
    ax.add_artist(bar)


def map_page_figure(
    lsoas: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame | None,
    meta: PageMeta,
    *,
    scheme: str = "FisherJenks",
    k: int = 5,
    pages: int = 2,
) -> tuple[Figure, RateClasses]:
    """Page 1: the LSOA choropleth with classed legend, district outlines and labels.

    Each class is drawn as its own collection with gid "class_<i>"; no-data LSOAs as gid "no_data"
    (grey, hatched), so a test or a caller can see what went where.
    """
    lsoas = _in_bng(lsoas).reset_index(drop=True)
    if districts is None:
        districts = dissolve_districts(lsoas)
    districts = _in_bng(districts)
    rc = classify_rates(lsoas["rate_per_1000"], scheme=scheme, k=k)

    fig = Figure(figsize=A4_LANDSCAPE)
    _header(fig, meta, f"{meta.period}: serious violence offences per 1,000 residents, by LSOA")
    ax = fig.add_axes((0.03, 0.12, 0.64, 0.75))
    ax.set_axis_off()

    for i, colour in enumerate(rc.colours):
        part = lsoas[rc.classes == i]
        if len(part):
            part.plot(ax=ax, color=colour, edgecolor="#ffffff", linewidth=0.15, gid=f"class_{i}")
    nodata = lsoas[rc.classes == -1]
    if len(nodata):
        nodata.plot(
            ax=ax,
            facecolor=NO_DATA_COLOUR,
            edgecolor="#9a9a9a",
            hatch=NO_DATA_HATCH,
            linewidth=0.15,
            gid="no_data",
        )
    if len(districts):
        districts.boundary.plot(ax=ax, color="#222222", linewidth=0.9, gid="districts")
        names = (
            districts["district_name"]
            if "district_name" in districts.columns
            else districts["district_code"]
        )
        for name, point in zip(names, districts.geometry.representative_point(), strict=True):
            label = {"ha": "center", "va": "center", "fontsize": 8, "fontweight": "bold"}
            # A white halo drawn as a path, then the name as real text (searchable in the PDF).
            halo = [patheffects.Stroke(linewidth=2.5, foreground="white")]
            ax.text(point.x, point.y, str(name), color="white", path_effects=halo, **label)
            ax.text(point.x, point.y, str(name), color="#111111", **label)
    if len(lsoas):
        minx, miny, maxx, maxy = lsoas.total_bounds
        padx, pady = (maxx - minx) * 0.03 + 1, (maxy - miny) * 0.03 + 1
        ax.set_xlim(minx - padx, maxx + padx)
        ax.set_ylim(miny - pady, maxy + pady)
        ax.set_aspect("equal")
        _north_arrow(ax)
        _scale_bar(ax)
    else:
        ax.text(0.5, 0.5, "No LSOAs to map", ha="center", va="center", transform=ax.transAxes)

    handles = [
        Patch(facecolor=c, edgecolor="#666666", label=f"{lab}  ({n:,})")
        for c, lab, n in zip(rc.colours, rc.labels, rc.counts(), strict=True)
    ]
    handles.append(
        Patch(
            facecolor=NO_DATA_COLOUR,
            edgecolor="#666666",
            hatch=NO_DATA_HATCH,
            label=f"{NO_DATA_LABEL}  ({rc.n_no_data:,})",
        )
    )
    handles.append(Line2D([], [], color="#222222", linewidth=0.9, label="District boundary"))
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.72, 0.84),
        title="Rate per 1,000 residents\n(number of LSOAs)",
        title_fontsize=9.5,
        fontsize=9,
        frameon=False,
        alignment="left",
    )
    counts = pd.to_numeric(lsoas.get("count", pd.Series(dtype="float64")), errors="coerce")
    n_small = int((counts < 10).sum())
    notes = [
        f"Classes: {scheme} (k={rc.k}) on LSOA rates." if rc.k else "No rates to class.",
        "No data: LSOA without a rate (no population",
        "or no figures for this period).",
        f"{n_small:,} of {len(lsoas):,} LSOAs have fewer than 10",
        "incidents: their rates are imprecise.",
        "District rates with 95% confidence",
        "intervals are on the next page.",
    ]
    fig.text(0.72, 0.40, "\n".join(notes), ha="left", va="top", fontsize=8, color="#333333")
    _footer(fig, meta, 1, pages)
    return fig, rc


def _fmt_num(value, decimals: int = 0) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.{decimals}f}"


def table_page_figures(
    district_table: pd.DataFrame, meta: PageMeta, *, first_page: int = 2, pages: int | None = None
) -> list[Figure]:
    """Page 2 onwards: the district table (rate, 95% CI, vs county, count, population).

    Rows keep the caller's order; more than 20 districts flow onto further pages.
    """
    missing = [c for c in DISTRICT_TABLE_COLUMNS if c not in district_table.columns]
    if missing:
        raise KeyError(f"district_table lacks columns {missing}")
    t = district_table.reset_index(drop=True)
    chunks = [
        t.iloc[i : i + ROWS_PER_TABLE_PAGE] for i in range(0, max(len(t), 1), ROWS_PER_TABLE_PAGE)
    ]
    pages = pages or first_page - 1 + len(chunks)
    headers = [
        "District",
        "Rate per 1,000",
        "95% CI",
        "Compared with county",
        "Count",
        "Population",
    ]
    figs = []
    for n, chunk in enumerate(chunks):
        fig = Figure(figsize=A4_LANDSCAPE)
        _header(fig, meta, f"Serious violence by district, {meta.period}")
        ax = fig.add_axes((0.04, 0.20, 0.92, 0.64))
        ax.set_axis_off()
        rows = [
            [
                str(r.district_name),
                _fmt_num(r.rate_per_1000, 2),
                f"{_fmt_num(r.ci_lower, 2)} – {_fmt_num(r.ci_upper, 2)}",
                "–" if pd.isna(r.vs_county) or r.vs_county == "NA" else str(r.vs_county),
                _fmt_num(r.count),
                _fmt_num(r.population),
            ]
            for r in chunk.itertuples(index=False)
        ]
        if rows:
            row_h = 1 / (ROWS_PER_TABLE_PAGE + 1)
            h = row_h * (len(rows) + 1)
            table = Table(ax, bbox=(0, 1 - h, 1, h))
            for r, texts in enumerate([headers, *rows]):
                for c, text in enumerate(texts):
                    if r == 0:
                        face = "#e8e8e8"
                    elif c == 3:
                        face = VS_COLOURS.get(text, "#ffffff")
                    else:
                        face = "#ffffff"
                    cell = table.add_cell(
                        r,
                        c,
                        width=TABLE_WIDTHS[c],
                        height=row_h,
                        text=text,
                        loc={0: "left", 2: "center", 3: "center"}.get(c, "right"),
                        facecolor=face,
                        edgecolor="#bbbbbb",
                    )
                    cell.set_linewidth(0.5)
                    cell.PAD = 0.04  # Cell's padding, as a fraction of the cell width (default 0.1)
                    if r == 0:
                        cell.get_text().set_fontweight("bold")
            table.auto_set_font_size(False)
            table.set_fontsize(9.5)
            ax.add_table(table)
        else:
            ax.text(0.5, 0.9, "No districts to show", ha="center", transform=ax.transAxes)
        notes = (
            "Rate per 1,000 = incidents / residents x 1,000.  95% CI: Byar's method for counts of 10 or "
            "more, exact Poisson below (Fingertips convention).\n"
            '"Compared with county": higher or lower when the district\'s 95% CI lies wholly above '
            "or below the county rate, otherwise similar.  – = suppressed or not available."
        )
        fig.text(0.04, 0.17, notes, ha="left", va="top", fontsize=8, color="#333333")
        _footer(fig, meta, first_page + n, pages)
        figs.append(fig)
    return figs


def rates_map_pdf(
    lsoas: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame | None,
    district_table: pd.DataFrame,
    *,
    title: str,
    period: str,
    definition_id: str,
    definition_hash: str,
    source_note: str,
    is_proxy: bool,
    run_id: str,
    path: str | Path,
    scheme: str = "FisherJenks",
    k: int = 5,
) -> Path:
    """Write the county rates map pack (A4 landscape PDF) atomically and return its path.

    lsoas: GeoDataFrame[lsoa_code, rate_per_1000, count, district_code, geometry] (EPSG:27700).
    districts: GeoDataFrame[district_code, district_name, geometry], or None to dissolve LSOAs.
    district_table: DataFrame[district_name, count, population, rate_per_1000, ci_lower, ci_upper,
    vs_county], shown in the caller's row order.
    Page 1 is the choropleth, page 2 (onwards) the district table. Text is embedded as TrueType
    (pdf.fonttype 42) so it can be searched and copied. Every page footer and the PDF's Subject name
    `run_id`, the pipeline run that made it; there is no creation date, so the same run id and data
    give the same bytes.
    """
    path = Path(path)
    meta = PageMeta(title, period, definition_id, definition_hash, source_note, is_proxy, run_id)
    n_table_pages = max(1, math.ceil(len(district_table) / ROWS_PER_TABLE_PAGE))
    pages = 1 + n_table_pages
    subject = (
        f"Serious violence rate per 1,000 by LSOA, {period}; definition {definition_id} "
        f"(sha256 {definition_hash}); run {run_id}"
        + ("; PROXY: data.police.uk open data, not the local definition" if is_proxy else "")
    )
    metadata = {
        "Title": f"{title} – {period}",
        "Subject": subject,
        "Keywords": f"serious violence; {definition_id}; {period}",
        "Creator": "sna outputs.maps.rates_map_pdf",
        "CreationDate": None,
    }
    with (
        atomic_path(path) as tmp,
        mpl.rc_context({"pdf.fonttype": 42, "svg.hashsalt": "sna", "hatch.linewidth": 0.4}),
        PdfPages(tmp, metadata=metadata) as pdf,
    ):
        fig, _ = map_page_figure(lsoas, districts, meta, scheme=scheme, k=k, pages=pages)
        figs = [fig, *table_page_figures(district_table, meta, first_page=2, pages=pages)]
        for f in figs:
            pdf.savefig(f)
    return path
