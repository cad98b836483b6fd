"""The benchmark harness works: a tiny size, every stage and reference measured, nothing asserted on time.

The rows the results report are checked against the generator's record and against a count
taken here with the csv module; times and memory only have to be real (positive) numbers.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from tests.benchmarks.harness import (
    ANALYSIS_STAGES,
    CORE_STAGES,
    GB,
    STAGES,
    Size,
    generate,
    reconciliation,
    run_benchmark,
)

pytestmark = pytest.mark.bench
TINY = Size(
    "tiny",
    "synthetic",
    lsoas=40,
    crimes_per_year=2_000,
    years=2,
    add_month=True,
    district_packs=False,
)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    folder = tmp_path_factory.mktemp("bench")
    path = run_benchmark([TINY], results_dir=folder / "results", data_dir=folder / "data")
    assert path.parent == folder / "results" and path.suffix == ".json"
    return json.loads(path.read_text(encoding="utf-8")), folder / "data" / TINY.name


def csv_records(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for row in csv.reader(handle) if row) - 1


def test_every_stage_has_a_time_and_a_peak(results):
    size = results[0]["sizes"]["tiny"]
    pipeline = size["pipeline"]
    assert pipeline["ok"] and pipeline["stopped"] is None
    for stage in STAGES:
        assert pipeline["stages"][stage]["wall_s"] > 0, stage
        assert pipeline["stages"][stage]["peak_rss_gb"] > 0, stage
    steps = sum(s["wall_s"] for s in pipeline["stages"].values())
    assert steps + pipeline["overhead_s"] == pytest.approx(pipeline["wall_s"], abs=0.01)
    assert pipeline["core_s"] == pytest.approx(
        sum(pipeline["stages"][s]["wall_s"] for s in CORE_STAGES), abs=0.01
    )
    # every step is in a named stage: the analysis marts are not lumped under "other"
    assert "other" not in pipeline["stages"], pipeline["other_steps"]
    assert set(ANALYSIS_STAGES) < set(STAGES)
    assert 0 < pipeline["peak_rss_gb"] < 12


def test_both_references_and_the_added_month_are_measured(results):
    size = results[0]["sizes"]["tiny"]
    bare = size["bare_read"]
    assert bare["pyarrow_s"] > 0 and bare["duckdb_s"] > 0
    assert bare["seconds"] == min(bare["pyarrow_s"], bare["duckdb_s"])
    assert bare["pyarrow_rows"] == bare["duckdb_rows"] == sum(size["data"]["rows"].values())
    reference = size["pandas_reference"]
    assert reference["seconds"] > 0 and reference["stopped"] is None
    match = reference["matches_pipeline"]
    assert match["compared"] and match["area_counts_pipeline"]
    assert match["area_counts_reference"].keys() == match["area_counts_pipeline"].keys()
    month = size["add_one_month"]
    assert month["seconds"] > 0 and month["database_built_without_month"]["ok"]
    assert size["ratios"]["ingest_vs_bare_read"] > 0
    assert size["ratios"]["pandas_vs_pipeline_core"] > 0


def test_rows_are_what_the_generator_wrote(results):
    size, data = results[0]["sizes"]["tiny"], results[1]
    planted = json.loads((data / "planted_structure.json").read_text(encoding="utf-8"))
    extract = sorted(data.glob("police/*.csv"))
    uk = sorted(data.glob("police_uk/*/*.csv"))
    rows = size["data"]["rows"]
    assert rows["police_extract"] == sum(map(csv_records, extract)) == planted["counts"]["crimes"]
    assert rows["police_uk"] == sum(map(csv_records, uk)) == planted["counts"]["police_uk_rows"]
    assert size["data"]["files"]["police_extract"] == len(extract) == 2
    assert size["data"]["files"]["police_uk"] == len(uk) == 24
    assert size["data"]["bytes"]["police_uk"] == sum(p.stat().st_size for p in uk)


def test_targets_and_machine_are_recorded(results):
    report = results[0]
    assert report["machine"]["cores"] >= 1 and report["machine"]["git_commit"]
    assert report["machine"]["packages"]["duckdb"]
    assert {t["status"] for t in report["targets"]} <= {"pass", "miss", "not measured"}
    names = " ".join(t["target"] for t in report["targets"])
    for words in ("county full refresh", "national ingest", "peak RSS", "pandas", "one month"):
        assert words in names
    # sizes not run are reported as such, not as a pass
    county = next(t for t in report["targets"] if t["target"].startswith("county full"))
    assert county["status"] == "not measured" and county["measured"] is None


def test_the_generated_data_is_reused_while_the_generator_is_unchanged(tmp_path):
    size = Size("tiny", "synthetic", lsoas=40, crimes_per_year=2_000, years=1)
    first = generate(size, tmp_path / "tiny", tmp_path / "logs", 12 * GB, 600)
    again = generate(size, tmp_path / "tiny", tmp_path / "logs", 12 * GB, 600)
    assert first["reused"] is False and first["seconds"] > 0
    assert again == {**first, "reused": True}
    packs = generate(replace(size, district_packs=False), tmp_path / "tiny", tmp_path / "logs",
                     12 * GB, 600)  # fmt: skip
    assert packs["reused"] is True  # how a run draws its packs is not in the data
    bigger = generate(
        Size("tiny", "synthetic", lsoas=40, crimes_per_year=3_000, years=1),
        tmp_path / "tiny",
        tmp_path / "logs",
        12 * GB,
        600,
    )
    assert bigger["reused"] is False


def test_item_8_is_checked_on_the_run_and_holds(results):
    size = results[0]["sizes"]["tiny"]
    rec = size["reconciliation"]
    assert rec["checked"] and rec["holds"], rec
    assert rec["reconcile_checks"] >= 2 and rec["reconcile_checks_failed"] == []
    assert rec["police_files"] == 26
    assert rec["police_lines_counted_by_harness"] == size["data"]["police_rows"]
    assert rec["county_rows"] > 0


def test_item_8_fails_on_a_lost_line_a_failed_check_or_a_county_not_its_lsoas(tmp_path):
    extract = tmp_path / "force.csv"
    extract.write_text("a,b\n1,2\n3,4\n5,6\n", encoding="utf-8")
    con = duckdb.connect(str(tmp_path / "sna.duckdb"))
    con.execute(
        f"""
        CREATE SCHEMA raw; CREATE SCHEMA quarantine; CREATE SCHEMA audit; CREATE SCHEMA marts;
        CREATE TABLE raw.police_extract AS SELECT '{extract}' AS _file FROM range(2);
        CREATE TABLE raw.police_uk (_file VARCHAR);
        CREATE TABLE quarantine.rejects (source VARCHAR, file VARCHAR, line BIGINT);
        CREATE TABLE audit.loads AS SELECT 'police_extract' AS source, '{extract}' AS file,
            0 AS blank_lines;
        CREATE TABLE marts.sv_rates AS SELECT * FROM (VALUES
            ('lsoa', 'police', '2023/24', 'all_serious_violence', 2),
            ('lsoa', 'police', '2023/24', 'all_serious_violence', 1),
            ('county', 'police', '2023/24', 'all_serious_violence', 3),
            ('lsoa', 'police', '2023/24', 'knife', 1),
            ('county', 'police', '2023/24', 'knife', 2))
            AS t(area_level, source, period, measure, count);
        """
    )
    con.close()
    checks = [{"event": "check", "check": "police_extract_reconciles", "passed": True}]
    rec = reconciliation(tmp_path / "sna.duckdb", checks, {"police_extract": [extract]})
    assert rec["checked"] and not rec["holds"]
    assert [f["harness_lines"] for f in rec["police_files_not_reconciling"]] == [3]
    assert [r["measure"] for r in rec["county_rows_not_sum_of_lsoas"]] == ["knife"]
    assert rec["rates_table"] == "marts.sv_rates"
    con = duckdb.connect(str(tmp_path / "sna.duckdb"))  # a run stopped before publishing
    con.execute("CREATE SCHEMA build; CREATE TABLE build.sv_rates AS FROM marts.sv_rates")
    con.execute("DROP TABLE marts.sv_rates")
    con.close()
    rec = reconciliation(tmp_path / "sna.duckdb", checks, {"police_extract": [extract]})
    assert rec["rates_table"] == "build.sv_rates" and not rec["holds"]
    assert [r["measure"] for r in rec["county_rows_not_sum_of_lsoas"]] == ["knife"]
    failed = [{**checks[0], "passed": False}]
    rec = reconciliation(tmp_path / "sna.duckdb", failed, {})
    assert rec["reconcile_checks_failed"] == ["police_extract_reconciles"] and not rec["holds"]
