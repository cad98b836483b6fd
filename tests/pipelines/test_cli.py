"""The `sna` command as an analyst meets it: exit codes and messages that name the problem."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from tests.pipelines.conftest import BESIDE_THE_POINT, CliRun, write_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps at the terminal width; keep lines whole
    monkeypatch.setenv("SNA_AUDIENCE", "")  # `--audience` sets it: undone after each test


def test_run_prints_progress_and_only_the_files_this_run_wrote(cli_run: CliRun) -> None:
    """The session's `sna run --audience partner`, over an output folder holding an older file."""
    output, out = cli_run.output, cli_run.settings.output_dir
    assert cli_run.exit_code == 0, output
    assert "done marts.sv_rates" in output
    assert "check ok marts/sv_rates:county_equals_sum_of_lsoas" in output
    assert "check ok outputs/staged:published_files_pass_disclosure_control" in output
    folder = out / "partner" / "2021-22"
    assert str(folder / "sv_rates.csv") in output
    assert str(folder / "map_pack_demo-county.pdf") in output
    assert [p.name for p in folder.glob("map_pack_*.pdf")] == ["map_pack_demo-county.pdf"]
    assert "old.csv" not in output and "public" not in output.split("Outputs")[-1]
    assert sorted(p.name for p in out.iterdir()) == ["partner", "public"]
    assert "Incidents by placement and period" in output
    assert "Headline, Demo County, 2023/24:" in output
    assert "per 1,000 residents (95% CI" in output
    assert "vs England: " in output and "38.1 per 1,000 in 2022/23" in output
    assert "vs 2022/23: " in output  # both whole years: compared
    assert "recorded in audit.runs and shown by `sna ui`" in output


def test_a_failed_check_prints_its_reason_and_numbers(small_demo: Path, tmp_path: Path) -> None:
    """Three LSOAs missing from the population file: the terminal says how many and which."""
    source = small_demo / "population" / "sapelsoasyoa2022.csv"
    lines = source.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    dropped = [line.split(",")[2].strip('"') for line in lines[1:4]]
    short = tmp_path / "sapelsoasyoa2022.csv"
    short.write_text(lines[0] + "".join(lines[4:]), encoding="utf-8")
    settings = write_settings(tmp_path, small_demo, without=BESIDE_THE_POINT)
    settings.write_text(settings.read_text().replace(str(source), str(short)))
    result = runner.invoke(app, ["run", "--settings", str(settings)])
    assert result.exit_code == 1
    assert "CHECK FAILED ref/lsoa_population:every_lsoa_has_population" in result.output
    assert "3 of 60 LSOAs have no population for 2022: " in result.output
    assert all(code in result.output for code in dropped)
    assert "lsoas without population: 3" in result.output  # the check's numbers
    assert "no outputs were published" in result.output


def test_a_file_missing_a_column_stops_the_run_naming_file_and_column(
    small_demo: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad_lookup.csv"
    lookup = (small_demo / "lookups" / "LSOA21_WD24_LAD24_EW_LU.csv").read_text(
        encoding="utf-8-sig"
    )
    bad.write_text(lookup.replace("LAD24CD", "DISTRICTCODE", 1), encoding="utf-8")
    settings = write_settings(tmp_path, small_demo, without=BESIDE_THE_POINT)
    settings.write_text(
        settings.read_text().replace(
            str(small_demo / "lookups" / "LSOA21_WD24_LAD24_EW_LU.csv"), str(bad)
        )
    )
    result = runner.invoke(app, ["run", "--settings", str(settings)])
    assert result.exit_code == 1
    assert f"FAILED ref.area_lookup: sources._result.InputFormatError: {bad}" in result.output
    assert "DISTRICTCODE" in result.output  # the columns found are listed
    assert "no outputs were published" in result.output
    assert not (tmp_path / "out").exists()


def test_an_unknown_audience_exits_2(small_demo: Path, tmp_path: Path) -> None:
    settings = write_settings(tmp_path, small_demo)
    result = runner.invoke(app, ["run", "--settings", str(settings), "--audience", "press"])
    assert result.exit_code == 2
    assert "'audience' must be one of ['public', 'partner']" in result.output


def test_a_bad_settings_file_exits_2_with_the_key(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("area_name: X\nperiod: monthly\n")
    result = runner.invoke(app, ["run", "--settings", str(settings)])
    assert result.exit_code == 2
    assert "'period' must be calendar_year or financial_year" in result.output
