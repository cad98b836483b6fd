"""Hotspots, concentration and risk on the demo county, checked against the truth it plants.

The demo plants night-time-economy hotspots (planted_structure.json): the four LSOAs at the city
centre (a cluster) and one LSOA at each of three town centres (isolated), on top of an urban and
deprivation gradient. Gi* tests an area *together with its neighbours*, so:

- the city-centre cluster must be found by LSOA Gi* alone;
- an isolated town-centre LSOA among ordinary neighbours has a Gi* z near 0 by construction (its
  neighbourhood is not high), so it counts as found when LSOA Gi* or the point grid's Gi* puts it
  (the cell holding its planted centre) in a 95%+ hot bin;
- a hot LSOA is a false discovery when its Gi* neighbourhood (itself and its Queen neighbours)
  holds no planted hotspot.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pytest

from tests.pipelines.conftest import Run
from transforms.concentration import concentration_table, lorenz_curve
from transforms.db import read_geotable
from transforms.emerging import emerging_layer
from transforms.grid import grid_layer
from transforms.hotspots import contiguity, hotspot_layer
from transforms.risk import correlation_table, model_table

HEADLINE = "all_serious_violence"


def planted(demo_dir: Path) -> list[dict]:
    truth = json.loads((demo_dir / "planted_structure.json").read_text(encoding="utf-8"))
    return truth["night_time_economy_hotspots"]["hotspots"]


@pytest.fixture(scope="module")
def con(demo_run: Run):
    connection = duckdb.connect(str(demo_run.settings.database), read_only=True)
    yield connection
    connection.close()


def lsoa_bins(con, period: str) -> dict[str, int]:
    return dict(
        con.execute(
            "SELECT area_code, gi_bin FROM marts.hotspots WHERE area_level = 'lsoa' AND period = ?"
            " AND measure = ? AND value_type = 'rate_per_1000'",
            [period, HEADLINE],
        ).fetchall()
    )


def periods(con) -> list[str]:
    return [
        r[0]
        for r in con.execute("SELECT DISTINCT period FROM marts.hotspots ORDER BY 1").fetchall()
    ]


def test_every_hotspot_asset_and_check_ran(demo_run: Run) -> None:
    keys = {
        m.asset_key.to_user_string() for m in demo_run.result.get_asset_materialization_events()
    }
    for table in (
        "hotspots",
        "hotspot_grid",
        "emerging_hotspots",
        "concentration",
        "lorenz_curve",
        "risk_factors",
        "risk_correlations",
        "risk_model",
    ):
        assert f"marts/{table}" in keys
    checks = {
        c.check_name: c.passed
        for c in demo_run.result.get_asset_check_evaluations()
        if c.asset_key.path[-1]
        in {"hotspots", "hotspot_grid", "emerging_hotspots", "concentration"}
        or c.asset_key.path[-1].startswith("risk")
    }
    assert len(checks) == 7 and all(checks.values()), checks


def test_planted_night_time_hotspots_are_found(demo_run: Run, con) -> None:
    hotspots = planted(demo_run.demo_dir)
    size = con.execute("SELECT any_value(cell_size_m) FROM marts.hotspot_grid").fetchone()[0]
    found = []
    for period in periods(con):
        bins = lsoa_bins(con, period)
        grid = dict(
            con.execute(
                "SELECT cell_id, gi_bin FROM marts.hotspot_grid WHERE period = ?", [period]
            ).fetchall()
        )
        for h in hotspots:
            cell = f"{int(h['centre_easting'] // size * size)}_{int(h['centre_northing'] // size * size)}"
            found.append(bins[h["lsoa_code"]] >= 2 or grid[cell] >= 2)
        city = [h["lsoa_code"] for h in hotspots if h["settlement_type"] == "city"]
        assert [bins[c] for c in city] == [3] * len(city), period  # the cluster, by LSOA Gi*
    assert np.mean(found) >= 0.9


def test_hot_lsoas_are_the_planted_hotspots_and_their_neighbourhoods(demo_run: Run, con) -> None:
    truth = {h["lsoa_code"] for h in planted(demo_run.demo_dir)}
    areas = read_geotable(con, "ref.lsoa").sort_values("lsoa_code")
    neighbours = contiguity(areas.geometry.to_numpy(), areas["lsoa_code"].tolist())
    near = {
        code
        for i, code in enumerate(neighbours.ids)
        if {code} | {neighbours.ids[j] for j in neighbours.adjacency[i].indices} & truth
    }
    hot = false = 0
    for period in periods(con):
        bins = lsoa_bins(con, period)
        hot_here = {c for c, b in bins.items() if b >= 2}
        hot += len(hot_here)
        false += len(hot_here - near)
    assert hot > 0 and false / hot <= 0.1


def test_planted_city_centre_is_a_persistent_hot_spot(demo_run: Run, con) -> None:
    city = [h["lsoa_code"] for h in planted(demo_run.demo_dir) if h["settlement_type"] == "city"]
    rows = con.execute(
        "SELECT area_code, category, years FROM marts.emerging_hotspots WHERE area_level = 'lsoa'"
        " AND value_type = 'rate_per_1000' AND measure = ?",
        [HEADLINE],
    ).fetchall()
    by = {code: (category, years) for code, category, years in rows}
    assert len(by) == 60
    assert {by[c] for c in city} == {("persistent hot spot", 3)}


def test_deprivation_link_is_recovered_with_the_right_sign(con) -> None:
    imd = con.execute(
        "SELECT period, estimate, ci_lower FROM marts.risk_correlations WHERE area_level = 'lsoa'"
        " AND factor = 'imd_score' AND measure = ?",
        [HEADLINE],
    ).fetchall()
    assert len(imd) == 3 and all(est > 0 and low > 0 for _, est, low in imd)
    income = con.execute(
        "SELECT irr, ci_lower, residual_morans_i FROM marts.risk_model WHERE area_level = 'lsoa'"
        " AND term = 'income_score' AND measure = ?",
        [HEADLINE],
    ).fetchall()
    assert len(income) == 3 and all(irr > 1 and low > 1 for irr, low, _ in income)
    crime = con.execute(
        "SELECT count(*) FROM marts.risk_factors WHERE factor LIKE 'crime%'"
    ).fetchone()[0]
    assert crime == 0  # the circular crime domain is out by default


def test_concentration_reconciles_and_beats_chance(con) -> None:
    rows = con.execute(
        "SELECT c.period, c.top_percent, c.share_of_incidents, c.share_of_population, c.gini,"
        " c.gini_random_baseline, c.total_incidents, r.count FROM marts.concentration c"
        " JOIN marts.sv_rates r ON r.area_level = 'county' AND r.period = c.period"
        " AND r.measure = c.measure AND r.source = c.source WHERE c.measure = ?",
        [HEADLINE],
    ).fetchall()
    assert len(rows) == 12
    for _, top, share, population, gini, baseline, total, county in rows:
        assert total == county
        assert gini > baseline
        if top == 5:  # the planted hotspots put far more than 5% of incidents in 5% of LSOAs
            assert share > 2 * population


def test_layers_and_tables_come_in_one_call(con) -> None:
    layer = hotspot_layer(con)
    assert isinstance(layer, gpd.GeoDataFrame) and len(layer) == 60
    assert layer.crs.to_epsg() == 27700 and layer["period"].unique().tolist() == ["2023/24"]
    assert {"gi_bin", "lisa_quadrant", "area_name"} <= set(layer.columns)
    wards = hotspot_layer(con, area_level="ward", value_type="count")
    assert len(wards) == con.execute("SELECT count(DISTINCT ward_code) FROM ref.lsoa").fetchone()[0]
    cells = grid_layer(con)
    assert isinstance(cells, gpd.GeoDataFrame) and cells.geometry.area.round().nunique() == 1
    assert len(emerging_layer(con)) == 60
    assert concentration_table(con)["top_percent"].tolist() == [1, 5, 10, 20]
    assert lorenz_curve(con)["cumulative_share_of_incidents"].iloc[-1] == pytest.approx(1)
    correlations = correlation_table(con)
    assert correlations["estimate"].abs().is_monotonic_decreasing
    # the default terms; the demo's police.uk ASB rows now give asb_rate a value
    assert set(model_table(con)["term"]) == {"income_score", "young_people_share", "asb_rate"}
