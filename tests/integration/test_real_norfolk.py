"""Real Norfolk open data (police.uk 2022, LSOA 2011, mid-2019 population, IoD2019) end to end.

Every expectation is computed here from the files themselves with the csv and json modules, not
from the pipeline: the run must reconcile with what is really in the files.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.settings import load_settings
from tests.integration.conftest import write_real_settings
from tests.pipelines.conftest import REPO, materialize

pytestmark = pytest.mark.integration
PROXY_TYPES = {"Violence and sexual offences", "Robbery", "Possession of weapons"}


@pytest.fixture(scope="module")
def real_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    settings = yaml.safe_load((REPO / "config" / "settings-norfolk-policeuk-2022.yaml").read_text())
    return materialize(
        write_real_settings(settings, shared_data, tmp_path_factory.mktemp("norfolk"))
    )


@pytest.fixture(scope="module")
def truth(shared_data: Path) -> dict:
    """What the police.uk and boundary files contain, counted independently."""
    norfolk = set()
    for path in (shared_data / "uk-geojson-norfolk/json/statistical/eng/lsoa_by_lad").glob(
        "*.json"
    ):
        norfolk |= {f["properties"]["LSOA11CD"] for f in json.loads(path.read_text())["features"]}
    per_file, status, headline = {}, Counter(), 0
    for path in sorted((shared_data / "policeuk-street").glob("2022-*/*-norfolk-street.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        per_file[str(path.resolve())] = len(rows)
        for row in rows:
            code = row["LSOA code"].strip()
            where = "no_lsoa" if not code else ("in_area" if code in norfolk else "outside_area")
            status[where] += 1
            headline += where == "in_area" and row["Crime type"] in PROXY_TYPES
    return {"lsoas": norfolk, "per_file": per_file, "status": status, "headline": headline}


def q(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_real_run_completes_with_every_check_passing(real_run) -> None:
    _, result = real_run
    assert result.success
    assert [c.check_name for c in result.get_asset_check_evaluations() if not c.passed] == []


def test_every_police_uk_file_reconciles(real_run, truth) -> None:
    settings, _ = real_run
    rows = q(
        settings,
        "SELECT file, data_lines, rows_loaded + rows_rejected FROM audit.loads WHERE source = 'police_uk'",
    )
    assert {f: n for f, n, _ in rows} == truth["per_file"]
    assert all(n == m for _, n, m in rows)
    assert sum(truth["per_file"].values()) == 73_818  # 11 monthly files, headers excluded


def test_rows_outside_the_area_or_without_lsoa_are_counted_not_dropped(real_run, truth) -> None:
    settings, _ = real_run
    coverage = dict(
        q(
            settings,
            "SELECT status, incidents FROM marts.geography_coverage WHERE source = 'police_uk'",
        )
    )
    assert coverage == dict(truth["status"])
    assert coverage["outside_area"] > 0 and coverage["no_lsoa"] > 0


def test_rates_cover_norfolk_and_use_the_proxy(real_run, truth) -> None:
    settings, _ = real_run
    assert (
        q(
            settings,
            "SELECT count(DISTINCT area_code) FROM marts.sv_rates WHERE area_level = 'lsoa'",
        )[0][0]
        == 538
    )
    assert (
        q(
            settings,
            "SELECT count(DISTINCT area_code) FROM marts.sv_rates WHERE area_level = 'district'",
        )[0][0]
        == 7
    )
    [(count, population, months, source)] = q(
        settings,
        "SELECT count, population, months, source FROM marts.sv_rates"
        " WHERE area_level = 'county' AND measure = 'all_serious_violence' AND period = '2022'",
    )
    assert population == 907_760  # ONS mid-2019, Norfolk
    assert count == truth["headline"]
    assert months == 11 and source == "police_uk"
    measures = {m for (m,) in q(settings, "SELECT DISTINCT measure FROM marts.sv_rates")}
    assert "public_order_proxy" in measures and "domestic_abuse_related" not in measures


def test_outputs_say_they_are_a_proxy(real_run) -> None:
    settings, _ = real_run
    folder = settings.output_dir / "2022"
    with (folder / "sv_rates.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["source"] for row in rows} == {"police_uk"}
    assert all(row["basis"].startswith("PROXY: data.police.uk") for row in rows)
    pdf = (folder / "sv_rate_map_norfolk.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"PROXY" in pdf


def test_committed_real_settings_point_at_existing_files(shared_data: Path) -> None:
    from sources.paths import expand

    settings = load_settings(REPO / "config" / "settings-norfolk-policeuk-2022.yaml", base_dir=REPO)
    for key, pattern in settings.inputs.items():
        if pattern:
            assert expand(pattern), key


def test_hotspots_find_norwich_and_great_yarmouth_town_centres(real_run) -> None:
    settings, _ = real_run
    rows = q(
        settings,
        "SELECT h.area_code, l.district_name, h.gi_bin, h.gi_z FROM marts.hotspots h"
        " JOIN ref.lsoa l ON l.lsoa_code = h.area_code WHERE h.area_level = 'lsoa'"
        " AND h.value_type = 'rate_per_1000' AND h.measure = 'all_serious_violence'"
        " ORDER BY h.gi_z DESC",
    )
    assert len(rows) == 538
    hot = [r for r in rows if r[2] >= 2]
    assert 10 <= len(hot) <= 100  # a few town centres, not the county
    # the night-time economies of the city and the largest seaside town lead
    assert {r[1] for r in rows[:5]} == {"Norwich", "Great Yarmouth"}
    wards = q(settings, "SELECT count(*) FROM marts.hotspots WHERE area_level = 'ward'")[0][0]
    assert wards == 2 * q(settings, "SELECT count(DISTINCT ward_code) FROM ref.lsoa")[0][0]


def test_deprivation_goes_with_serious_violence_in_norfolk(real_run) -> None:
    settings, _ = real_run
    # IoD2019 File 2 gives every domain as a national rank (1 = most deprived): negative = more
    # violence where more deprived
    rows = dict(
        (factor, (estimate, upper))
        for factor, estimate, upper in q(
            settings,
            "SELECT factor, estimate, ci_upper FROM marts.risk_correlations"
            " WHERE area_level = 'lsoa' AND measure = 'all_serious_violence'",
        )
    )
    assert {"imd_rank", "income_rank", "employment_rank", "health_rank"} <= set(rows)
    assert "crime_rank" not in rows  # circular: left out
    for factor in ("imd_rank", "income_rank"):
        estimate, upper = rows[factor]
        assert estimate < -0.3 and upper < 0
    [(irr, ci_upper)] = q(
        settings,
        "SELECT irr, ci_upper FROM marts.risk_model WHERE area_level = 'lsoa'"
        " AND term = 'income_rank'",
    )
    assert irr < 1 and ci_upper < 1  # fewer incidents per SD less deprived


def test_serious_violence_concentrates_far_beyond_population(real_run) -> None:
    settings, _ = real_run
    [(share, population, gini, baseline)] = q(
        settings,
        "SELECT share_of_incidents, share_of_population, gini, gini_random_baseline"
        " FROM marts.concentration WHERE top_percent = 5 AND measure = 'all_serious_violence'",
    )
    assert share > 2 * population and gini > 2 * baseline
