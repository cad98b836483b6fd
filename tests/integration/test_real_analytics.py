"""Hotspots, concentration and risk factors on real Norfolk data, on the shared real runs:
(c) police.uk 2022 on LSOA 2011 with IoD2019 File 2, and (a) 2024-01..04 on LSOA 2021 with
Census 2021 and IoD2025 (tests/integration/conftest.py)."""

from __future__ import annotations

import glob
from pathlib import Path

import geopandas as gpd
import libpysal
import numpy as np
import pytest

from sources.boundaries import read_lsoa_boundaries
from tests.integration.conftest import RealRun
from transforms.hotspots import contiguity

pytestmark = pytest.mark.integration
HEADLINE_RATE = "h.area_level = 'lsoa' AND h.value_type = 'rate_per_1000' AND h.measure = 'all_serious_violence'"


def test_2022_hotspots_find_norwich_and_great_yarmouth_town_centres(run_c: RealRun) -> None:
    rows = run_c.query(
        "SELECT h.area_code, l.district_name, h.gi_bin, h.gi_z FROM marts.hotspots h"
        f" JOIN ref.lsoa l ON l.lsoa_code = h.area_code WHERE {HEADLINE_RATE}"
        " ORDER BY h.gi_z DESC"
    )
    assert len(rows) == 538
    hot = [r for r in rows if r[2] >= 2]
    assert 10 <= len(hot) <= 100  # a few town centres, not the county
    # the night-time economies of the city and the largest seaside town lead
    assert {r[1] for r in rows[:5]} == {"Norwich", "Great Yarmouth"}
    wards = run_c.query("SELECT count(*) FROM marts.hotspots WHERE area_level = 'ward'")[0][0]
    assert wards == 2 * run_c.query("SELECT count(DISTINCT ward_code) FROM ref.lsoa")[0][0]


def test_2022_deprivation_goes_with_serious_violence(run_c: RealRun) -> None:
    # IoD2019 File 2 gives every domain as a national rank (1 = most deprived): negative = more
    # violence where more deprived
    rows = {
        factor: (estimate, upper)
        for factor, estimate, upper in run_c.query(
            "SELECT factor, estimate, ci_upper FROM marts.risk_correlations"
            " WHERE area_level = 'lsoa' AND measure = 'all_serious_violence'"
        )
    }
    assert {"imd_rank", "income_rank", "employment_rank", "health_rank"} <= set(rows)
    assert "crime_rank" not in rows  # circular: left out
    for factor in ("imd_rank", "income_rank"):
        estimate, upper = rows[factor]
        assert estimate < -0.3 and upper < 0
    [(irr, ci_upper)] = run_c.query(
        "SELECT irr, ci_upper FROM marts.risk_model WHERE area_level = 'lsoa'"
        " AND term = 'income_rank'"
    )
    assert irr < 1 and ci_upper < 1  # fewer incidents per SD less deprived


def test_2022_serious_violence_concentrates_far_beyond_population(run_c: RealRun) -> None:
    [(share, population, gini, baseline)] = run_c.query(
        "SELECT share_of_incidents, share_of_population, gini, gini_random_baseline"
        " FROM marts.concentration WHERE top_percent = 5 AND measure = 'all_serious_violence'"
    )
    assert share > 2 * population and gini > 2 * baseline


def test_2024_hotspots_and_risk_run_with_every_check_passing(run_a: RealRun) -> None:
    assert run_a.result.success and run_a.failed() == {}
    lsoas = run_a.query(
        "SELECT count(DISTINCT area_code) FROM marts.hotspots WHERE area_level = 'lsoa'"
    )
    assert lsoas == [(552,)]


def test_2024_hotspots_lead_in_norwich_and_great_yarmouth(run_a: RealRun) -> None:
    top = run_a.query(
        "SELECT l.district_name, h.gi_bin FROM marts.hotspots h JOIN ref.lsoa l"
        f" ON l.lsoa_code = h.area_code WHERE {HEADLINE_RATE} ORDER BY h.gi_z DESC LIMIT 5"
    )
    assert {d for d, _ in top} == {"Norwich", "Great Yarmouth"} and {b for _, b in top} == {3}


def test_2024_iod2025_domains_and_young_people_are_factors(run_a: RealRun) -> None:
    factors = {f for (f,) in run_a.query("SELECT DISTINCT factor FROM marts.risk_correlations")}
    assert {"imd_score", "income_score", "employment_score", "young_people_share"} <= factors
    assert not any(f.startswith("crime_") for f in factors)
    [(label,)] = run_a.query(
        "SELECT DISTINCT label FROM marts.risk_factors WHERE factor = 'young_people_share'"
    )
    assert label == "Share of residents aged 0-24"  # Census 2021 bands split at 25, not at 10
    [(estimate, lower)] = run_a.query(
        "SELECT estimate, ci_lower FROM marts.risk_correlations WHERE area_level = 'lsoa'"
        " AND factor = 'imd_score' AND measure = 'all_serious_violence'"
    )
    assert estimate > 0.3 and lower > 0


@pytest.mark.parametrize(
    ("files", "lsoas"),
    [
        ("uk-geojson-norfolk/json/statistical/eng/lsoa_by_lad/*.json", 538),
        ("lsoa21/boundaries/LSOA21_norfolk_BSC_V4.geojson", 552),
    ],
)
def test_contiguity_finds_neighbours_on_both_published_boundary_files(
    shared_data: Path, files: str, lsoas: int
) -> None:
    rows = read_lsoa_boundaries(sorted(glob.glob(str(shared_data / files)))).rows
    areas = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700")
    assert len(areas) == lsoas
    neighbours = contiguity(areas.geometry.to_numpy(), areas["lsoa_code"].tolist())
    assert neighbours.islands_joined == () and 4.5 < neighbours.cardinalities.mean() < 7
    vertex_queen = libpysal.weights.Queen.from_dataframe(
        areas, use_index=False, silence_warnings=True
    )
    if lsoas == 538:  # the 2011 GeoJSON's neighbours overlap and share no vertex
        assert np.mean(list(vertex_queen.cardinalities.values())) == 0
    else:  # exact-topology 2021 boundaries: the same neighbours either way
        assert sum(vertex_queen.cardinalities.values()) == neighbours.adjacency.nnz
