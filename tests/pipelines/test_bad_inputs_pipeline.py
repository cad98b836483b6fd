"""The bad-input corpus cases that need the whole pipeline, on the small demo county.

Two runs, each shared by the cases that read it (tests/data/bad/cases.yaml, input: pipeline):
- `stopped`: the demo with one offence dated 01/01/2099 (the dates check must stop the run before
  anything is published);
- `no_lsoa`: the demo whose force extract has coordinates but no LSOA Code column (its rates must
  not be all zero: each crime is placed by its point). The demo's unknown
  offence codes and police.uk rows geocoded outside the county are checked on the same run.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pyogrio
import pytest
import yaml

from pipelines.defs.classify.checks import unknown_offence_codes_below_threshold
from pipelines.defs.ingest.assets import police_extract
from pipelines.resources import build_resources
from pipelines.settings import Settings, load_settings
from tests.bad_inputs import load_cases
from tests.pipelines.conftest import REPO, Run, materialize, write_settings
from tests.pipelines.test_demo_pipeline import query
from transforms.definition import normalise_code, reference_codes

pytestmark = pytest.mark.corpus
CASES = {c.name: c for c in load_cases() if c.input == "pipeline"}
WHEN = "01/01/2099"


@dataclass(frozen=True)
class FaultyRun:
    settings: Settings
    result: dg.ExecuteInProcessResult
    extract_files: list[Path]


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy a CSV through the csv module, `edit(line_number, row)` returning the row to write."""
    with src.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(edit(i + 1, r) for i, r in enumerate(rows))
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(out.getvalue(), encoding="utf-8")
    return dst


def _run_with_extract(
    small_demo: Path, folder: Path, edit, selection: dg.AssetSelection | None = None
) -> FaultyRun:
    """The demo county run with its force extract files rewritten by `edit(name, line, row)`;
    `selection`: only these assets and their checks (default: everything)."""
    files = [
        _rewrite(src, folder / "police" / src.name, lambda i, row, n=src.name: edit(n, i, row))
        for src in sorted((small_demo / "police").glob("*.csv"))
    ]
    path = write_settings(folder, small_demo)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["inputs"]["police_extract"] = str(folder / "police" / "*.csv")
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    settings, result = materialize(path, selection)
    return FaultyRun(settings, result, files)


@pytest.fixture(scope="module")
def stopped(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> FaultyRun:
    """Line 13 of the second year's extract dated 01/01/2099. The run is the extract and all
    that is built from it, up to publishing (the reference inputs it does not need are left out
    to save time: nothing downstream of the extract can run without it)."""
    second = sorted((small_demo / "police").glob("*.csv"))[1].name
    return _run_with_extract(
        small_demo,
        tmp_path_factory.mktemp("date_2099"),
        lambda name, line, row: [row[0], WHEN, *row[2:]] if (name, line) == (second, 13) else row,
        dg.AssetSelection.assets(police_extract).downstream(),
    )


@pytest.fixture(scope="module")
def no_lsoa(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> FaultyRun:
    """The force extract without its LSOA Code column (Easting and Northing kept)."""
    first = sorted((small_demo / "police").glob("*.csv"))[0]
    column = next(csv.reader(first.open(encoding="utf-8"))).index("LSOA Code")
    return _run_with_extract(
        small_demo,
        tmp_path_factory.mktemp("no_lsoa"),
        lambda _name, _line, row: row[:column] + row[column + 1 :],
    )


def _failed(result: dg.ExecuteInProcessResult) -> dict[str, str | None]:
    return {
        c.check_name: c.description for c in result.get_asset_check_evaluations() if not c.passed
    }


# ---------------------------------------------------------------- pipeline_date_2099_stops_the_run


def test_a_date_in_2099_stops_the_run_before_anything_is_published(stopped: FaultyRun) -> None:
    assert "pipeline_date_2099_stops_the_run" in CASES
    assert not stopped.result.success
    failed = _failed(stopped.result)
    assert list(failed) == ["police_extract_dates_plausible"]  # and nothing else failed
    assert failed["police_extract_dates_plausible"].startswith(
        "1 police_extract rows have offence_date outside "
    )
    assert (
        f"e.g. 2099-01-01 at {stopped.extract_files[1]} line 13: fix the date"
        in (failed["police_extract_dates_plausible"])
    )
    done = {e.asset_key.to_user_string() for e in stopped.result.get_asset_materialization_events()}
    assert "raw/police_extract" in done
    skipped = {
        "core/incidents",
        "marts/sv_rates",
        "outputs/staged",
        "marts/published",
        "audit/runs",
    }
    planned = {k.to_user_string() for k in stopped.result.planned}
    assert skipped <= planned and not done & skipped  # planned, never run
    assert not stopped.settings.output_dir.exists()  # no out/2098-99/, no out/ at all
    tables = query(
        stopped.settings.database,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        " WHERE table_schema IN ('marts', 'build', 'core')",
    )
    assert tables == []
    [(status, stopped_at)] = query(
        stopped.settings.database, "SELECT status, stopped_at FROM audit.runs"
    )  # the run is recorded, as failed where it stopped
    assert status == "failed" and stopped_at.endswith("police_extract_dates_plausible")


# ---------------------------------------------------------------- pipeline_coordinates_without_lsoa


def test_an_extract_with_coordinates_but_no_lsoa_publishes_the_same_rates(
    no_lsoa: FaultyRun, demo_run: Run
) -> None:
    """Every located demo crime's point is inside its LSOA: placed by coordinates, each LSOA's
    counts equal the run that was given the LSOA codes, except for the crimes whose easting or
    northing was malformed (a cell issue: no point, and now no code either), which are exactly
    the difference."""
    assert no_lsoa.result.success, _failed(no_lsoa.result)
    placed = query(
        no_lsoa.settings.database,
        "SELECT DISTINCT placement FROM core.incidents WHERE source = 'police'",
    )
    assert {p for (p,) in placed} == {"coordinates", "no_location"}
    lost = {
        ref
        for (ref,) in query(
            no_lsoa.settings.database,
            "SELECT crime_ref FROM raw.police_extract r JOIN quarantine.cell_issues c"
            " ON c.file = r._file AND c.line = r._line WHERE c.column IN ('easting', 'northing')",
        )
    }
    assert lost, "the demo plants a malformed easting"
    sql = """
        SELECT period, lsoa_code, count(*) FILTER (sv_category IS NOT NULL) FROM core.incidents
        WHERE source = 'police' AND lsoa_code IS NOT NULL {} GROUP BY ALL ORDER BY ALL
    """
    keep = "AND event_id NOT IN (" + ", ".join(f"'{r}'" for r in sorted(lost)) + ")"
    assert query(no_lsoa.settings.database, sql.format("")) == query(
        demo_run.settings.database, sql.format(keep)
    )
    rates = "SELECT period, area_level, area_code, measure, count FROM marts.sv_rates"
    by_code = dict(
        ((p, lvl, a, m), n) for p, lvl, a, m, n in query(demo_run.settings.database, rates)
    )
    by_point = dict(
        ((p, lvl, a, m), n) for p, lvl, a, m, n in query(no_lsoa.settings.database, rates)
    )
    differ = {k for k in by_code if by_code[k] != by_point.get(k)}
    assert all(by_code[k] - by_point[k] <= len(lost) for k in differ)


def test_an_extract_with_coordinates_but_no_lsoa_loads_every_row(no_lsoa: FaultyRun) -> None:
    """What holds today: every extract row is loaded (none rejected for the missing column)."""
    [(files, lines, loaded, rejected, lsoa)] = query(
        no_lsoa.settings.database,
        "SELECT count(*), sum(data_lines), sum(rows_loaded), sum(rows_rejected),"
        " count(*) FILTER (list_contains(columns, 'lsoa_code'))"
        " FROM audit.loads WHERE source = 'police_extract'",
    )
    assert files == len(no_lsoa.extract_files) and lsoa == 0
    records = sum(
        len(f.read_text(encoding="utf-8").splitlines()) - 1 for f in no_lsoa.extract_files
    )
    assert lines == records and loaded + rejected == records


# ---------------------------------------------------------------- pipeline_unknown_offence_codes


def test_unknown_offence_codes_are_listed_and_stop_the_run_above_the_share(
    no_lsoa: FaultyRun, tmp_path: Path
) -> None:
    """core.unknown_offence_codes equals a count of the extract rows (loaded ones) whose code the
    reference lacks, taken here with the csv module; the blocking check passes at the
    definition's 1% and fails when the definition allows none."""
    assert "pipeline_unknown_offence_codes" in CASES
    known = reference_codes()
    rejected = set(
        query(
            no_lsoa.settings.database,
            "SELECT file, line FROM quarantine.rejects WHERE source = 'police_extract'",
        )
    )
    counted: dict[str, int] = {}
    for path in no_lsoa.extract_files:
        with path.open(encoding="utf-8", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                code = normalise_code(row["HO Offence Code"])
                if code and code not in known and (str(path), line) not in rejected:
                    counted[code] = counted.get(code, 0) + 1
    assert counted, "the demo plants unknown codes"
    listed = query(
        no_lsoa.settings.database,
        "SELECT ho_offence_code, count FROM core.unknown_offence_codes",
    )
    assert dict(listed) == counted

    def check(definition: Path) -> dg.AssetCheckResult:
        settings_path = tmp_path / f"settings-{definition.stem}.yaml"
        data = yaml.safe_load(no_lsoa.settings.path.read_text(encoding="utf-8"))
        data["definition"] = str(definition)
        settings_path.write_text(yaml.safe_dump(data), encoding="utf-8")
        resources = build_resources(load_settings(settings_path, base_dir=REPO))
        return unknown_offence_codes_below_threshold(**resources)

    assert check(no_lsoa.settings.definition).passed
    strict = tmp_path / "strict.yaml"
    text = no_lsoa.settings.definition.read_text(encoding="utf-8")
    strict.write_text(text.replace("unknown_code_max_share: 0.01", "unknown_code_max_share: 0"))
    result = check(strict)
    assert not result.passed
    assert result.metadata["unknown_rows"].value == sum(counted.values())


# ---------------------------------------------------------------- pipeline_coordinates_outside_the_area


def test_police_uk_rows_outside_the_area_are_counted_as_outside(
    no_lsoa: FaultyRun,
) -> None:
    """Rows whose LSOA code is not one of the boundaries' (counted here from the files) are
    exactly the coverage table's outside_area rows, and every row is counted once."""
    assert "pipeline_coordinates_outside_the_area" in CASES
    demo = Path(no_lsoa.settings.inputs["police_uk"]).parents[1]
    boundaries = pyogrio.read_dataframe(no_lsoa.settings.inputs["lsoa_boundaries"])
    county = set(boundaries["LSOA21CD"])
    outside = 0
    for path in sorted(demo.glob("*/*-street.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            outside += sum(1 for r in csv.DictReader(handle) if r["LSOA code"] not in county | {""})
    assert outside > 0
    coverage = dict(
        query(
            no_lsoa.settings.database,
            "SELECT status, sum(incidents) FROM marts.geography_coverage WHERE source = 'police_uk'"
            " GROUP BY status",
        )
    )
    assert coverage["outside_area"] == outside
    [(rows,)] = query(
        no_lsoa.settings.database,
        "SELECT count(*) FROM raw.police_uk ANTI JOIN quarantine.duplicates d"
        " ON d.source = 'police_uk' AND d.file = _file AND d.line = _line",
    )
    assert sum(coverage.values()) == rows  # in area + outside + no LSOA: every row, once
