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
from tests.pipelines.conftest import REPO, materialize

pytestmark = pytest.mark.integration
PROXY_TYPES = {"Violence and sexual offences", "Robbery", "Possession of weapons"}


@pytest.fixture(scope="module")
def real_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("norfolk")
    settings = yaml.safe_load((REPO / "config" / "settings-norfolk-policeuk-2022.yaml").read_text())
    settings["inputs"] = {
        k: v.replace("../shared/data", str(shared_data)) for k, v in settings["inputs"].items()
    }
    settings["definition"] = str(REPO / settings["definition"])
    settings["database"] = str(folder / "norfolk.duckdb")
    settings["output_dir"] = str(folder / "out")
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    return materialize(path)


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


def test_outputs_say_they_are_a_proxy_and_a_part_year(real_run) -> None:
    from pypdf import PdfReader

    settings, _ = real_run
    folder = settings.output_dir / "public" / "2022"  # 11 months: no complete year to prefer
    with (folder / "sv_rates.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["source"] for row in rows} == {"police_uk"}
    assert all(row["basis"].startswith("PROXY: data.police.uk") for row in rows)
    packs = sorted(p.name for p in folder.glob("map_pack_*.pdf"))
    assert len(packs) == 8 and "map_pack_kings-lynn-and-west-norfolk.pdf" in packs
    pages = [p.extract_text() for p in PdfReader(folder / "map_pack_norfolk.pdf").pages]
    assert all("Proxy: data.police.uk open data" in page for page in pages)
    assert all("2022 (part year: Jan–Nov 2022, 11 months)" in page for page in pages)


def test_insets_come_out_of_the_data_for_the_norfolk_towns(real_run) -> None:
    """The densest clusters of high-rate LSOAs are Norwich, Great Yarmouth and King's Lynn."""
    from pypdf import PdfReader

    settings, _ = real_run
    pdf = settings.output_dir / "public" / "2022" / "map_pack_norfolk.pdf"
    page = PdfReader(pdf).pages[2].extract_text()
    for town in ("Norwich", "Great Yarmouth", "King's Lynn and West Norfolk"):
        assert f"{town}:" in page


def test_committed_real_settings_point_at_existing_files(shared_data: Path) -> None:
    from sources.paths import expand

    settings = load_settings(REPO / "config" / "settings-norfolk-policeuk-2022.yaml", base_dir=REPO)
    for key, pattern in settings.inputs.items():
        if pattern:
            assert expand(pattern), key
