"""The map pack: one A4 landscape PDF per area (the county and each district) and period.

Pages: cover; key findings; rate choropleth with insets; hotspot map; trend; priorities and
success measures; the success measures by year (small line charts); rates by district (or ward);
top LSOAs; risk factors and deprivation; methods; data sources. A section whose table this run
did not build shows a plain "not available" panel.

Everything drawn comes from published (disclosure-controlled) frames, except the deprivation
profile, which is a chart without printed numbers. Pure: data in, a PDF out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from outputs import charts, maps
from outputs.findings import (
    HEADLINE,
    PeriodInfo,
    coverage_note,
    hotspot_rows,
    key_findings,
    previous_complete,
)
from outputs.style import (
    A4_LANDSCAPE,
    ACCENT,
    BODY_BOTTOM,
    BODY_TOP,
    MUTED,
    OGL_ATTRIBUTION,
    OS_ATTRIBUTION,
    RC_PARAMS,
    PageMeta,
    add_footer,
    draw_table,
    fmt_ci,
    fmt_num,
    new_page,
    not_available,
    wrap,
)
from outputs.tables import atomic_path
from transforms.disclosure import AudienceRules, describe_rules, pdf_count_header
from transforms.priorities import PRIORITIES as PRIORITY_MEASURES

PRIORITIES = {
    "priority_under_25s": "Under-25s",
    "priority_domestic_abuse": "Domestic abuse",
    "priority_drugs_alcohol": "Drugs and alcohol",
    "priority_places": "Places",
}
SUCCESS_LABELS = {
    "knife_admissions": "Hospital admissions for assault by a sharp object",
    "knife_enabled_serious_violence": "Police-recorded knife-enabled serious violence",
    "homicide": "Homicides",
    "homicide_knife": "Homicides with a knife or sharp object",
    "homicide_non_domestic": "Non-domestic homicides",
}
SOURCE_NAMES = {"police": "Police", "police_uk": "police.uk", "asb": "ASB", "hes": "HES",
                "ae": "A&E", "ambulance": "Ambulance"}  # fmt: skip
TOP_LSOAS = 15
# Above this many districts (a region, or England and Wales) the main map draws the districts
# thinly, without ward outlines or district names: 7,536 wards and 318 names over the country
# print as a black mass. The insets keep every outline, and their titles name the places.
MANY_DISTRICTS = 30
THIN_DISTRICT_LINE = {"color": "#4d4d4d", "linewidth": 0.3}
ROWS_PER_PAGE = 24
PAGE_W, PAGE_H = A4_LANDSCAPE
LEGEND_BELOW_IN = 1.6  # height a legend needs under a wide map
LEGEND_BESIDE_IN = 2.5  # width a legend needs beside a tall map


@dataclass(frozen=True)
class MapLayout:
    """Where the main map, its insets and its legend go on a map page (figure fractions)."""

    map: tuple[float, float, float, float]
    insets: tuple[tuple[float, float, float, float], ...]
    legend: tuple[float, float, float, float]
    legend_below: bool


def map_layout(bounds, n_insets: int) -> MapLayout:
    """Fit the main map to the area's shape: insets in a right-hand column; the legend under a wide
    map, or beside a tall one."""
    top, bottom = BODY_TOP - 0.02, BODY_BOTTOM + 0.012
    col_w = 0.29 if n_insets else 0.0
    region_w = 0.94 - col_w - (0.025 if n_insets else 0.0)
    region_h = top - bottom
    minx, miny, maxx, maxy = bounds
    ratio = max(maxx - minx, 1.0) / max(maxy - miny, 1.0)
    # legend below the map, or beside it: whichever leaves the bigger map
    h_below = min(region_w * PAGE_W / ratio, region_h * PAGE_H - LEGEND_BELOW_IN)
    w_beside = min(region_w * PAGE_W - LEGEND_BESIDE_IN, region_h * PAGE_H * ratio)
    if h_below * ratio * h_below >= w_beside * (w_beside / ratio):
        w_in, h_in = h_below * ratio, h_below
        map_rect = (0.03, top - h_in / PAGE_H, w_in / PAGE_W, h_in / PAGE_H)
        legend = (0.03, bottom, region_w, map_rect[1] - bottom - 0.01)
        below = True
    else:
        w_in, h_in = w_beside, w_beside / ratio
        map_rect = (0.03, top - h_in / PAGE_H, w_in / PAGE_W, h_in / PAGE_H)
        x = 0.03 + w_in / PAGE_W + 0.015
        legend = (x, bottom, 0.03 + region_w - x, region_h)
        below = False
    insets = []
    if n_insets:
        gap = 0.045  # room for each inset's title
        each = (region_h - gap * n_insets) / n_insets
        x0 = 0.97 - col_w
        for i in range(n_insets):
            y1 = top - i * (each + gap) - gap
            insets.append((x0, y1 - each, col_w, each))
    return MapLayout(map_rect, tuple(insets), legend, below)


VS_SHADE = {"higher": "#fde0d2", "lower": "#deebf7"}


@dataclass(frozen=True)
class Definition:
    """The words the pack uses for the definition (parsed once, the only source of wording)."""

    id: str
    version: str
    title: str
    hash: str
    categories: tuple[str, ...]
    proxy_caveat: str


@dataclass(frozen=True)
class PackData:
    """Everything one run publishes for one audience; shared by every pack of the run."""

    county_code: str
    county_name: str
    rates: pd.DataFrame  # published sv_rates, with ward_code and district_code of each row's area
    lsoas: gpd.GeoDataFrame  # ref.lsoa in EPSG:27700
    breaks: maps.Breaks  # fixed for every period and area of the run
    breaks_periods: tuple[str, ...]
    infos: Mapping[str, PeriodInfo]
    definition: Definition
    source: str
    audience: AudienceRules
    rules_text: tuple[str, ...]
    population_year: int | None
    coverage: pd.DataFrame | None = None
    tables: Mapping[str, pd.DataFrame | None] = field(default_factory=dict)
    missing: Mapping[str, str] = field(default_factory=dict)
    decile_profiles: Mapping[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    inputs: pd.DataFrame | None = None  # audit.loads: source, file, sha256, rows_loaded
    run_id: str = ""  # the run that publishes: every page, file and layer names it

    @property
    def is_proxy(self) -> bool:
        return self.source == "police_uk"

    def table(self, name: str) -> pd.DataFrame | None:
        t = self.tables.get(name)
        return t if t is not None and len(t) else None

    def why_missing(self, name: str) -> str:
        return self.missing.get(name, f"build.{name} was not built")


@dataclass(frozen=True)
class Area:
    level: str  # county | district
    code: str
    name: str


def pack_areas(lsoas: pd.DataFrame, county_code: str, county_name: str) -> list[Area]:
    """The county, then each district in name order."""
    areas = [Area("county", county_code, county_name)]
    districts = lsoas.dropna(subset=["district_code"]).drop_duplicates("district_code")
    for r in districts.sort_values("district_name").itertuples():
        areas.append(Area("district", str(r.district_code), str(r.district_name)))
    return areas


def render_pack(data: PackData, area: Area, period: str, path: str | Path) -> Path:
    """Write one area's map pack for one period as an A4 landscape PDF, atomically."""
    path = Path(path)
    info = data.infos.get(period, PeriodInfo(period, 12))
    note = f"{_source_note(data)} {coverage_note(data.coverage, data.source, period)}".strip()
    meta = PageMeta(
        area_name=area.name,
        period_text=info.text,
        definition_id=data.definition.id,
        definition_hash=data.definition.hash,
        source_note=note,
        is_proxy=data.is_proxy,
        audience=data.audience.name,
        audience_marking=data.audience.marking,
        run_id=data.run_id,
    )
    with mpl.rc_context(RC_PARAMS):
        ctx = _Context(data, area, period, info, meta)
        figures = [
            _cover(ctx),
            _findings(ctx),
            _map_page(ctx, "rates"),
            _map_page(ctx, "hotspots"),
            _trend(ctx),
            _priorities(ctx),
            _success_trends(ctx),
            *_areas_table(ctx),
            _top_lsoas(ctx),
            _risk(ctx),
            _methods(ctx),
            _sources(ctx),
        ]
        for i, fig in enumerate(figures, start=1):
            add_footer(fig, meta, i, len(figures))
        metadata = {
            "Title": f"Serious violence map pack: {area.name}, {info.text}",
            "Subject": (
                f"Audience: {data.audience.marking}. Definition {data.definition.id} (sha256 "
                f"{data.definition.hash}). Run {data.run_id or 'not recorded'}"
                + (
                    "; PROXY: data.police.uk open data, not the local definition"
                    if data.is_proxy
                    else ""
                )
            ),  # fmt: skip
            "Keywords": f"serious violence; {data.definition.id}; {period}; {data.audience.name}",
            "Creator": "sna outputs.pack.render_pack",
            "CreationDate": None,
        }
        with atomic_path(path) as tmp, PdfPages(tmp, metadata=metadata) as pdf:
            for fig in figures:
                pdf.savefig(fig)
    return path


def _source_note(data: PackData) -> str:
    if data.is_proxy:
        return (
            "Source: data.police.uk street-level crime (open data, month and snapped location "
            "only); serious violence here is a proxy."
        )
    return "Source: force crime extract, classified under the local definition of serious violence."


# --- context shared by the pages -----------------------------------------------------------------


class _Context:
    """One pack's slice of the data: its LSOAs, rates, insets and wording."""

    def __init__(self, data: PackData, area: Area, period: str, info: PeriodInfo, meta: PageMeta):
        self.data, self.area, self.period, self.info, self.meta = data, area, period, info, meta
        lsoas = maps.in_bng(data.lsoas).reset_index(drop=True)
        self.all_lsoas = lsoas
        inside = lsoas["district_code"] == area.code if area.level == "district" else None
        self.lsoas = lsoas[inside].reset_index(drop=True) if inside is not None else lsoas
        r = data.rates
        self.headline = r[(r["measure"] == HEADLINE) & (r["period"] == period)]
        lsoa_rates = self.headline[self.headline["area_level"] == "lsoa"].set_index("area_code")
        codes = self.lsoas["lsoa_code"]
        self.lsoa_rate = (
            lsoa_rates["rate_per_1000"]
            .reindex(codes)
            .astype("Float64")
            .to_numpy(dtype=float, na_value=np.nan)
        )
        self.lsoa_hidden = (
            lsoa_rates["suppressed"].reindex(codes).fillna(False).astype(bool).to_numpy()
            if "suppressed" in lsoa_rates
            else np.zeros(len(codes), bool)
        )
        self.child_level = "district" if area.level == "county" else "ward"
        # holes under 5 ha (wards) or 20 ha (districts) are gaps between generalised LSOAs
        self.wards = maps.dissolve_areas(self.lsoas, "ward", min_hole_m2=5e4)
        self.districts = maps.dissolve_areas(self.lsoas, "district", min_hole_m2=2e5)
        self.footprint = shapely.union_all(self.lsoas.geometry.make_valid().to_numpy())
        bounds = self.lsoas.total_bounds
        draft = map_layout(bounds, 1)  # the main map's scale with an inset column
        m_per_in = (bounds[2] - bounds[0]) * 1.06 / (draft.map[2] * PAGE_W)
        self.insets = maps.choose_insets(
            self.lsoas,
            pd.Series(self.lsoa_rate),
            map_m_per_inch=m_per_in,
            max_insets=3 if area.level == "county" else 2,
        )
        self.layout = map_layout(bounds, len(self.insets))

    @property
    def marker(self) -> str:
        return self.data.audience.marker

    def page(self, title: str, subtitle: str = "") -> Figure:
        return new_page(self.meta, title, subtitle)


# --- pages ---------------------------------------------------------------------------------------


def _cover(ctx: _Context) -> Figure:
    data = ctx.data
    fig = ctx.page("Serious violence: strategic needs assessment map pack")
    fig.text(0.03, 0.74, ctx.area.name, fontsize=30, fontweight="bold", color=ACCENT)
    fig.text(0.03, 0.68, f"Period: {ctx.info.text}", fontsize=15)
    fig.text(
        0.03,
        0.635,
        f"Definition: {data.definition.title} ({data.definition.id}, version "
        f"{data.definition.version}; sha256 {data.definition.hash[:12]})",
        fontsize=10.5,
    )
    fig.text(0.03, 0.60, f"For: {data.audience.marking}", fontsize=10.5, fontweight="bold",
             color="#b2182b" if data.audience.name == "partner" else "#238b45")  # fmt: skip
    contents = [
        "Key findings",
        "Rate of serious violence by LSOA, with insets for the densest high-rate areas",
        "Hot spots (Getis-Ord Gi*, false discovery rate controlled)",
        "Trend by year and by month",
        "The four priorities and the three success measures",
        f"Rates by {ctx.child_level}",
        f"The {TOP_LSOAS} LSOAs with the most offences",
        "Risk factors and deprivation",
        "Methods and caveats",
        "Data sources and licences",
    ]
    fig.text(0.03, 0.53, "Contents", fontsize=12, fontweight="bold")
    fig.text(0.03, 0.50, "\n".join(f"{i}.  {c}" for i, c in enumerate(contents, 2)),
             fontsize=10, va="top", linespacing=1.6)  # fmt: skip
    fig.text(
        0.55,
        0.53,
        wrap(
            "Figures in this pack are statistics about places, not people. Small numbers are "
            "suppressed for this audience (shown as *), and rates computed from them are "
            "suppressed with them. " + " ".join(data.rules_text),
            70,
        ),
        fontsize=9.5,
        va="top",
        color=MUTED,
        linespacing=1.5,
    )
    return fig


def _findings(ctx: _Context) -> Figure:
    data = ctx.data
    fig = ctx.page("Key findings", f"Serious violence in {ctx.area.name}, {ctx.info.text}")
    hotspots = data.table("hotspots")
    sentences = key_findings(
        data.rates,
        area_level=ctx.area.level,
        area_code=ctx.area.code,
        period=ctx.period,
        infos=data.infos,
        child_level=ctx.child_level,
        county_code=data.county_code,
        concentration=data.table("concentration"),
        hotspots=hotspots,
        suppressed_lsoas=int(ctx.lsoa_hidden.sum()),
    )
    y = BODY_TOP - 0.02
    for sentence in sentences:
        text = wrap(sentence, 120)
        fig.text(0.05, y, "•", fontsize=12, va="top", color=ACCENT)
        fig.text(0.07, y, text, fontsize=11.5, va="top", linespacing=1.4, gid="finding")
        y -= 0.045 * (text.count("\n") + 1) + 0.025
    if hotspots is None:
        fig.text(0.07, y, f"Hot spots: not available in this run ({data.why_missing('hotspots')}).",
                 fontsize=10, va="top", color=MUTED)  # fmt: skip
    return fig


def _map_page(ctx: _Context, kind: str) -> Figure:
    data = ctx.data
    if kind == "rates":
        title = f"Serious violence offences per 1,000 residents, by LSOA: {ctx.area.name}"
        outlines = (
            "districts and wards" if ctx.area.level == "county" else "the district and its wards"
        )
        if _many_districts(ctx):
            outlines = "districts (wards in the insets)"
        subtitle = f"{ctx.info.text}. Outlines: {outlines}."
    else:
        title = f"Hot spots of serious violence, by LSOA: {ctx.area.name}"
        subtitle = f"{ctx.info.text}. Getis-Ord Gi* bins after the false discovery rate correction."
    fig = ctx.page(title, subtitle)
    hot = None
    if kind == "hotspots":
        hot = _hotspot_bins(ctx)
        if hot is None:
            x, y, w, h = ctx.layout.map
            not_available(fig, (x, y, x + w, y + h), "Hot spot map", data.why_missing("hotspots"))
            return fig
    layout = ctx.layout
    ax = fig.add_axes(layout.map)
    if ctx.area.level == "district":
        _draw_context(ctx, ax)
    _draw_map(ctx, ax, ctx.lsoas, kind, hot, main=True)
    maps.frame(ax, ctx.lsoas.total_bounds)
    maps.draw_inset_frames(ax, ctx.insets)
    obstacles = _obstacles(ctx, kind, hot)
    m_per_in = maps.metres_per_inch(ax)
    badge = 0.25 * m_per_in  # the inset number sits outside the frame's top-left corner
    avoid = [shapely.box(i.bounds[0] - badge, i.bounds[1], i.bounds[2], i.bounds[3] + badge)
             for i in ctx.insets]  # fmt: skip
    shown = [shapely.box(*i.bounds) for i in ctx.insets]
    named = not _many_districts(ctx)  # else the insets' titles name the places
    if named and ctx.area.level == "county" and len(ctx.districts):
        maps.place_labels(ax, ctx.districts, list(ctx.districts["district_name"]), obstacles,
                          avoid=avoid, shown_in=shown, fontsize=8.5)  # fmt: skip
    elif named and 0 < len(ctx.wards) <= 20:
        maps.place_labels(ax, ctx.wards, list(ctx.wards["ward_name"]), obstacles, avoid=avoid,
                          shown_in=shown, fontsize=7, max_cover=0.1)  # fmt: skip
    corners = maps.quiet_corners(ax, ctx.footprint)  # keep the furniture off the data
    maps.north_arrow(ax, next(c for c in corners if c.startswith("upper")))
    maps.scale_bar(ax, loc=next(c for c in corners if c.startswith("lower")))
    _insets(ctx, fig, kind, hot)
    _legend(ctx, fig, kind, hot)
    return fig


def _many_districts(ctx: _Context) -> bool:
    return len(ctx.districts) > MANY_DISTRICTS


def _hotspot_bins(ctx: _Context) -> np.ndarray | None:
    h = ctx.data.table("hotspots")
    if h is None:
        return None
    h = hotspot_rows(h, period=ctx.period)
    if h.empty:
        return None
    bins = pd.to_numeric(h.set_index("area_code")["gi_bin"], errors="coerce")
    return bins.reindex(ctx.lsoas["lsoa_code"]).to_numpy(dtype=float, na_value=np.nan)


def _draw_map(ctx: _Context, ax, lsoas: gpd.GeoDataFrame, kind: str, hot, *, main: bool) -> None:
    idx = lsoas.index.to_numpy()
    if kind == "rates":
        classes = ctx.data.breaks.assign(ctx.lsoa_rate[idx])
        maps.draw_classes(ax, lsoas, classes, ctx.data.breaks.colours,
                          suppressed=ctx.lsoa_hidden[idx])  # fmt: skip
    else:
        bins = hot[idx]
        order = sorted(maps.HOTSPOT_BINS)
        classes = np.array([order.index(int(b)) if np.isfinite(b) else -1 for b in bins])
        colours = [maps.HOTSPOT_BINS[b][1] for b in order]
        maps.draw_classes(ax, lsoas, classes, colours, gid_prefix="hotspot")
    if main and _many_districts(ctx):
        ctx.districts.boundary.plot(ax=ax, gid="districts", **THIN_DISTRICT_LINE)
        return
    wards = ctx.wards if main else ctx.wards[ctx.wards.intersects(shapely.box(*lsoas.total_bounds))]
    maps.draw_outlines(ax, wards, ctx.districts)


def _draw_context(ctx: _Context, ax) -> None:
    """Neighbouring districts in pale grey round a district's map, for orientation."""
    others = ctx.all_lsoas[ctx.all_lsoas["district_code"] != ctx.area.code]
    if len(others):
        outline = maps.dissolve_areas(others, "district")
        outline.plot(ax=ax, facecolor="#f4f4f4", edgecolor="#c8c8c8", linewidth=0.5, zorder=0)


def _obstacles(ctx: _Context, kind: str, hot) -> shapely.Geometry | None:
    """What labels should not cover: LSOAs above the two lowest classes, or any hot/cold spot."""
    if kind == "rates":
        classes = ctx.data.breaks.assign(ctx.lsoa_rate)
        busy = classes >= min(2, ctx.data.breaks.k - 1)
    else:
        busy = np.nan_to_num(np.abs(hot)) >= 1
    geoms = ctx.lsoas.geometry[busy]
    return shapely.union_all(geoms.to_numpy()) if len(geoms) else None


def _insets(ctx: _Context, fig: Figure, kind: str, hot) -> None:
    """Each inset in the right-hand column: framed, numbered, with its own scale bar."""
    for inset, rect in zip(ctx.insets, ctx.layout.insets, strict=True):
        ax = fig.add_axes(rect)
        sub = ctx.lsoas[ctx.lsoas.intersects(shapely.box(*inset.bounds))]
        _draw_map(ctx, ax, sub, kind, hot, main=False)
        maps.frame(ax, inset.bounds, pad=0)
        ax.set_axis_on()
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_edgecolor(maps.INSET_FRAME)
            spine.set_linewidth(1.2)
        maps.scale_bar(ax, fontsize=6.5)
        ax.set_title(wrap(_short(f"{inset.number}  {inset.title}", 100), 52), fontsize=8, loc="left",
                     fontweight="bold", color=maps.INSET_FRAME, pad=3)  # fmt: skip


def _legend(ctx: _Context, fig: Figure, kind: str, hot) -> None:
    x, y, w, h = ctx.layout.legend
    below = ctx.layout.legend_below
    breaks = ctx.data.breaks
    if kind == "rates":
        counts = breaks.assign(ctx.lsoa_rate[~ctx.lsoa_hidden])
        handles = [
            Patch(facecolor=c, edgecolor="#666666", label=f"{lab}  ({int((counts == i).sum()):,})")
            for i, (c, lab) in enumerate(zip(breaks.colours, breaks.labels, strict=True))
        ]
        title = "Offences per 1,000 residents (number of LSOAs)"
        n_nodata = int(((breaks.assign(ctx.lsoa_rate) == -1) & ~ctx.lsoa_hidden).sum())
        notes = (
            f"Classes: {_scheme_name(breaks.scheme)} (mapclassify, k={breaks.k}) on the LSOA "
            f"rates of {', '.join(ctx.data.breaks_periods)}; the same breaks on every map of "
            "this run, so years and areas compare."
        )
    else:
        order = sorted(maps.HOTSPOT_BINS, reverse=True)
        handles = [
            Patch(facecolor=maps.HOTSPOT_BINS[b][1], edgecolor="#666666",
                  label=f"{maps.HOTSPOT_BINS[b][0]}  ({int(np.sum(hot == b)):,})")
            for b in order
        ]  # fmt: skip
        title = "Getis-Ord Gi* (number of LSOAs)"
        n_nodata = int(np.isnan(hot).sum())
        notes = _hotspot_method(ctx.data)
    hidden = int(ctx.lsoa_hidden.sum()) if kind == "rates" else 0
    if hidden:
        handles.append(Patch(facecolor=maps.SUPPRESSED_COLOUR, edgecolor="#999999",
                             hatch=maps.SUPPRESSED_HATCH, label=f"{maps.SUPPRESSED_LABEL}  ({hidden:,})"))  # fmt: skip
    handles.append(Patch(facecolor=maps.NO_DATA_COLOUR, edgecolor="#999999",
                         hatch=maps.NO_DATA_HATCH, label=f"{maps.NO_DATA_LABEL}  ({n_nodata:,})"))  # fmt: skip
    handles.append(Line2D([], [], label="District boundary", **maps.DISTRICT_LINE))
    handles.append(Line2D([], [], label="Ward boundary", **maps.WARD_LINE))
    if ctx.insets:
        handles.append(Patch(fill=False, edgecolor=maps.INSET_FRAME, lw=1.1,
                             label="Inset (enlarged alongside)"))  # fmt: skip
    ncol = 2 if below else 1
    legend = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(x, y + h),
                        title=title, title_fontsize=8.5, fontsize=8, frameon=False, ncol=ncol,
                        alignment="left", handlelength=1.6, columnspacing=1.2)  # fmt: skip
    legend.set_gid("map_legend")
    no_data = "No data: LSOA without a rate (no population, or no figures for the period)."
    text = notes + " " + no_data
    if below:  # notes to the right of the legend
        box = legend.get_window_extent(_renderer(fig)).transformed(fig.transFigure.inverted())
        left = box.x1 + 0.02
        fig.text(left, y + h, wrap(text, int((x + w - left) * 175)), fontsize=7.2, va="top",
                 color=MUTED, linespacing=1.3)  # fmt: skip
    else:  # notes under the legend
        box = legend.get_window_extent(_renderer(fig)).transformed(fig.transFigure.inverted())
        fig.text(x, box.y0 - 0.015, wrap(text, int(w * 175)), fontsize=7.2, va="top",
                 color=MUTED, linespacing=1.3)  # fmt: skip


def _renderer(fig: Figure):
    """A renderer to measure text and legends before the page is saved."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


def _scheme_name(scheme: str) -> str:
    return {"FisherJenks": "Fisher-Jenks natural breaks", "Quantiles": "quantiles"}.get(
        scheme, scheme
    )


def _hotspot_method(data: PackData) -> str:
    h = data.table("hotspots")
    if h is None:
        return f"Hot spots: not available in this run ({data.why_missing('hotspots')})."
    row = hotspot_rows(h, period=str(h["period"].iloc[0]), level=str(h["area_level"].iloc[0])).iloc[
        0
    ]

    def get(column: str, default: str = "not stated") -> str:
        value = row.get(column)
        return (
            default
            if value is None or (isinstance(value, float) and math.isnan(value))
            else str(value)
        )

    method = get("method", "Getis-Ord Gi*").split("; Local Moran")[0]
    value = {"count": "offence counts", "rate_per_1000": "rates per 1,000"}.get(
        get("value_type", ""), get("value_type", "rates")
    )
    return (
        f"Method: {method} on {value}; weights "
        f"{get('weights')}; {get('permutations')} permutations (seed {get('seed')}); two-sided p "
        f"from z; FDR: {get('fdr', 'Benjamini-Hochberg')}; bins at 90/95/99% confidence."
    )  # fmt: skip


def _trend(ctx: _Context) -> Figure:
    data = ctx.data
    fig = ctx.page(
        f"Trend: {ctx.area.name}", "Rate per 1,000 residents by year, and offences by month"
    )
    ax = fig.add_axes((0.07, 0.2, 0.4, 0.6))
    county = ("county", data.county_code)
    upto = data.rates[data.rates["period"] <= ctx.period]  # a pack never shows a later period
    charts.trend_chart(ax, upto, area=(ctx.area.level, ctx.area.code), county=county,
                       infos=data.infos, measure=HEADLINE)  # fmt: skip
    ax.set_title("Rate by year", loc="left", fontweight="bold")
    fig.text(0.07, 0.13, charts.PART_YEAR_NOTE, fontsize=8, color=MUTED)
    trends = data.table("trends")
    if trends is not None:
        t = trends[
            (trends["area_level"] == ctx.area.level)
            & (trends["area_code"] == ctx.area.code)
            & (trends["measure"] == HEADLINE)
        ]
        if "source" in t:
            t = t[t["source"] == data.source]
        end = _period_end(ctx)
        if end is not None:
            t = t[pd.to_datetime(t["month"]) <= end]
        if len(t):
            ax2 = fig.add_axes((0.56, 0.2, 0.4, 0.6))
            charts.monthly_chart(ax2, t)
            ax2.set_title("Offences by month", loc="left", fontweight="bold")
            return fig
    not_available(fig, (0.56, 0.2, 0.96, 0.8), "Offences by month", data.why_missing("trends"))
    return fig


def _period_end(ctx: _Context) -> pd.Timestamp | None:
    last = ctx.info.last_month
    return pd.Timestamp(last) if last is not None else None


def _priorities(ctx: _Context) -> Figure:
    data = ctx.data
    fig = ctx.page("Priorities and success measures",
                   f"The four Norfolk priorities and the three statutory success measures, {ctx.info.text}")  # fmt: skip
    width = 0.94 / 4
    for i, (name, label) in enumerate(PRIORITIES.items()):
        x0 = 0.03 + i * width
        t = data.table(name)
        fig.text(x0 + 0.005, BODY_TOP - 0.01, label, fontsize=11, fontweight="bold", va="top",
                 color=ACCENT)  # fmt: skip
        if t is None:
            not_available(fig, (x0 + 0.005, 0.50, x0 + width - 0.01, BODY_TOP - 0.05), "",
                          data.why_missing(name))  # fmt: skip
            continue
        t = headline_rows(t, name)
        previous = previous_complete(ctx.period, data.infos)
        mine = t[(t["area_level"] == ctx.area.level) & (t["area_code"] == ctx.area.code)]
        show = [mine[mine["period"].astype(str) == ctx.period]]
        if previous:
            show.append(mine[mine["period"].astype(str) == previous])
        if ctx.area.level != "county":
            show.append(t[(t["area_level"] == "county") & (t["period"].astype(str) == ctx.period)])
        show = pd.concat(show)
        if show.empty:
            fig.text(x0 + 0.005, BODY_TOP - 0.06, "No figures for this period.", fontsize=9)
            continue
        show = show.assign(suppressed=show.get("suppressed", False))
        measure = str(show["measure"].iloc[0]).replace("_", " ")
        fig.text(x0 + 0.005, BODY_TOP - 0.04, _short(measure, 48), fontsize=7.5, va="top",
                 color=MUTED)  # fmt: skip
        source = str(show["source"].iloc[0]) if "source" in show else data.source
        rows = [
            [_short(r.area_name, 13), str(r.period), fmt_num(r.count, hidden=bool(r.suppressed)),
             fmt_num(r.rate_per_1000, 1, hidden=bool(r.suppressed))]
            for r in show.itertuples()
        ]  # fmt: skip
        bottom = draw_table(fig, x0 + 0.005, BODY_TOP - 0.07, [0.08, 0.05, 0.05, 0.04],
                            ["Area", "Period", pdf_count_header(source), "Rate"], rows,
                            align=["left", "left", "right", "right"], fontsize=8)  # fmt: skip
        fig.text(x0 + 0.005, bottom - 0.02, "Rate per 1,000 residents of the\nmeasure's population.",
                 fontsize=7, va="top", color=MUTED)  # fmt: skip
    success = data.table("success_measures")
    fig.text(0.03, 0.47, "Success measures", fontsize=11, fontweight="bold", color=ACCENT)
    if success is None:
        not_available(fig, (0.03, 0.12, 0.97, 0.45), "",
                      data.why_missing("success_measures"))  # fmt: skip
        return fig
    s = success[
        (success["period"].astype(str) == ctx.period)
        & (success["area_level"] == ctx.area.level)
        & (success["area_code"] == ctx.area.code)
    ]
    if s.empty:
        fig.text(
            0.03, 0.43, f"No success measures for {ctx.area.name} in {ctx.period}.", fontsize=9
        )
        return fig
    s = s.assign(suppressed=s.get("suppressed", False))
    rows = []
    for r in s.itertuples():
        hidden = bool(r.suppressed)
        per = int(getattr(r, "rate_per", 100000) or 100000)
        rows.append([
            SUCCESS_LABELS.get(r.measure, str(r.measure).replace("_", " ")),
            "under 25" if r.victims == "under_25" else "all",
            SOURCE_NAMES.get(r.source, str(r.source)),
            fmt_num(r.count, hidden=hidden),
            fmt_num(r.rate, 1, hidden=hidden) + f" per {per:,}" if not hidden else ctx.marker,
            fmt_ci(r.ci_lower, r.ci_upper, 1, hidden=hidden),
            fmt_num(getattr(r, "previous_count", None), hidden=hidden),
            fmt_num(getattr(r, "change", None), 0, hidden=hidden),
        ])  # fmt: skip
    draw_table(fig, 0.03, 0.44, [0.33, 0.07, 0.07, 0.07, 0.13, 0.12, 0.07, 0.06],
               ["Measure", "Victims", "Source", "Count", "Rate", "95% CI", "Previous", "Change"],
               rows, align=["left", "left", "left"] + ["right"] * 5, fontsize=8.5)  # fmt: skip
    return fig


# One small chart per statutory success measure: (title, what is plotted, source line, series of
# (measure, victims, legend label)). Homicides are few, so they are shown as counts.
SUCCESS_CHARTS = (
    (
        "Hospital admissions for assault by a sharp object (X99)",
        "rate",
        "Source: HES admitted patient care, ICD-10 X99 in any position; by the patient's home LSOA.",
        (("knife_admissions", "all", "All ages"),
         ("knife_admissions", "under_25", "Aged under 25 (per residents under 25)")),
    ),
    (
        "Police-recorded knife- or sharp-object-enabled serious violence",
        "rate",
        "Source: force crime extract, knife flag, local definition of serious violence.",
        (("knife_enabled_serious_violence", "all", "All victims"),
         ("knife_enabled_serious_violence", "under_25",
          "Victims under 25 (per residents under 25)")),
    ),
    (
        "Homicides (police-recorded)",
        "count",
        "Source: force crime extract, homicide category (not the Home Office Homicide Index).",
        (("homicide", "all", "All homicides"), ("homicide_knife", "all", "Knife or sharp object"),
         ("homicide_non_domestic", "all", "Non-domestic"),
         ("homicide", "under_25", "Victims under 25")),
    ),
)  # fmt: skip


def _success_trends(ctx: _Context) -> Figure:
    """The three statutory success measures by year for the pack's area, one small line chart each,
    drawn from the published (suppressed and rounded) rows: a suppressed year is a gap with an x."""
    data = ctx.data
    fig = ctx.page(
        f"Success measures by year: {ctx.area.name}",
        f"The three statutory success measures, each year up to {ctx.period}, as published",
    )
    success = data.table("success_measures")
    if success is None:
        not_available(fig, (0.03, 0.2, 0.97, BODY_TOP - 0.04), "",
                      data.why_missing("success_measures"))  # fmt: skip
        return fig
    mine = success[
        (success["area_level"] == ctx.area.level)
        & (success["area_code"] == ctx.area.code)
        & (success["period"].astype(str) <= ctx.period)
    ]
    mine = mine.assign(period=mine["period"].astype(str), suppressed=mine.get("suppressed", False))
    periods = sorted(set(mine["period"]))
    width, gap = 0.26, 0.06
    hidden_any = False
    for i, (title, value, source, series) in enumerate(SUCCESS_CHARTS):
        x0 = 0.065 + i * (width + gap)
        present = [
            s for s in series if ((mine["measure"] == s[0]) & (mine["victims"] == s[1])).any()
        ]
        heading = f"{title}, {ctx.area.name}"
        if not present:
            not_available(fig, (x0 - 0.02, 0.3, x0 + width, BODY_TOP - 0.06), wrap(heading, 45),
                          "no rows for this area in marts.success_measures")  # fmt: skip
            continue
        ax = fig.add_axes((x0, 0.36, width, 0.40))
        hidden_any |= charts.success_chart(ax, mine, periods=periods, series=list(present),
                                           value=value, infos=data.infos)  # fmt: skip
        ax.set_title(wrap(heading, 48), loc="left", fontsize=9.5, fontweight="bold")
        if value == "rate":
            per = pd.to_numeric(mine.loc[mine["measure"] == present[0][0], "rate_per"],
                                errors="coerce").dropna()  # fmt: skip
            per_text = f"{int(per.iloc[0]):,}" if len(per) else "100,000"
            ax.set_ylabel(f"Rate per {per_text} residents (95% CI)")
        else:
            ax.set_ylabel("Homicides in the year")
        ax.set_xlabel("Financial year" if "/" in ctx.period else "Year")
        ax.legend(loc="upper left", bbox_to_anchor=(-0.02, -0.17), frameon=False, fontsize=7.5)
        fig.text(x0, 0.2, wrap(source, 60), fontsize=7, color=MUTED, va="top")
    notes = [
        "Lines join complete years; a hollow point is a part year, not comparable with full years.",
        "The under-25 rates are per resident aged under 25. Figures as published: "
        + " ".join(describe_rules(data.audience, sorted(set(mine["source"])))),
    ]
    if hidden_any:
        notes.insert(0, f"{charts.SUPPRESSED_LABEL}: the line has a gap there.")
    fig.text(0.03, 0.135, wrap(" ".join(notes), 205), fontsize=7, color="#333333", va="top")
    return fig


def headline_rows(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of a priority table's headline measure (its first serious-violence measure, e.g.
    victims_under_25; else the table's first measure): the table also holds NHS and police
    measures of other sources, and the page's rows name the area and period, not the measure."""
    if table.empty:
        return table
    priority = PRIORITY_MEASURES.get(name.removeprefix("priority_"))
    present = list(dict.fromkeys(table["measure"]))
    wanted = next((m for m in (priority.sv_measures if priority else ()) if m in present), None)
    return table[table["measure"] == (wanted or present[0])]


def _short(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _areas_table(ctx: _Context) -> list[Figure]:
    data = ctx.data
    level = ctx.child_level
    h = ctx.headline
    kids = h[h["area_level"] == level]
    if ctx.area.level == "district":
        kids = kids[kids["district_code"] == ctx.area.code]
    kids = kids.sort_values("area_name")
    own = h[(h["area_level"] == ctx.area.level) & (h["area_code"] == ctx.area.code)]
    county = h[h["area_level"] == "county"] if ctx.area.level != "county" else h.iloc[:0]
    rows_all = pd.concat([kids, own, county])
    word = "District" if level == "district" else "Ward"
    header = [word, pdf_count_header(data.source), "Population", "Rate per 1,000", "95% CI",
              "vs county"]  # fmt: skip
    pages = []
    chunks = [rows_all.iloc[i : i + ROWS_PER_PAGE] for i in range(0, len(rows_all), ROWS_PER_PAGE)]
    for n, chunk in enumerate(chunks or [rows_all]):
        more = f" (continued, {n + 1} of {len(chunks)})" if len(chunks) > 1 else ""
        fig = ctx.page(
            f"Rates by {level}: {ctx.area.name}{more}",
            f"{ctx.info.text}. Serious violence offences, residents, rate per 1,000 with 95% "
            "confidence interval, and comparison with the county.",
        )
        chunk = chunk.assign(suppressed=chunk.get("suppressed", False))
        rows, shade, bold = [], [], []
        for i, r in enumerate(chunk.itertuples()):
            hidden = bool(r.suppressed)
            vs = (
                r.vs_county if isinstance(r.vs_county, str) else ("–" if not hidden else ctx.marker)
            )
            rows.append([_short(r.area_name, 38), fmt_num(r.count, hidden=hidden),
                         fmt_num(r.population), fmt_num(r.rate_per_1000, 1, hidden=hidden),
                         fmt_ci(r.ci_lower, r.ci_upper, 1, hidden=hidden), vs])  # fmt: skip
            shade.append(VS_SHADE.get(vs))
            if r.area_level != level:
                bold.append(i)
        bottom = draw_table(fig, 0.05, BODY_TOP - 0.02, [0.30, 0.1, 0.12, 0.12, 0.15, 0.1],
                            header, rows, shade=shade, bold_rows=bold, fontsize=9)  # fmt: skip
        fig.text(
            0.05,
            bottom - 0.03,
            wrap(
                "Rate per 1,000 = offences / residents x 1,000. 95% CI: Byar's method for counts of "
                "10 or more, exact Poisson below. 'vs county': higher or lower when the interval lies "
                "wholly above or below the county rate, otherwise similar. Totals in bold. "
                f"{ctx.marker} = suppressed to protect small numbers; – = not available.",
                190,
            ),
            fontsize=8,
            va="top",
            color=MUTED,
        )
        pages.append(fig)
    return pages


def _top_lsoas(ctx: _Context) -> Figure:
    data = ctx.data
    fig = ctx.page(
        f"The {TOP_LSOAS} LSOAs with the most offences: {ctx.area.name}",
        f"{ctx.info.text}. Ranked by the number of serious violence offences; rate per 1,000 "
        "residents with 95% confidence interval.",
    )
    lsoa = ctx.headline[ctx.headline["area_level"] == "lsoa"]
    lsoa = lsoa[lsoa["area_code"].isin(set(ctx.lsoas["lsoa_code"]))]
    lsoa = lsoa.assign(suppressed=lsoa.get("suppressed", False))
    top = lsoa[~lsoa["suppressed"].astype(bool)].dropna(subset=["count"])
    top = top.sort_values(["count", "rate_per_1000"], ascending=False).head(TOP_LSOAS)
    wards = ctx.lsoas.set_index("lsoa_code")["ward_name"]
    rows, shade = [], []
    for r in top.itertuples():
        vs = r.vs_county if isinstance(r.vs_county, str) else "–"
        rows.append([r.area_code, _short(r.area_name, 30), _short(wards.get(r.area_code, ""), 26),
                     fmt_num(r.count), fmt_num(r.rate_per_1000, 1),
                     fmt_ci(r.ci_lower, r.ci_upper, 1), vs])  # fmt: skip
        shade.append(VS_SHADE.get(vs))
    if not rows:
        fig.text(0.05, BODY_TOP - 0.05, "No published LSOA figures for this period.", fontsize=10)
        return fig
    bottom = draw_table(
        fig, 0.05, BODY_TOP - 0.02, [0.11, 0.22, 0.2, 0.09, 0.11, 0.13, 0.08],
        ["LSOA", "Name", "Ward", pdf_count_header(data.source), "Rate per 1,000", "95% CI",
         "vs county"],
        rows, align=["left", "left", "left", "right", "right", "right", "right"], shade=shade,
        fontsize=9,
    )  # fmt: skip
    share = float(top["count"].sum()) / float(lsoa["count"].sum(skipna=True) or 1)
    fig.text(
        0.05,
        bottom - 0.03,
        wrap(
            f"These {len(top)} of {len(lsoa):,} LSOAs hold {share * 100:.0f}% of the published "
            f"LSOA offences in {ctx.area.name}. An LSOA has about 1,500 residents, so a rate "
            "from a few offences is imprecise: read the interval.",
            190,
        ),
        fontsize=8.5,
        va="top",
        color=MUTED,
    )
    return fig


def _risk(ctx: _Context) -> Figure:
    data = ctx.data
    fig = ctx.page(
        f"Risk factors and deprivation: {ctx.area.name}",
        "How the rate of serious violence varies with deprivation, and which area factors go with it",
    )
    profile = data.decile_profiles.get((ctx.area.code, ctx.period))
    if profile is not None and len(profile):
        ax = fig.add_axes((0.07, 0.22, 0.38, 0.56))
        own = ctx.headline[(ctx.headline["area_level"] == ctx.area.level)
                           & (ctx.headline["area_code"] == ctx.area.code)]  # fmt: skip
        rate = (
            float(own["rate_per_1000"].iloc[0])
            if len(own) and pd.notna(own["rate_per_1000"].iloc[0])
            else None
        )
        charts.decile_chart(ax, profile, rate)
        ax.set_title("Rate by deprivation decile (IMD)", loc="left", fontweight="bold")
        fig.text(0.07, 0.12, wrap(
            "Offences per 1,000 residents in the LSOAs of each national IMD decile, with 95% "
            "intervals. Counts are not printed so the decile totals cannot undo suppression.", 80),
            fontsize=8, color=MUTED)  # fmt: skip
    else:
        not_available(fig, (0.05, 0.2, 0.47, 0.8), "Rate by deprivation decile",
                      data.why_missing("deprivation"))  # fmt: skip
    corr = data.table("risk_correlations")
    if corr is not None:
        c = corr[(corr["period"].astype(str) == ctx.period) & (corr["measure"] == HEADLINE)
                 & (corr["area_level"] == "lsoa")]  # fmt: skip
        if len(c):
            ax = fig.add_axes((0.7, 0.22, 0.27, 0.56))
            charts.correlation_chart(ax, c)
            ax.set_title("Area factors (county LSOAs)", loc="left", fontweight="bold")
            fig.text(0.55, 0.12, wrap(
                "Spearman rank correlation across the county's LSOAs with 95% intervals; filled "
                "where the Benjamini-Hochberg q is below 0.05. The IMD crime domain counts crime "
                "itself, so it is marked circular and is not an explanation.", 80),
                fontsize=8, color=MUTED)  # fmt: skip
            return fig
    not_available(fig, (0.53, 0.2, 0.97, 0.8), "Risk-factor correlations",
                  data.why_missing("risk_correlations"))  # fmt: skip
    return fig


def _methods(ctx: _Context) -> Figure:
    data = ctx.data
    d = data.definition
    fig = ctx.page("Methods and caveats")
    vintage = (
        ctx.lsoas["lsoa_vintage"].dropna().astype(str).unique()
        if "lsoa_vintage" in ctx.lsoas
        else []
    )
    what = (
        f"Serious violence is counted under {d.title} ({d.id}, version {d.version}, sha256 "
        f"{d.hash[:16]}): " + "; ".join(d.categories) + "."
    )
    if data.is_proxy:
        what = f"PROXY. {d.proxy_caveat} Public order is reported apart and is not in the headline."
    blocks = [
        ("Definition", what),
        ("Rates and intervals",
         "Crude rate per 1,000 residents"
         + (f" (population {data.population_year})" if data.population_year else "")
         + ". 95% confidence intervals: Byar's method for counts of 10 or more and the exact "
         "Poisson interval below, the Fingertips convention. Areas are 'higher' or 'lower' than the "
         "county when the interval lies wholly above or below the county rate, else 'similar'."),
        ("Maps",
         f"Classes: {_scheme_name(data.breaks.scheme)} (mapclassify) on the LSOA rates of "
         f"{', '.join(data.breaks_periods)}, fixed for every map, area and period of this run. "
         "LSOAs without a rate are grey hatched ('no data'), never the lowest class; suppressed "
         "LSOAs are dotted. Insets are chosen from the data: clusters of LSOAs in the top 20% of "
         "rates, within 250 m of each other, too small to read at the main map's scale. Labels are "
         "placed where they cover the fewest high-rate LSOAs."),
        ("Hot spots", _hotspot_method(data)),
        ("Year on year",
         "Changes compare complete years only, with an exact test for two Poisson counts; part "
         "years carry their months everywhere and are left out of comparisons."),
        ("Disclosure control",
         f"This pack is for: {data.audience.marking}. " + " ".join(data.rules_text)
         + " Rates, intervals and comparisons from a suppressed count are suppressed. Secondary "
         "suppression hides further cells so that no suppressed figure can be worked out from a "
         "row or column total or from another published table; a checker re-reads every "
         "published file before it is released."),
        ("Caveats",
         ("Data.police.uk locations are snapped to anonymous map points and months only; the "
          "proxy includes offences outside the local definition. " if data.is_proxy else "")
         + (f"LSOA boundaries: {', '.join(vintage)} vintage; police.uk moved to 2021 codes in "
            "2024, so figures on other vintages are placed through the ONS lookup. " if len(vintage) else "")
         + coverage_note(data.coverage, data.source, ctx.period)
         + " Recorded crime reflects reporting and recording as well as offending."),
    ]  # fmt: skip
    y = BODY_TOP - 0.01
    for heading, text in blocks:
        fig.text(0.04, y, heading, fontsize=10, fontweight="bold", va="top", color=ACCENT)
        body = wrap(text, 150)
        fig.text(0.2, y, body, fontsize=8.6, va="top", linespacing=1.35)
        y -= 0.026 * (body.count("\n") + 1) + 0.018
    return fig


def _sources(ctx: _Context) -> Figure:
    data = ctx.data
    fig = ctx.page("Data sources and licences")
    y = BODY_TOP - 0.02
    if data.inputs is not None and len(data.inputs):
        rows = []
        for r in data.inputs.head(18).itertuples():
            rows.append([str(r.source), _short(Path(str(r.file)).name, 60),
                         fmt_num(r.rows_loaded), str(r.sha256)[:12]])  # fmt: skip
        y = draw_table(fig, 0.04, y, [0.14, 0.5, 0.1, 0.14], ["Input", "File", "Rows", "sha256"],
                       rows, align=["left", "left", "right", "left"], fontsize=8)  # fmt: skip
        more = len(data.inputs) - 18
        if more > 0:
            fig.text(0.04, y - 0.02, f"... and {more} more files (all listed in audit.loads).",
                     fontsize=8, va="top")  # fmt: skip
        y -= 0.05
    attributions = [
        OGL_ATTRIBUTION + ".",
        OS_ATTRIBUTION + ".",
        "Source: Office for National Statistics licensed under the Open Government Licence v3.0 "
        "(boundaries, lookups, population).",
        "Ministry of Housing, Communities and Local Government: English Indices of Deprivation, "
        "Open Government Licence v3.0.",
        "data.police.uk street-level crime: Open Government Licence v3.0." if data.is_proxy
        else "Force crime extract: supplied to the partnership under its information sharing agreement.",
        "Open Government Licence v3.0: nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    ]  # fmt: skip
    fig.text(0.04, y, "Attribution", fontsize=10, fontweight="bold", va="top", color=ACCENT)
    fig.text(0.04, y - 0.035, "\n".join(attributions), fontsize=8.6, va="top", linespacing=1.6)
    return fig


def overview_png(data: PackData, area: Area, period: str, dpi: int = 100) -> bytes:
    """The area's rate map (with insets and legend) as a PNG, for index.html."""
    import io

    info = data.infos.get(period, PeriodInfo(period, 12))
    meta = PageMeta(area.name, info.text, data.definition.id, data.definition.hash, "",
                    data.is_proxy, data.audience.name, data.audience.marking)  # fmt: skip
    with mpl.rc_context(RC_PARAMS):
        fig = _map_page(_Context(data, area, period, info, meta), "rates")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
