"""The checker re-reads a published folder: clean output passes, and every kind of breach planted
in a CSV, a workbook, a GeoPackage or a PDF table is found and named."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import pandas as pd
import pyogrio
import pytest
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from openpyxl import load_workbook

from outputs.style import RC_PARAMS, draw_table
from tests.unit.conftest import Rendered
from transforms.disclosure import CELL_TABLES, count_cells, table_cells
from transforms.disclosure_check import check_published

GEOGRAPHY = ["lsoa_code", "ward_code", "district_code", "county_code"]
PARTS = {"all_serious_violence": ["violence", "robbery"]}


def check(rendered: Rendered, folder: Path) -> list:
    pub = rendered.publication
    exact_tables = _exact(rendered)
    cells = count_cells(table_cells(n, t) for n, t in exact_tables.items() if n in CELL_TABLES)
    return check_published(
        folder,
        pub.audience,
        exact=cells,
        rates_source="police",
        geography=pub.pack.lsoas[GEOGRAPHY],
        partitions=PARTS,
    )


def _exact(rendered: Rendered) -> dict[str, pd.DataFrame]:
    from tests import packdata

    areas = packdata.lsoas()
    rates = packdata.sv_rates(areas)
    return {"sv_rates": rates, **packdata.analytics_tables(areas, rates)}


@pytest.fixture()
def folder(rendered: Rendered, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A copy of the files a test plants its breach in (all of them unless it says which)."""
    marker = request.node.get_closest_marker("files")
    names = marker.args if marker else [p.name for p in rendered.folder.iterdir()]
    copy = tmp_path / "2022-23"
    copy.mkdir()
    for name in names:
        shutil.copy(rendered.folder / name, copy / name)
    return copy


def rewrite_csv(path: Path, edit) -> None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    edit(rows)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def small_hidden_lsoa_row(rows: list[list[str]]) -> int:
    header = rows[0]
    level, count = header.index("area_level"), header.index("count")
    return next(i for i, r in enumerate(rows) if r[level] == "lsoa" and r[count] == "*")


def test_the_published_folder_passes(rendered: Rendered) -> None:
    assert check(rendered, rendered.folder) == []
    # and the protection was not trivial: the public audience hides small LSOA counts
    assert (rendered.publication.cells["status"] == "primary").sum() > 10


@pytest.mark.files("sv_rates.csv")
def test_a_small_count_printed_in_a_csv_is_found(rendered: Rendered, folder: Path) -> None:
    path = folder / "sv_rates.csv"
    state = {}

    def plant(rows):
        i = small_hidden_lsoa_row(rows)
        rows[i][rows[0].index("count")] = "3"
        state["row"] = i + 1

    rewrite_csv(path, plant)
    found = check(rendered, folder)
    rules = {(Path(v.file).name, v.rule) for v in found}
    assert ("sv_rates.csv", "small count") in rules
    assert any(v.where.startswith(f"sv_rates row {state['row']}") for v in found)


@pytest.mark.files("sv_rates.csv")
def test_a_rate_left_beside_a_suppressed_count_is_found(rendered: Rendered, folder: Path) -> None:
    def plant(rows):
        i = small_hidden_lsoa_row(rows)
        rows[i][rows[0].index("rate_per_1000")] = "2.1"

    rewrite_csv(folder / "sv_rates.csv", plant)
    assert {v.rule for v in check(rendered, folder)} >= {"derived"}


@pytest.mark.files("sv_rates.csv", "sna_tables.xlsx")
def test_a_formula_in_a_csv_or_workbook_is_found(rendered: Rendered, folder: Path) -> None:
    def plant(rows):
        rows[1][rows[0].index("area_name")] = '=HYPERLINK("http://x","click")'

    rewrite_csv(folder / "sv_rates.csv", plant)
    wb = load_workbook(folder / "sna_tables.xlsx")
    wb["sv_rates"]["C2"] = "=1+1"
    wb.save(folder / "sna_tables.xlsx")
    found = [(Path(v.file).name, v.rule) for v in check(rendered, folder)]
    assert ("sv_rates.csv", "formula") in found and ("sna_tables.xlsx", "formula") in found


@pytest.mark.files("sv_rates.csv")
def test_negative_numbers_are_not_formulas(rendered: Rendered, folder: Path) -> None:
    def plant(rows):
        rows[1][rows[0].index("area_name")] = "-12.5"

    rewrite_csv(folder / "sv_rates.csv", plant)
    assert check(rendered, folder) == []


@pytest.mark.files("sv_rates.csv")
def test_a_cell_recoverable_by_differencing_two_files_is_found(
    rendered: Rendered, folder: Path
) -> None:
    """Print in one file the exact count of a cell that every file suppresses: the suppressed
    LSOA it protects can then be worked out from the ward total."""
    exact = _exact(rendered)["sv_rates"]
    cells = rendered.publication.cells
    secondary = cells[(cells["status"] == "secondary") & (cells["area_level"] == "lsoa")].iloc[0]
    truth = exact[
        (exact["area_level"] == "lsoa")
        & (exact["area_code"] == secondary["area_code"])
        & (exact["period"] == secondary["period"])
        & (exact["measure"] == secondary["measure"])
    ]["count"].item()
    extra = pd.DataFrame(
        [{c: secondary[c] for c in ("source", "area_level", "area_code", "period", "measure")}
         | {"count": truth, "audience": "public"}]
    )  # fmt: skip
    extra.to_csv(folder / "extra_table.csv", index=False, encoding="utf-8-sig")
    found = check(rendered, folder)
    assert any(v.rule == "recoverable" for v in found)


@pytest.mark.files("sna.gpkg")
def test_a_gpkg_layer_in_the_wrong_crs_or_with_a_small_count_is_found(
    rendered: Rendered, folder: Path
) -> None:
    path = folder / "sna.gpkg"
    lsoa = gpd.read_file(path, layer="lsoa")
    lsoa.loc[0, "count"] = 2
    path.unlink()
    for layer in ("lsoa", "ward", "district"):
        frame = (
            lsoa if layer == "lsoa" else gpd.read_file(rendered.folder / "sna.gpkg", layer=layer)
        )
        frame.to_crs("EPSG:4326").to_file(path, layer=layer, driver="GPKG")
    rules = {v.rule for v in check(rendered, folder) if Path(v.file).name == "sna.gpkg"}
    assert {"crs", "small count"} <= rules


@pytest.mark.files()
def test_a_small_count_printed_in_a_pdf_table_is_found(rendered: Rendered, folder: Path) -> None:
    with mpl.rc_context(RC_PARAMS):
        fig = Figure(figsize=(11.69, 8.27))
        fig.text(0.1, 0.95, rendered.publication.audience.marking)
        draw_table(fig, 0.05, 0.8, [0.1, 0.2, 0.1, 0.1, 0.1],
                   ["LSOA", "Name", "Offences", "Rate per 1,000", "95% CI"],
                   [["E01900001", "Westmere 001A", "3", "2.0", "0.4 to 5.8"],
                    ["E01900002", "Westmere 002A", "*", "4.2", "*"],
                    ["E01900003", "Ward with ffi ligature", "250", "41.0", "36.1 to 46.4"]])  # fmt: skip
        with PdfPages(folder / "planted.pdf") as pdf:
            pdf.savefig(fig)
    found = [v for v in check(rendered, folder) if Path(v.file).name == "planted.pdf"]
    assert {(v.rule, v.where.split("row ")[1]) for v in found} == {
        ("small count", "'E01900001'"),
        ("derived", "'E01900002'"),
    }


@pytest.mark.files("sv_rates.csv", "index.html")
def test_every_file_must_say_its_audience(rendered: Rendered, folder: Path) -> None:
    def strip(rows):
        i = rows[0].index("audience")
        for row in rows:
            del row[i]

    rewrite_csv(folder / "sv_rates.csv", strip)
    html = folder / "index.html"
    html.write_text(
        html.read_text(encoding="utf-8").replace(rendered.publication.audience.marking, ""),
        encoding="utf-8",
    )
    found = {(Path(v.file).name, v.rule) for v in check(rendered, folder)}
    assert {("sv_rates.csv", "audience"), ("index.html", "audience")} <= found


def test_geopackage_opens_with_a_fresh_reader(rendered: Rendered) -> None:
    """Layers, CRS and fields as QGIS would see them, read through GDAL and through sqlite3."""
    import sqlite3

    path = rendered.folder / "sna.gpkg"
    layers = dict(pyogrio.list_layers(path))
    assert {"lsoa", "ward", "district"} <= set(layers)
    assert all(layers[name] == "MultiPolygon" for name in ("lsoa", "ward", "district"))
    for name in ("lsoa", "ward", "district"):
        info = pyogrio.read_info(path, layer=name)
        assert info["crs"] == "EPSG:27700"
        for field in ("rate_per_1000", "ci_lower", "ci_upper", "suppressed", "gi_bin",
                      "hotspot", "audience"):  # fmt: skip
            assert field in info["fields"], (name, field)
    con = sqlite3.connect(path)
    try:
        srs = con.execute(
            "SELECT DISTINCT srs_id FROM gpkg_geometry_columns WHERE table_name IN"
            " ('lsoa', 'ward', 'district')"
        ).fetchall()
        assert srs == [(27700,)]
        (n,) = con.execute("SELECT count(*) FROM lsoa").fetchone()
        (hidden,) = con.execute(
            "SELECT count(*) FROM lsoa WHERE suppressed AND count IS NULL"
        ).fetchone()
        (bad,) = con.execute("SELECT count(*) FROM lsoa WHERE count BETWEEN 1 AND 4").fetchone()
    finally:
        con.close()
    assert n == 95 and bad == 0
    assert hidden == int(
        pyogrio.read_dataframe(path, layer="lsoa", read_geometry=False)["suppressed"].sum()
    )


def test_workbook_has_contents_notes_and_one_sheet_per_table(rendered: Rendered) -> None:
    wb = load_workbook(rendered.folder / "sna_tables.xlsx", read_only=True)
    try:
        names = wb.sheetnames
        assert names[:2] == ["Contents", "Notes"]
        assert {"sv_rates", "hotspots", "concentration", "success_measures"} <= set(names)
        contents = [c for row in wb["Contents"].iter_rows(values_only=True) for c in row if c]
        assert rendered.publication.audience.marking in contents
        notes = [c for row in wb["Notes"].iter_rows(values_only=True) for c in row if c]
        assert "rate_per_1000" in notes and "per 1,000 residents" in notes
        header = next(wb["sv_rates"].iter_rows(values_only=True))
        assert {"count", "rate_per_1000", "suppressed", "audience", "basis"} <= set(header)
    finally:
        wb.close()
