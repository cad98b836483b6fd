"""The whole pipeline on a small demo county: every file reconciles, rates add up, outputs appear."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import dagster as dg
import duckdb
import geopandas as gpd
import pytest
import yaml

from pipelines.resources import build_resources
from pipelines.settings import load_settings
from tests.pipelines.conftest import (
    BESIDE_THE_POINT,
    PACKED,
    REPO,
    Run,
    all_definitions,
    materialize,
    write_settings,
)


def query(database: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def csv_records(path: Path) -> int:
    """Data records in a CSV, counted with the csv module, independently of the pipeline."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for row in csv.reader(handle) if row) - 1


def test_every_asset_materialises_and_every_check_passes(demo_run: Run) -> None:
    assert demo_run.result.success
    checks = demo_run.result.get_asset_check_evaluations()
    assert checks, "no asset checks ran"
    failed = [f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks if not c.passed]
    assert failed == []
    materialised = {
        m.asset_key.to_user_string() for m in demo_run.result.get_asset_materialization_events()
    }
    assert {
        "raw/police_extract",
        "core/incidents",
        "marts/sv_rates",
        "outputs/staged",
        "marts/published",
        "audit/runs",
    } <= {key.replace(".", "/") for key in materialised}


def test_every_police_line_is_loaded_or_quarantined(demo_run: Run) -> None:
    files = sorted((demo_run.demo_dir / "police").glob("*.csv")) + sorted(
        (demo_run.demo_dir / "police_uk").glob("*/*.csv")
    )
    expected = {str(path.resolve()): csv_records(path) for path in files}
    rows = query(
        demo_run.settings.database,
        "SELECT file, data_lines, rows_loaded, rows_rejected FROM audit.loads WHERE source IN ('police_extract', 'police_uk')",
    )
    assert {file: lines for file, lines, _, _ in rows} == expected
    assert all(loaded + rejected == lines for _, lines, loaded, rejected in rows)
    loaded = query(
        demo_run.settings.database,
        "SELECT (SELECT count(*) FROM raw.police_extract) + (SELECT count(*) FROM raw.police_uk)",
    )[0][0]
    assert loaded == sum(r[2] for r in rows)


def test_the_demo_malformed_rows_are_in_quarantine_with_reasons(demo_run: Run) -> None:
    rejects = query(
        demo_run.settings.database,
        "SELECT file, line, \"column\", value, reason FROM quarantine.rejects WHERE source = 'police_extract'",
    )
    assert rejects, "the demo plants malformed rows: they must be quarantined"
    for file, line, column, _value, reason in rejects:
        assert Path(file).is_file() and line >= 2 and column and reason


def test_county_equals_the_sum_of_lsoas_and_districts(demo_run: Run) -> None:
    off = query(
        demo_run.settings.database,
        """
        SELECT c.period, c.measure FROM marts.sv_rates c
        JOIN (SELECT period, measure, area_level, sum(count) n, sum(population) p FROM marts.sv_rates
              WHERE area_level IN ('lsoa', 'district') GROUP BY ALL) s USING (period, measure)
        WHERE c.area_level = 'county' AND (c.count <> s.n OR c.population <> s.p)
        """,
    )
    assert off == []
    lsoas = query(
        demo_run.settings.database,
        "SELECT count(DISTINCT area_code) FROM marts.sv_rates WHERE area_level = 'lsoa'",
    )[0][0]
    assert lsoas == 60


def test_headline_counts_match_serious_violence_incidents_in_the_area(demo_run: Run) -> None:
    [(incidents,)] = query(
        demo_run.settings.database,
        "SELECT count(*) FROM core.incidents i JOIN ref.lsoa USING (lsoa_code)"
        " WHERE i.source = 'police' AND i.sv_category IS NOT NULL",
    )
    [(headline,)] = query(
        demo_run.settings.database,
        "SELECT sum(count) FROM marts.sv_rates WHERE area_level = 'county' AND measure = 'all_serious_violence'",
    )
    assert incidents > 0 and headline == incidents


def test_outputs_are_published_for_the_latest_complete_period(demo_run: Run) -> None:
    out = demo_run.settings.output_dir
    assert sorted(p.name for p in out.iterdir()) == ["public"]  # the default audience only
    folders = [p for p in (out / "public").iterdir() if p.is_dir()]
    assert [p.name for p in folders] == ["2023-24"]  # demo starts April 2021, 36 months
    names = sorted(p.name for p in folders[0].iterdir())
    districts = query(
        demo_run.settings.database, "SELECT DISTINCT district_name FROM ref.lsoa ORDER BY 1"
    )
    assert len(districts) == 7 and (PACKED,) in districts
    packs = ["map_pack_demo-county.pdf", f"map_pack_{PACKED.lower()}.pdf"]  # as the settings ask
    assert sorted(n for n in names if n.startswith("map_pack_")) == packs
    for name in ("sna_tables.xlsx", "sna.gpkg", "index.html", "sv_rates.csv",
                 "geography_coverage.csv", "manifest.json"):  # fmt: skip
        assert name in names
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["audience"] == "public" and manifest["period"] == "2023/24"
    assert sorted(f["file"] for f in manifest["files"]) == sorted(set(names) - {"manifest.json"})
    with (folders[0] / "sv_rates.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    for column in ("area_level", "rate_per_1000", "ci_lower", "ci_upper", "vs_county",
                   "definition_id", "suppressed", "audience", "run_id"):  # fmt: skip
        assert column in rows[0]
    assert {r["period"] for r in rows} == {"2021/22", "2022/23", "2023/24"}
    small = [r for r in rows if r["area_level"] == "lsoa" and r["count"] in {"1", "2", "3", "4"}]
    assert small == [] and any(r["count"] == "*" for r in rows)
    assert {r["run_id"] for r in rows} == {demo_run.result.run_id}  # names the run that made it
    assert not list(out.glob(".*")), "no staging folders may be left behind"


def test_the_county_pack_has_every_page_and_says_what_is_missing(demo_run: Run) -> None:
    from pypdf import PdfReader

    folder = demo_run.settings.output_dir / "public" / "2023-24"
    reader = PdfReader(folder / "map_pack_demo-county.pdf")
    pages = [p.extract_text().replace("\n", " ") for p in reader.pages]
    assert len(pages) == 12
    expected = ["map pack", "Key findings", "per 1,000 residents, by LSOA", "Hot spots",
                "Trend", "Priorities and success measures", "Success measures by year",
                "Rates by district",
                "LSOAs with the most offences", "Risk factors and deprivation",
                "Methods and caveats", "Data sources and licences"]  # fmt: skip
    for n, (text, title) in enumerate(zip(pages, expected, strict=True), start=1):
        assert title in text and f"Page {n} of 12" in text
        assert "PUBLIC: small numbers suppressed" in text and "norfolk-2024" in text
    assert "Getis-Ord Gi*" in pages[3] and "Not available in this run" not in pages[3]
    assert "Rate by year" in pages[4] and "Rate by deprivation decile" in pages[9]
    assert "Not in the rates" in pages[2] or "was located in the area" in pages[2]
    assert reader.metadata.title.startswith("Serious violence map pack: Demo County")
    run_id = demo_run.result.run_id
    assert all(f"Run: {run_id}" in text for text in pages) and run_id in reader.metadata.subject


def test_the_geopackage_opens_in_a_fresh_reader_with_its_layers(demo_run: Run) -> None:
    import pyogrio

    path = demo_run.settings.output_dir / "public" / "2023-24" / "sna.gpkg"
    layers = dict(pyogrio.list_layers(path))
    assert {"lsoa", "ward", "district"} <= set(layers)
    lsoa = pyogrio.read_dataframe(path, layer="lsoa")
    assert lsoa.crs.to_epsg() == 27700 and len(lsoa) == 60
    assert lsoa.geometry.is_valid.all()
    assert not lsoa["count"].between(1, 4).any()
    assert (lsoa["audience"] == "public").all()
    assert (lsoa["run_id"] == demo_run.result.run_id).all()


def test_index_html_links_every_file_and_embeds_the_map(demo_run: Run) -> None:
    folder = demo_run.settings.output_dir / "public" / "2023-24"
    html = (folder / "index.html").read_text(encoding="utf-8")
    for f in folder.iterdir():
        if f.name not in ("index.html", "manifest.json"):
            assert f'href="{f.name}"' in html
    assert "data:image/png;base64," in html and "http" not in html.split("Open Government")[0]
    assert demo_run.result.run_id in html


def test_audit_run_records_definition_and_input_hashes(demo_run: Run) -> None:
    ingest, analysis = query(  # a refresh is two runs: the monthly inputs, then the analysis
        demo_run.settings.database,
        "SELECT run_id, status, definition_id, definition_hash, input_hashes, package_versions,"
        " settings FROM audit.runs ORDER BY started_at",
    )
    assert ingest[1] == "success"
    run_id, status, definition_id, definition_hash, inputs, packages, settings = analysis
    assert (run_id, status) == (demo_run.result.run_id, "success")
    assert definition_id == "norfolk-2024" and len(definition_hash) == 64
    assert len(json.loads(inputs)) >= 5
    assert {"python", "sna", "dagster", "duckdb", "pandas", "esda"} <= set(json.loads(packages))
    assert json.loads(settings)["area_name"] == "Demo County"


def test_a_failing_blocking_check_publishes_nothing(small_demo: Path, tmp_path: Path) -> None:
    """The demo has a few unknown offence codes: with a zero tolerance the run must stop before rates."""
    definition = tmp_path / "strict.yaml"
    repo_definition = (
        Path(__file__).resolve().parents[2] / "config" / "definitions" / "norfolk-2024.yaml"
    )
    text = repo_definition.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["unknown_code_max_share"] = 0.0
    definition.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    settings, result = materialize(
        write_settings(tmp_path, small_demo, BESIDE_THE_POINT, definition=str(definition))
    )
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed == ["unknown_offence_codes_below_threshold"]
    materialised = {m.asset_key for m in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "sv_rates"]) not in materialised
    assert not settings.output_dir.exists()


def test_a_failing_disclosure_check_leaves_the_previous_packs_untouched(
    demo_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publish once; then a run whose checker finds a breach must change neither the files nor
    the marts, and must leave no staged files behind. The second run is the reporting steps
    alone, on a copy of the database, whose build tables the first run left."""
    import shutil

    from pipelines.defs.reporting import assets as reporting_assets
    from transforms.disclosure_check import Violation

    out = tmp_path / "out"
    shutil.copytree(demo_run.settings.output_dir, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    shutil.copy(demo_run.settings.database, tmp_path / "sna.duckdb")

    def one_file(publication, period, folder):  # rendering is tested elsewhere: keep this quick
        folder.mkdir(parents=True)
        (folder / "sv_rates.csv").write_text("new")
        return [folder / "sv_rates.csv"]

    monkeypatch.setattr(reporting_assets, "write_period", one_file)
    monkeypatch.setattr(
        reporting_assets,
        "check_published",
        lambda folder, *a, **k: [Violation(str(folder), "row 2", "small count", "planted")],
    )
    settings = load_settings(write_settings(tmp_path, demo_run.demo_dir), base_dir=REPO)
    result = dg.materialize(
        all_definitions(),
        resources=build_resources(settings),
        selection=dg.AssetSelection.assets(["outputs", "staged"], ["marts", "published"]),
        raise_on_error=False,
    )
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed == ["published_files_pass_disclosure_control"]
    assert {s.step_key for s in result.get_step_success_events()} == {"outputs__staged"}
    materialised = {m.asset_key for m in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "published"]) not in materialised
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("missing", ["population"])
def test_a_missing_input_file_fails_with_the_pattern_named(
    small_demo: Path, tmp_path: Path, missing: str
) -> None:
    path = write_settings(tmp_path, small_demo, BESIDE_THE_POINT)
    data = yaml.safe_load(path.read_text())
    data["inputs"][missing] = str(tmp_path / "nowhere" / "*.csv")
    path.write_text(yaml.safe_dump(data))
    _, result = materialize(path)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    causes = [e.step_failure_data.error.cause for e in failures]
    assert any(
        c and "FileNotFoundError" in c.cls_name and "nowhere/*.csv" in c.message for c in causes
    )


def test_police_uk_only_without_lookup_gives_lsoa_and_county_proxy_rates(
    small_demo: Path, tmp_path: Path
) -> None:
    path = write_settings(tmp_path, small_demo)
    data = yaml.safe_load(path.read_text())
    for optional in (
        "police_extract", "area_lookup", "deprivation",
        "ae_attendances", "hes_admissions", "ambulance_callouts", "asb_council",  # police.uk only
    ):  # fmt: skip
        del data["inputs"][optional]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    settings, result = materialize(path)
    assert result.success
    warned = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert warned == ["every_lsoa_in_a_district"]  # a warning: no lookup places the LSOAs

    def distinct(sql: str) -> set:
        return {row[0] for row in query(settings.database, sql)}

    levels = distinct("SELECT DISTINCT area_level FROM marts.sv_rates")
    sources = distinct("SELECT DISTINCT source FROM marts.sv_rates")
    loaded = distinct("SELECT DISTINCT source FROM audit.loads")
    assert levels == {"lsoa", "county"}
    assert sources == {"police_uk"}
    assert loaded == {"police_uk", "lsoa_boundaries", "population"}


def test_boundaries_that_do_not_match_the_police_lsoas_stop_the_run(
    small_demo: Path, tmp_path: Path
) -> None:
    """Half the county's boundaries: half the incidents land 'outside', as with a vintage mismatch."""
    boundaries = gpd.read_file(small_demo / "boundaries" / "demo_lsoa21.gpkg")
    half = tmp_path / "half.gpkg"
    boundaries.iloc[::2].to_file(half, layer="lsoa21")
    path = write_settings(tmp_path, small_demo, BESIDE_THE_POINT)
    data = yaml.safe_load(path.read_text())
    data["inputs"]["lsoa_boundaries"] = str(half)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    settings, result = materialize(path)
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert "most_incidents_fall_in_the_area" in failed
    assert not settings.output_dir.exists()


def test_geography_coverage_counts_the_demo_location_quirks(demo_run: Run) -> None:
    """~1% of the demo's police.uk crimes are geocoded outside the county and ~0.5% of its
    force extract rows have no location: both must show in marts.geography_coverage."""
    planted = json.loads((demo_run.demo_dir / "planted_structure.json").read_text("utf-8"))
    coverage = {
        (source, status): incidents
        for source, status, incidents in query(
            demo_run.settings.database,
            "SELECT source, status, sum(incidents) FROM marts.geography_coverage GROUP BY ALL",
        )
    }
    assert coverage.get(("police_uk", "outside_area"), 0) > 0
    assert coverage[("police_uk", "outside_area")] == planted["counts"]["outside_area_rows"]
    assert coverage.get(("police", "no_lsoa"), 0) > 0
    assert coverage[("police", "no_lsoa")] == planted["counts"]["unlocated_extract_rows"]
    assert coverage.get(("police", "outside_area"), 0) == 0  # the force places every crime


def test_coverage_is_per_period_and_says_how_each_incident_was_placed(demo_run: Run) -> None:
    """The demo is all LSOA 2021: codes place directly, unlocated rows are no_location (or
    postcode_sector_only), and the coverage has one block per source and financial year, each
    adding up to that year's incidents."""
    rows = query(
        demo_run.settings.database,
        "SELECT source, period, months, status, placement, sum(incidents)"
        " FROM marts.geography_coverage GROUP BY ALL ORDER BY ALL",
    )
    sources = ("police", "police_uk", "ae", "hes", "ambulance", "asb")  # NHS and ASB: issue 9
    assert {(source, period) for source, period, *_ in rows} == {
        (s, p) for s in sources for p in ("2021/22", "2022/23", "2023/24")
    }
    assert {months for _, _, months, *_ in rows} == {12}
    assert {(status, placement) for _, _, _, status, placement, _ in rows} == {
        ("in_area", "code"),
        ("outside_area", "outside_area"),
        ("no_lsoa", "no_location"),
        ("no_lsoa", "postcode_sector_only"),  # A&E attendances shared with a sector only
    }
    per_period = query(
        demo_run.settings.database,
        "SELECT source, period, count(*) FROM core.incidents GROUP BY ALL ORDER BY ALL",
    )
    covered = {}
    for source, period, _, _, _, n in rows:
        covered[(source, period)] = covered.get((source, period), 0) + n
    assert covered == {(source, period): n for source, period, n in per_period}


def test_full_years_are_compared_with_england_and_say_on_what_basis(demo_run: Run) -> None:
    """The demo's whole financial years get vs_england from config/reference/comparators.csv,
    with the comparator and the definition caveat in vs_england_basis; measures the table has no
    comparator for stay empty, and every row says how its population was placed."""
    rows = query(
        demo_run.settings.database,
        "SELECT area_level, period, measure, ci_lower, ci_upper, vs_england, vs_england_basis,"
        " period_months, population_conversion FROM marts.sv_rates",
    )
    headline = [r for r in rows if r[2] == "all_serious_violence"]
    for level, period, _, lower, upper, vs, basis, months, conversion in headline:
        expected = "higher" if lower > 38.1 else "lower" if upper < 38.1 else "similar"
        assert vs == expected, (level, period)
        assert basis.startswith("England 38.1 per 1,000 in 2022/23 (england-sna-2023, 2023-11)")
        assert "definition differs from this run's (norfolk-2024)" in basis
        assert months in ("2021-04 to 2022-03", "2022-04 to 2023-03", "2023-04 to 2024-03")
        assert conversion == "as_published"
    others = {(vs, basis) for _, _, m, _, _, vs, basis, _, _ in rows if m != "all_serious_violence"}
    assert others == {(None, None)}
