"""The analyst notebook runs top to bottom against a built database, read-only, and is stored clean.

`build_fixture_db` writes a tiny database with the shapes the pipeline builds (ref.lsoa,
marts.sv_rates, quarantine.rejects, ref.sv_definition, marts.geography_coverage, and the hotspot,
concentration and risk marts made by the real transforms). To run the notebook against the database the
real pipeline built instead, set SNA_TEST_DATABASE to its path: expected names are read from it.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import nbformat
import numpy as np
import pandas as pd
import pytest
import shapely
from nbclient import NotebookClient
from shapely.geometry import box

from tests.unit.analysis_fixture import add_analysis_tables
from transforms.rates import RATE_COLUMNS

pytestmark = pytest.mark.notebook  # runs in make test, not make test-fast

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "sna_walkthrough.ipynb"
HEADLINE = "all_serious_violence"
COUNTY = ("E10900001", "Testshire")
DISTRICTS = {"E07900001": "Westmere", "E07900002": "Eastbrook"}


def build_fixture_db(path: Path, *, source: str = "police", rejects: bool = True) -> Path:
    """A small SNA database: 2 districts x 2 wards x 3 LSOAs, three periods, read by the notebook."""
    rng = np.random.default_rng(11)
    lsoas = []
    for d, (dcode, dname) in enumerate(DISTRICTS.items()):
        for w in range(2):
            for n in range(3):
                i = len(lsoas)
                lsoas.append(
                    {
                        "lsoa_code": f"E01900{i:03d}",
                        "lsoa_name": f"{dname} {w + 1}{chr(65 + n)}",
                        "lsoa_vintage": "2021",
                        "ward_code": f"E05900{d}{w}0",
                        "ward_name": f"{dname} Ward {w + 1}",
                        "district_code": dcode,
                        "district_name": dname,
                        "county_code": COUNTY[0],
                        "county_name": COUNTY[1],
                        "area_km2": 1.0,
                        "geometry": shapely.to_wkb(
                            box(
                                600_000 + (i % 4) * 1000,
                                300_000 + (i // 4) * 1000,
                                601_000 + (i % 4) * 1000,
                                301_000 + (i // 4) * 1000,
                            )
                        ),
                    }
                )
    lsoa = pd.DataFrame(lsoas)
    rows = []
    for period, months in [("2021/22", 12), ("2022/23", 12), ("2023/24", 6)]:
        base = lsoa.assign(
            count=rng.poisson(12 * months / 12, len(lsoa)),
            population=rng.integers(1200, 2000, len(lsoa)),
        )
        levels = [("lsoa", "lsoa_code", "lsoa_name")]
        levels += [
            ("ward", "ward_code", "ward_name"),
            ("district", "district_code", "district_name"),
        ]
        levels += [("county", "county_code", "county_name")]
        for level, code, name in levels:
            agg = base.groupby([code, name], as_index=False)[["count", "population"]].sum()
            rows.append(
                pd.DataFrame(
                    {
                        "area_level": level,
                        "area_code": agg[code],
                        "area_name": agg[name],
                        "period": period,
                        "months": months,
                        "measure": HEADLINE,
                        "count": agg["count"],
                        "population": agg["population"],
                    }
                )
            )
    rates = pd.concat(rows, ignore_index=True)
    no_rate = (rates["area_level"] == "lsoa") & (rates["area_code"] == "E01900011")
    rates.loc[no_rate, "population"] = 0  # an LSOA without a rate: the map's no-data class
    rate = (rates["count"] / rates["population"].replace(0, np.nan) * 1000).astype("Float64")
    rates["rate_per_1000"] = rate
    rates["ci_lower"] = rate * 0.7
    rates["ci_upper"] = rate * 1.4
    rates["vs_county"] = "similar"
    rates["vs_england"] = "similar"
    rates["source"] = source
    rates["definition_id"] = "norfolk-2024"
    rates = rates[RATE_COLUMNS]  # the mart's own schema, so the fixture cannot drift
    definition = pd.DataFrame(
        [{"definition_id": "norfolk-2024", "version": "1", "hash": "ab" * 32, "rules_json": "{}"}]
    )
    reject_rows = pd.DataFrame(
        {
            "source": ["police", "police"],
            "file": ["/data/demo/police/demo_force_crimes_2022-23.csv"] * 2,
            "line": [17, 230],
            "column": ["offence_date", "victim_age"],
            "value": ["31/02/2022", "400"],
            "reason": ["not a date (dd/mm/yyyy)", "age outside 0..120"],
            "load_id": ["run-1", "run-1"],
        }
    ).iloc[: 2 if rejects else 0]
    coverage = pd.DataFrame(
        {
            "source": [source] * 3,
            "status": ["in_area", "no_lsoa", "outside_area"],
            "incidents": [900, 20, 10],
            "serious_violence": [400, 8, 5],
        }
    )
    con = duckdb.connect(str(path))
    try:
        for schema in ("ref", "marts", "quarantine"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for table, frame in [
            ("ref.lsoa", lsoa),
            ("marts.sv_rates", rates),
            ("ref.sv_definition", definition),
            ("quarantine.rejects", reject_rows),
            ("marts.geography_coverage", coverage),
        ]:
            con.register("frame", frame)
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM frame")
            con.unregister("frame")
        add_analysis_tables(con, lsoa, rates)
    finally:
        con.close()
    return path


def run_notebook(database: Path) -> nbformat.NotebookNode:
    """Execute the notebook as an analyst would: from the notebooks folder, SNA_DATABASE set."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel's inline backend
    env["SNA_DATABASE"] = str(database)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute(env=env)
    return nb


def cell_output_text(nb: nbformat.NotebookNode, tag: str) -> str:
    """All text a tagged cell produced (stream text, plain and HTML representations)."""
    cell = next(c for c in nb.cells if tag in c.metadata.get("tags", []))
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.extend(out.data.get(k, "") for k in ("text/plain", "text/html", "text/markdown"))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Path:
    real = os.environ.get("SNA_TEST_DATABASE")
    if real:
        return Path(real)
    return build_fixture_db(tmp_path_factory.mktemp("db") / "sna.duckdb")


@pytest.fixture(scope="module")
def executed(database) -> nbformat.NotebookNode:
    return run_notebook(database)


def test_notebook_runs_and_shows_district_table(executed, database):
    with duckdb.connect(str(database), read_only=True) as con:
        names = [
            r[0] for r in con.execute("SELECT DISTINCT district_name FROM ref.lsoa").fetchall()
        ]
        definition_id = con.execute("SELECT definition_id FROM ref.sv_definition").fetchone()[0]
    table = cell_output_text(executed, "district-table")
    assert names and all(name in table for name in names if name is not None)
    assert "rate_per_1000" in table and "ci_lower" in table
    assert definition_id in cell_output_text(executed, "definition")


def test_notebook_picks_latest_full_year_and_draws_the_map(executed, database):
    choice = cell_output_text(executed, "choice")
    if os.environ.get("SNA_TEST_DATABASE") is None:
        assert "period: 2022/23" in choice  # 2023/24 has only 6 months
        assert "police_uk" not in choice.split("\n")[0]
        assert "Westmere" in cell_output_text(executed, "top-lsoas")
        assert "age outside 0..120" in cell_output_text(executed, "quarantine")
    map_cell = next(c for c in executed.cells if "county-map" in c.metadata.get("tags", []))
    assert any("image/png" in out.get("data", {}) for out in map_cell.outputs)


def test_notebook_shows_hotspots_concentration_and_risk(executed, database):
    with duckdb.connect(str(database), read_only=True) as con:
        hot = con.execute(
            "SELECT area_name FROM marts.hotspots WHERE gi_bin >= 2 AND area_level = 'lsoa'"
            " AND value_type = 'rate_per_1000' ORDER BY gi_z DESC LIMIT 1"
        ).fetchall()
    hotspots = cell_output_text(executed, "hotspots")
    assert "hot and" in hotspots and "Top five hotspots" in hotspots and "queen" in hotspots
    if hot:
        assert hot[0][0] in hotspots
    for tag in ("hotspot-map", "grid-map", "concentration"):
        cell = next(c for c in executed.cells if tag in c.metadata.get("tags", []))
        assert any("image/png" in out.get("data", {}) for out in cell.outputs), tag
    assert "share_of_incidents" in cell_output_text(executed, "concentration")
    assert "imd_score" in cell_output_text(executed, "correlations")
    # the fixture has two full years and a part year: too few for emerging hotspots, and it says so
    assert "at least three full years" in cell_output_text(executed, "emerging")


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_missing_database_says_run_make_run_first(tmp_path, monkeypatch):
    setup = next(
        c.source
        for c in nbformat.read(NOTEBOOK, as_version=4).cells
        if "setup" in c.metadata.get("tags", [])
    )
    monkeypatch.setenv("SNA_DATABASE", str(tmp_path / "absent.duckdb"))
    with pytest.raises(FileNotFoundError, match=r"run `make run` first"):
        exec(compile(setup, "setup-cell", "exec"), {})


def test_proxy_database_shows_the_proxy_caveat(tmp_path):
    db = build_fixture_db(tmp_path / "proxy.duckdb", source="police_uk", rejects=False)
    nb = run_notebook(db)
    assert "not the local definition" in cell_output_text(nb, "caveat")
    assert "No rejected rows" in cell_output_text(nb, "quarantine")
