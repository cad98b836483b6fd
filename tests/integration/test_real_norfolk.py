"""(c) Real Norfolk open data on LSOA 2011: police.uk 2022, mid-2019 population, IoD2019.

Every expectation is computed from the files themselves (tests/integration/conftest.py), not
from the pipeline: the run must reconcile with what is really in the files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipelines.settings import load_settings
from tests.integration.conftest import Geography, RealRun, truth_on
from tests.pipelines.conftest import REPO

pytestmark = pytest.mark.integration
DISTRICTS = [f"E0700014{i}" for i in range(3, 10)]


@pytest.fixture(scope="module")
def truth(geography: Geography, shared_data: Path):
    return truth_on(geography, shared_data, "2022-*/*-norfolk-street.csv", "2011")


def test_real_run_completes_with_every_check_passing(run_c: RealRun) -> None:
    assert run_c.result.success
    assert run_c.failed() == {}


def test_every_police_uk_file_reconciles(run_c: RealRun, truth) -> None:
    rows = run_c.query(
        "SELECT file, data_lines, rows_loaded + rows_rejected FROM audit.loads"
        " WHERE source = 'police_uk'"
    )
    assert {f: n for f, n, _ in rows} == truth.per_file
    assert all(n == m for _, n, m in rows)
    assert sum(truth.per_file.values()) == 73_818  # 11 monthly files, headers excluded


def test_rows_outside_the_area_or_without_lsoa_are_counted_not_dropped(
    run_c: RealRun, truth
) -> None:
    coverage = dict(
        run_c.query(
            "SELECT period || ':' || status, sum(incidents) FROM marts.geography_coverage"
            " WHERE source = 'police_uk' GROUP BY ALL"
        )
    )
    assert coverage == {f"{p}:{s}": n for (p, s), n in truth.status.items()}
    assert coverage["2022:outside_area"] > 0 and coverage["2022:no_lsoa"] > 0
    # One 2022 row has a point but no LSOA code: placed by the point (it lies far west).
    placements = dict(
        run_c.query("SELECT placement, sum(incidents) FROM marts.geography_coverage GROUP BY ALL")
    )
    assert placements == {g: n for (_, g), n in truth.placement.items()}
    assert truth.placement[("2022", "outside_area")] == 817


def test_rates_cover_norfolk_and_use_the_proxy(run_c: RealRun, truth) -> None:
    [(lsoas,)] = run_c.query(
        "SELECT count(DISTINCT area_code) FROM marts.sv_rates WHERE area_level = 'lsoa'"
    )
    assert lsoas == 538
    [(count, population, months, period_months, source)] = run_c.query(
        "SELECT count, population, months, period_months, source FROM marts.sv_rates"
        " WHERE area_level = 'county' AND measure = 'all_serious_violence' AND period = '2022'"
    )
    assert population == 907_760  # ONS mid-2019, Norfolk
    assert count == truth.county["2022"] == 32_045
    assert months == 11 and period_months == "2022-01 to 2022-11 (11 of 12 months)"
    assert source == "police_uk"
    measures = {m for (m,) in run_c.query("SELECT DISTINCT measure FROM marts.sv_rates")}
    assert "public_order_proxy" in measures and "domestic_abuse_related" not in measures


def test_district_counts_equal_the_files(run_c: RealRun, truth) -> None:
    districts = dict(
        run_c.query(
            "SELECT area_code, count FROM marts.sv_rates WHERE area_level = 'district'"
            " AND measure = 'all_serious_violence' AND period = '2022'"
        )
    )
    assert sorted(districts) == DISTRICTS
    assert districts == {d: n for (p, d), n in truth.district.items() if p == "2022"}


def test_part_year_is_not_compared_with_england(run_c: RealRun) -> None:
    [(vs_england, basis)] = run_c.query(
        "SELECT vs_england, vs_england_basis FROM marts.sv_rates"
        " WHERE area_level = 'county' AND measure = 'all_serious_violence'"
    )
    assert vs_england is None
    assert basis == (
        "not compared with an annual England rate: 2022, part year: 2022-01 to 2022-11"
        " (11 of 12 months)"
    )


def test_outputs_say_they_are_a_proxy_and_a_part_year(run_c: RealRun) -> None:
    from pypdf import PdfReader

    folder = run_c.settings.output_dir / "public" / "2022"  # 11 months: no complete year
    with (folder / "sv_rates.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["source"] for row in rows} == {"police_uk"}
    assert all(row["basis"].startswith("PROXY: data.police.uk") for row in rows)
    packs = sorted(p.name for p in folder.glob("map_pack_*.pdf"))
    assert packs == ["map_pack_kings-lynn-and-west-norfolk.pdf", "map_pack_norfolk.pdf"]
    pages = [p.extract_text() for p in PdfReader(folder / "map_pack_norfolk.pdf").pages]
    assert all("Proxy: data.police.uk open data" in page for page in pages)
    assert all("2022 (part year: Jan–Nov 2022, 11 months)" in page for page in pages)


def test_insets_come_out_of_the_data_for_the_norfolk_towns(run_c: RealRun) -> None:
    """The densest clusters of high-rate LSOAs are Norwich, Great Yarmouth and King's Lynn."""
    from pypdf import PdfReader

    pdf = run_c.settings.output_dir / "public" / "2022" / "map_pack_norfolk.pdf"
    page = PdfReader(pdf).pages[2].extract_text()
    for town in ("Norwich", "Great Yarmouth", "King's Lynn and West Norfolk"):
        assert f"{town}:" in page


@pytest.mark.parametrize(
    "name",
    [
        "settings-norfolk-policeuk-2022.yaml",
        "settings-norfolk-policeuk-2024-lsoa21.yaml",
        "settings-norfolk-policeuk-2022-2024-lsoa21.yaml",
    ],
)
def test_committed_real_settings_point_at_existing_files(shared_data: Path, name: str) -> None:
    from sources.paths import expand

    settings = load_settings(REPO / "config" / name, base_dir=REPO)
    for key, pattern in settings.inputs.items():
        if pattern:
            assert expand(pattern), key
