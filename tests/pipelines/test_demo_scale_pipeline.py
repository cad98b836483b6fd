"""The pipeline end to end on scaled synthetic inputs: synthetic LSOAs, and a slice of the real ones.

`sna demo` writes DIR/settings.yaml; `sna run --settings DIR/settings.yaml` must run from any folder,
every police line must be loaded or quarantined (counted here with the csv module), and the
area must equal the sum of its LSOAs.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipelines.cli import app
from sources import demo_scale
from tests.pipelines.conftest import materialize
from tests.pipelines.test_demo_pipeline import csv_records, query

runner = CliRunner()


def assert_reconciles_and_adds_up(out: Path, database: Path) -> None:
    """Every police line loaded or quarantined; the area equals the sum of its LSOAs, every year."""
    extracts = sorted(out.glob(demo_scale.EXTRACT_GLOB))
    files = [*extracts, *out.glob(demo_scale.POLICE_UK_GLOB)]
    expected = {str(p.resolve()): csv_records(p) for p in files}
    loads = query(
        database,
        "SELECT file, data_lines, rows_loaded, rows_rejected FROM audit.loads"
        " WHERE source IN ('police_extract', 'police_uk')",
    )
    assert {file: lines for file, lines, _, _ in loads} == expected
    assert all(loaded + rejected == lines for _, lines, loaded, rejected in loads)
    off = query(
        database,
        """
        SELECT c.period, c.measure FROM
          (SELECT * FROM marts.sv_rates WHERE area_level = 'county') c
        FULL JOIN (SELECT period, measure, sum(count) AS count, sum(population) AS population
                   FROM marts.sv_rates WHERE area_level = 'lsoa' GROUP BY ALL) l
          USING (period, measure)
        WHERE c.count IS DISTINCT FROM l.count OR c.population IS DISTINCT FROM l.population
        """,
    )
    assert off == []
    years, count = query(
        database,
        "SELECT count(*), sum(count) FROM marts.sv_rates"
        " WHERE area_level = 'county' AND measure = 'all_serious_violence'",
    )[0]
    assert years == len({p.stem.rsplit("_", 1)[1] for p in extracts}) and count > 0


def county_pack_only(settings: Path) -> Path:
    """The settings `sna demo` wrote, with the whole area's map pack only: what is tested here is
    the run, and a pack per district is most of a small run's time."""
    data = yaml.safe_load(settings.read_text(encoding="utf-8"))
    settings.write_text(yaml.safe_dump({**data, "district_packs": False}), encoding="utf-8")
    return settings


def test_synthetic_inputs_run_end_to_end_from_another_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    out = tmp_path / "scaled"
    made = runner.invoke(
        app,
        ["demo", "--out", str(out), "--lsoas", "80", "--crimes-per-year", "8000", "--years", "2"],
    )
    assert made.exit_code == 0, made.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = runner.invoke(app, ["run", "--settings", str(county_pack_only(out / "settings.yaml"))])
    assert result.exit_code == 0, result.output
    assert "check ok marts/sv_rates:county_equals_sum_of_lsoas" in result.output
    assert_reconciles_and_adds_up(out, out / "sna.duckdb")
    planted = json.loads((out / "planted_structure.json").read_text(encoding="utf-8"))
    # each planted malformed row is quarantined: as a reject (bad date or offence code) or as a
    # cell issue (bad age or easting: the crime is kept)
    quarantined = query(
        out / "sna.duckdb",
        "SELECT DISTINCT file, line FROM quarantine.rejects WHERE source = 'police_extract'"
        " UNION SELECT DISTINCT file, line FROM quarantine.cell_issues"
        " WHERE source = 'police_extract' ORDER BY 1, 2",
    )
    documented = sorted((str(out / m["file"]), m["line"]) for m in planted["malformed_rows"])
    assert quarantined == documented


@pytest.mark.integration
def test_a_slice_of_the_real_geography_runs_end_to_end(shared_data: Path, tmp_path):
    manifest = demo_scale.write_scaled_demo(
        tmp_path / "ew",
        geography="england-wales",
        n_lsoas=150,
        crimes_per_year=10_000,
        years=2,
        shared_lsoa21=shared_data / "lsoa21",
    )
    # whole districts in code order: Hartlepool, Middlesbrough, Redcar and Cleveland
    assert manifest.n_lsoas >= 150 and manifest.n_districts == 3
    settings, result = materialize(county_pack_only(manifest.settings))
    assert result.success
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed == []
    assert_reconciles_and_adds_up(manifest.out_dir, settings.database)
    census = {}
    with (shared_data / "lsoa21/population/census2021_lsoa21_usual_residents_age6_EW.csv").open(
        encoding="utf-8"
    ) as handle:
        for row in csv.DictReader(handle):
            census[row["LSOA21CD"]] = int(row["total"])
    people = dict(
        query(
            settings.database,
            "SELECT area_code, population FROM marts.sv_rates WHERE area_level = 'lsoa'"
            " AND measure = 'all_serious_violence' AND period = '2021/22'",
        )
    )
    assert people == {code: census[code] for code in people}
    assert len(people) == manifest.n_lsoas
