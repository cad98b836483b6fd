"""The map pack rendered for a synthetic county: pages, their elements, sections that appear when
their table exists and say so plainly when it does not, part years, and the map's cartography."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest
import shapely
from matplotlib.figure import Figure
from pypdf import PdfReader

from outputs import charts, maps, pack
from outputs.findings import PeriodInfo
from outputs.style import OGL_ATTRIBUTION, OS_ATTRIBUTION, PROXY_BANNER, RC_PARAMS
from tests import packdata
from tests.unit.conftest import Rendered

PAGE_TITLES = [
    "Serious violence: strategic needs assessment map pack",
    "Key findings",
    "Serious violence offences per 1,000 residents, by LSOA: Testshire",
    "Hot spots of serious violence, by LSOA: Testshire",
    "Trend: Testshire",
    "Priorities and success measures",
    "Success measures by year: Testshire",
    "Rates by district: Testshire",
    "The 15 LSOAs with the most offences: Testshire",
    "Risk factors and deprivation: Testshire",
    "Methods and caveats",
    "Data sources and licences",
]


def pages(path: Path) -> list[str]:
    return [p.extract_text().replace("\n", " ") for p in PdfReader(path).pages]


@pytest.fixture(scope="module")
def county_pages(rendered: Rendered) -> list[str]:
    return pages(rendered.folder / "map_pack_testshire.pdf")


@pytest.fixture(scope="module")
def bare_pages(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The same county when only the rates were built: every analytics section is missing."""
    publication = packdata.publication(with_tables=False)
    path = tmp_path_factory.mktemp("bare") / "pack.pdf"
    pack.render_pack(publication.pack, publication.areas[0], "2022/23", path)
    return pages(path)


def test_one_pack_for_the_county_and_each_district(rendered: Rendered) -> None:
    names = sorted(p.name for p in rendered.folder.glob("map_pack_*.pdf"))
    assert names == ["map_pack_eastbrook.pdf", "map_pack_testshire.pdf", "map_pack_westmere.pdf"]


def test_every_page_has_its_title_and_the_common_elements(county_pages: list[str]) -> None:
    assert len(county_pages) == len(PAGE_TITLES)
    for n, (text, title) in enumerate(zip(county_pages, PAGE_TITLES, strict=True), start=1):
        assert title in text, f"page {n}"
        assert f"Page {n} of {len(PAGE_TITLES)}" in text
        assert "PUBLIC: small numbers suppressed; may be published" in text
        assert "testshire-2024" in text and "0f1e2d3c4b5a" in text
        assert OGL_ATTRIBUTION in text and OS_ATTRIBUTION in text
        assert PROXY_BANNER not in text


def test_cover_findings_and_tables_carry_the_numbers(county_pages: list[str]) -> None:
    cover, findings = county_pages[0], county_pages[1]
    assert "Testshire" in cover and "Period: 2022/23" in cover and "testshire-2024" in cover
    assert "Highest district rate: Westmere" in findings and "Lowest: Eastbrook" in findings
    assert "on 2021/22" in findings and "exact test" in findings
    assert "The 10% of LSOAs with the most offences (9 LSOAs) hold 31%" in findings
    assert "16 of 95 LSOAs are hot spots" in findings
    districts = county_pages[7]
    assert "Westmere" in districts and "Eastbrook" in districts and "95% CI" in districts
    top = county_pages[8]
    for column in ("LSOA", "Name", "Ward", "Offences", "Rate per 1,000", "95% CI"):
        assert column in top
    assert "Westmere North" in top


def test_sections_render_when_their_tables_exist(county_pages: list[str]) -> None:
    hot, trend, priorities, risk = (county_pages[i] for i in (3, 4, 5, 9))
    assert "Hot spot, 99% confidence  (16)" in hot and "Benjamini-Hochberg" in hot
    assert "999 permutations" in hot
    assert "Offences by month" in trend and "12-month average" in trend
    for tile in ("Under-25s", "Domestic abuse", "Drugs and alcohol", "Places"):
        assert tile in priorities
    assert "Hospital admissions for assault by a sharp object" in priorities
    assert "Homicides" in priorities and "HES" in priorities
    assert "Rate by deprivation decile (IMD)" in risk and "Crime domain (circular)" in risk
    assert "Not available in this run" not in " ".join(county_pages)


def test_missing_tables_say_so_plainly(bare_pages: list[str]) -> None:
    assert len(bare_pages) == len(PAGE_TITLES)
    findings, hot, trend, priorities, risk = (bare_pages[i] for i in (1, 3, 4, 5, 9))
    assert "top 10% of LSOAs: not available in this run" in findings
    assert "Not available in this run: the hotspot analysis (build.hotspots) did not run" in hot
    assert "Not available in this run: monthly trends (build.trends) were not built" in trend
    assert "Rate by year" in trend  # drawn from the rates alone
    assert priorities.count("Not available in this run") == 5  # four priorities and the measures
    assert "Not available in this run: the risk-factor correlations" in risk
    assert "Not available in this run: the success measures need NHS" in bare_pages[6]
    assert "Rate by deprivation decile (IMD)" in risk


def test_a_part_year_is_marked_with_its_months_and_not_compared(tmp_path: Path) -> None:
    publication = packdata.publication(with_tables=False)
    path = pack.render_pack(publication.pack, publication.areas[0], "2023/24", tmp_path / "p.pdf")
    text = pages(path)
    label = "2023/24 (part year: Apr–Jul 2023, 4 months)"
    assert all(label in page for page in text)
    assert "No comparison with last year: 2023/24 holds only 4 months" in text[1]
    assert "4 months (Apr–Jul 2023)" in text[4]  # labelled on the trend chart


def test_district_pack_shows_its_wards(rendered: Rendered) -> None:
    text = pages(rendered.folder / "map_pack_westmere.pdf")
    assert "Rates by ward: Westmere" in text[7]
    assert "Westmere North" in text[7] and "Westmere South" in text[7]
    assert "Eastbrook North" not in text[7]
    assert "than the county rate" in text[1]


def _map_context(publication, period: str = "2022/23") -> pack._Context:
    area = publication.areas[0]
    info = publication.pack.infos[period]
    meta = pack.PageMeta(area.name, info.text, "d", "h", "s", False, "public", "PUBLIC")
    return pack._Context(publication.pack, area, period, info, meta)


def test_the_map_page_has_its_cartographic_elements(rendered: Rendered) -> None:
    publication = rendered.publication
    with mpl.rc_context(RC_PARAMS):
        ctx = _map_context(publication)
        fig = pack._map_page(ctx, "rates")
    main = fig.axes[0]
    gids = {c.get_gid() for c in main.collections} | {p.get_gid() for p in main.patches}
    assert {"wards", "districts", "inset_frame_1"} <= gids
    assert any(g and g.startswith("class_") for g in gids)
    assert any(t.get_gid() == "north_arrow" for t in main.texts)
    assert any(isinstance(a, maps.AnchoredSizeBar) for a in main.artists)  # scale bar
    assert len(fig.axes) == 1 + len(ctx.insets) == 2
    assert ctx.insets[0].title == "Westmere: Westmere North"
    legend = fig.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[0].startswith(f"{publication.pack.breaks.labels[0]}  (")
    assert any(label.startswith("No data") for label in labels)
    notes = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert "Fisher-Jenks natural breaks (mapclassify, k=" in notes
    assert "2021/22, 2022/23; the same breaks" in notes  # complete years only


def test_labels_stay_off_the_high_rate_lsoas(rendered: Rendered) -> None:
    with mpl.rc_context(RC_PARAMS):
        ctx = _map_context(rendered.publication)
        fig = pack._map_page(ctx, "rates")
    town = shapely.union_all(ctx.lsoas.geometry[ctx.lsoas["area_km2"] < 1].to_numpy())
    labels = [t for t in fig.axes[0].texts if t.get_gid() == "area_label"]
    assert sorted(t.get_text() for t in labels) == ["Eastbrook", "Westmere"]
    for t in labels:
        assert not town.contains(shapely.Point(t.get_position()))


def test_a_map_of_many_districts_has_thin_outlines_and_no_names_or_wards(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above MANY_DISTRICTS (England and Wales has 318) the main map keeps only thin district
    lines; the insets keep the wards."""
    monkeypatch.setattr(pack, "MANY_DISTRICTS", 1)  # the synthetic county has two
    with mpl.rc_context(RC_PARAMS):
        ctx = _map_context(rendered.publication)
        fig = pack._map_page(ctx, "rates")
    main, inset = fig.axes[0], fig.axes[1]
    gids = {c.get_gid() for c in main.collections}
    assert "districts" in gids and "wards" not in gids
    assert not [t for t in main.texts if t.get_gid() == "area_label"]
    assert "wards" in {c.get_gid() for c in inset.collections}
    assert "Outlines: districts (wards in the insets)." in " ".join(t.get_text() for t in fig.texts)


def test_breaks_are_fixed_across_periods_and_areas(rendered: Rendered) -> None:
    publication = rendered.publication
    with mpl.rc_context(RC_PARAMS):
        labels = set()
        for period in ("2021/22", "2022/23"):
            for area in publication.areas:
                info = publication.pack.infos[period]
                meta = pack.PageMeta(area.name, info.text, "d", "h", "s", False, "public", "P")
                ctx = pack._Context(publication.pack, area, period, info, meta)
                fig = pack._map_page(ctx, "rates")
                labels.add(
                    tuple(t.get_text().split("  (")[0] for t in fig.legends[0].get_texts())[:5]
                )
    assert len(labels) == 1


def test_an_lsoa_with_no_rate_is_no_data_never_the_lowest_class(rendered: Rendered) -> None:
    publication = rendered.publication
    with mpl.rc_context(RC_PARAMS):
        ctx = _map_context(publication)
        ctx.lsoa_rate[[0, 5]] = np.nan
        fig = pack._map_page(ctx, "rates")
    layers = {c.get_gid(): c for c in fig.axes[0].collections if c.get_gid()}
    assert len(layers["no_data"].get_paths()) == 2
    assert {mpl.colors.to_hex(c) for c in layers["no_data"].get_facecolors()} == {
        maps.NO_DATA_COLOUR
    }
    drawn = sum(len(c.get_paths()) for g, c in layers.items() if g.startswith("class_"))
    assert drawn == len(ctx.lsoas) - 2


def test_period_text_carries_part_year_months() -> None:
    import pandas as pd

    info = PeriodInfo("2024/25", 4, pd.Timestamp("2024-04-01"), pd.Timestamp("2024-07-01"))
    assert info.text == "2024/25 (part year: Apr–Jul 2024, 4 months)"
    assert PeriodInfo("2023", 12).text == "2023"
    span = PeriodInfo("2023/24", 10, pd.Timestamp("2023-04-01"), pd.Timestamp("2024-01-01"))
    assert span.month_span == "Apr 2023–Jan 2024"


# ---------------------------------------------------------------- the success measures by year


def _drawn_y(ax) -> np.ndarray:
    """Every y value drawn in data coordinates: line and marker points and CI whisker ends."""
    ys = [
        np.asarray(line.get_ydata(), dtype=float)
        for line in ax.lines
        if line.get_transform() == ax.transData
    ]
    for collection in ax.collections:
        ys += [
            np.asarray(seg, dtype=float).reshape(-1, 2)[:, 1] for seg in collection.get_segments()
        ]
    return np.concatenate(ys) if ys else np.array([])


def test_the_success_chart_draws_no_suppressed_value_and_prints_none() -> None:
    publication = packdata.publication()
    published = publication.pack.tables["success_measures"]
    hidden = published[published["suppressed"]]
    # 5 under-25 knife admissions in 2022/23: an NHS count of 1-7, suppressed
    assert hidden[["measure", "victims", "period"]].values.tolist() == [
        ["knife_admissions", "under_25", "2022/23"]
    ]
    exact = packdata.analytics_tables(packdata.lsoas(), packdata.sv_rates(packdata.lsoas()))
    secret = exact["success_measures"].query(
        "measure == 'knife_admissions' and victims == 'under_25' and period == '2022/23'"
    )
    assert secret["count"].tolist() == [5]
    fig = Figure()
    ax = fig.add_subplot()
    series = [("knife_admissions", "all", "All ages"), ("knife_admissions", "under_25", "Under 25")]
    with mpl.rc_context(RC_PARAMS):
        suppressed = charts.success_chart(ax, published, periods=list(packdata.PERIODS),
                                          series=series, value="rate",
                                          infos=publication.pack.infos)  # fmt: skip
    assert suppressed
    drawn = _drawn_y(ax)
    for value in secret[["rate", "ci_lower", "ci_upper"]].to_numpy().ravel():
        assert not np.isclose(drawn, value).any(), f"{value} is drawn"
    shown = published.query("measure == 'knife_admissions' and not suppressed")
    for value in shown["rate"]:
        assert np.isclose(drawn, value).any(), f"{value} is not drawn"
    marks = [line for line in ax.lines if line.get_marker() == charts.SUPPRESSED_MARK]
    assert [round(float(x)) for line in marks for x in line.get_xdata()] == [1]  # 2022/23
    assert len(ax.texts) == 0  # no data labels: the numbers are in the tables the checker reads
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["All ages", "Under 25", charts.SUPPRESSED_LABEL]


def test_the_success_measures_page_says_what_where_and_from_which_source(
    county_pages: list[str],
) -> None:
    page = county_pages[6]
    for text in (
        "Hospital admissions for assault by a sharp object (X99), Testshire",
        "Police-recorded knife- or sharp-object-enabled serious violence, Testshire",
        "Homicides (police-recorded), Testshire",
        "Rate per 100,000 residents (95% CI)",
        "Rate per 1,000 residents (95% CI)",
        "Homicides in the year",
        "Financial year",
        "Source: HES admitted patient care, ICD-10 X99",
        "x on the axis: suppressed (small number), not plotted",
        "Hospital admissions (HES): counts 1-7 suppressed",
    ):
        assert text in page, text
