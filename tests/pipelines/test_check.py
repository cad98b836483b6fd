"""`sna check DROP_DIR`: the run's verdict on every file, and nothing written anywhere."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from tests.pipelines.conftest import write_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps at the terminal width; keep lines whole


def _tree(folder: Path) -> dict[str, str]:
    """Every file under a folder with the sha256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def drop(tmp_path: Path, small_demo: Path) -> tuple[Path, Path]:
    """A drop folder with good files, and settings whose database already holds a run."""
    folder = tmp_path / "drop"
    month = sorted((small_demo / "police_uk").iterdir())[-1]
    shutil.copytree(month, folder / "police_uk" / month.name)
    shutil.copytree(small_demo / "police", folder / "police")
    shutil.copy(small_demo / "population" / "sapelsoasyoa2022.csv", folder)
    shutil.copy(small_demo / "boundaries" / "demo_lsoa21.gpkg", folder)
    (tmp_path / "project").mkdir()
    settings = write_settings(tmp_path / "project", small_demo)
    con = duckdb.connect(str(tmp_path / "project" / "sna.duckdb"))
    con.execute("CREATE TABLE kept AS SELECT 42 AS answer")
    con.close()
    return folder, settings


def test_good_files_pass_with_what_each_is_and_its_rows(drop, tmp_path, monkeypatch):
    folder, settings = drop
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)

    result = runner.invoke(app, ["check", str(folder), "--settings", str(settings)])

    assert result.exit_code == 0, result.output
    street = next((folder / "police_uk").rglob("*.csv"))
    lines = len(street.read_text(encoding="utf-8").splitlines()) - 1
    name = street.relative_to(folder)
    assert f"ok {name}: police_uk" in result.output
    assert f"{lines:,} data lines: {lines:,} rows loaded, 0 rejected" in result.output
    assert "ok sapelsoasyoa2022.csv: population" in result.output
    assert "ok demo_lsoa21.gpkg: lsoa_boundaries" in result.output
    assert "months 2021-04 to 2022-03 (12 months)" in result.output  # a financial-year extract
    assert "would reject line" in result.output  # the demo plants bad dates and blank codes
    assert _tree(tmp_path) == before  # nothing written: not the database, not a temp file


def test_files_that_would_stop_a_run_are_named_with_line_and_column(drop, tmp_path):
    folder, settings = drop
    extract = sorted((folder / "police").glob("*.csv"))[1]
    lines = extract.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[12].split(",")
    cells[1] = "01/01/2099"
    lines[12] = ",".join(cells)
    extract.write_text("".join(lines), encoding="utf-8")
    (folder / "street.csv").write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context\n"
        "a1,2024-13,F,F,1.2,52.6,On street,E01000001,A,Robbery,,\n"
        '"b2,2024-03,F\n',
        encoding="utf-8",
    )
    header = lines[0].rstrip("\n")
    (folder / "named.csv").write_text(f"{header},Victim Surname\n", encoding="utf-8")
    (folder / "no_code.csv").write_text("Crime Reference,Offence Date From,LSOA Code\n")
    (folder / "minutes.csv").write_text("Meeting,Attendees\nMonday,4\n", encoding="utf-8")
    database = tmp_path / "project" / "sna.duckdb"
    stamp = (database.stat().st_mtime_ns, hashlib.sha256(database.read_bytes()).hexdigest())

    result = runner.invoke(app, ["check", str(folder), "--settings", str(settings)])

    assert result.exit_code == 1, result.output
    out = result.output
    assert f"STOP police/{extract.name}: police_extract" in out
    assert "row(s) have offence_date outside" in out and "e.g. line 13" in out
    assert "STOP street.csv: police_uk" in out
    assert "would reject line 2 (column month, '2024-13'): not a month in yyyy-mm" in out
    assert "would reject line 3 (whole line" in out and "unbalanced quote" in out
    assert "2 of 2 rows rejected (100.0%, above max_reject_share 0.5%)" in out
    assert "STOP named.csv: police_extract" in out and "Victim Surname" in out
    assert "STOP no_code.csv: not recognised" in out
    assert "looks like police_extract" in out and "ho_offence_code" in out
    assert "STOP minutes.csv: not recognised" in out
    assert "5 of 10 file(s) would stop a run" in out
    assert (database.stat().st_mtime_ns, hashlib.sha256(database.read_bytes()).hexdigest()) == stamp
