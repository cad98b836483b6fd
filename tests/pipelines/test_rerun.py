"""Re-running on identical inputs gives identical tables, and the audit trail says it was so.

The session's `sna run` is run once more on the same settings and database (the one extra
pipeline run): every table of every stage must come out the same, apart from the ids and times
that say which load or run wrote a row.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import duckdb
import openpyxl
import pyogrio

from tests.pipelines.conftest import CliRun, sna_run

STAGES = ("ref", "raw", "core", "quarantine", "marts", "audit")
# What differs between two runs by design: which run or load wrote a row, and when.
RUN_COLUMNS = {"load_id", "_load_id", "loaded_at", "run_id"}


def tables_fingerprint(database: Path, schemas: tuple[str, ...] = STAGES) -> dict[str, str]:
    """A hash per table of its rows (run and load ids and times left out), audit.runs excepted."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        columns: dict[str, list[str]] = {}
        for schema, table, column in con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns"
            " WHERE table_schema IN (SELECT unnest(?)) AND table_catalog = current_database()"
            " ORDER BY table_schema, table_name, ordinal_position",
            [list(schemas)],
        ).fetchall():
            if f"{schema}.{table}" != "audit.runs" and column not in RUN_COLUMNS:
                columns.setdefault(f'{schema}."{table}"', []).append(f'"{column}"')
        return {
            table: hashlib.sha256(
                repr(
                    con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY ALL").fetchall()
                ).encode()
            ).hexdigest()
            for table, cols in columns.items()
        }
    finally:
        con.close()


def published_csvs(folder: Path, run_id: str) -> dict[str, bytes]:
    """The bytes of every published CSV under `folder`, with the run id that wrote it blanked."""
    return {
        str(path.relative_to(folder)): path.read_bytes().replace(run_id.encode(), b"<run id>")
        for path in sorted(folder.rglob("*.csv"))
    }


def latest_run_id(database: Path) -> str:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute("SELECT run_id FROM audit.runs ORDER BY started_at DESC").fetchone()[0]
    finally:
        con.close()


def test_a_rerun_on_identical_inputs_gives_identical_tables(cli_run: CliRun) -> None:
    """Tables are compared as sets of rows: core.incidents is written unsorted, in an order that
    may differ between runs, and nothing reads its order. The published CSVs, which are made
    from it, must come out byte for byte the same."""
    assert cli_run.exit_code == 0, cli_run.output
    database = cli_run.settings.database
    before = tables_fingerprint(database)
    assert {'marts."sv_rates"', 'core."incidents"', 'audit."loads"'} <= set(before)
    published = published_csvs(cli_run.settings.output_dir, latest_run_id(database))
    assert len(published) >= 5

    code, output = sna_run(*cli_run.args)  # the same command line, inputs and database
    assert code == 0, output

    after = tables_fingerprint(database)
    assert [t for t in before if before[t] != after.get(t)] == []
    assert set(after) == set(before)
    again = published_csvs(cli_run.settings.output_dir, latest_run_id(database))
    assert [f for f in published if published[f] != again.get(f)] == []
    assert set(again) == set(published)

    con = duckdb.connect(str(database), read_only=True)
    try:
        runs = con.execute(
            "SELECT run_id, status, definition_hash, input_hashes, settings, package_versions"
            " FROM audit.runs ORDER BY started_at"
        ).fetchall()
    finally:
        con.close()
    # each `sna run` is two runs, the ingest then the analysis that publishes; the first ingest
    # run ended before the reference files were loaded, so the analysis runs are compared
    assert len(runs) == 4 and {r[1] for r in runs} == {"success"}
    first, second = runs[1], runs[-1]
    assert first[0] != second[0]
    assert first[2:] == second[2:]  # same definition, input file hashes, settings and packages
    assert len(json.loads(second[3])) >= 5

    # every published file names the run that made it
    run_id = second[0]
    folder = cli_run.settings.output_dir / "partner" / "2021-22"
    csvs = sorted(folder.glob("*.csv"))
    assert len(csvs) >= 5
    for path in csvs:
        with path.open(encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            named = {row["run_id"] for row in reader}
        # a table with no rows for this period (year on year in the first year) still has the column
        assert "run_id" in reader.fieldnames and named <= {run_id}, path.name
        assert named == {run_id} or path.name == "year_on_year.csv", path.name
    for pack in folder.glob("map_pack_*.pdf"):
        assert f"Run {run_id}".encode() in pack.read_bytes(), pack.name  # the PDF's Subject
    contents = openpyxl.load_workbook(folder / "sna_tables.xlsx", read_only=True)["Contents"]
    assert ["Run", run_id] in [list(row) for row in contents.iter_rows(values_only=True)]
    for layer, _ in pyogrio.list_layers(folder / "sna.gpkg"):
        table = pyogrio.read_dataframe(folder / "sna.gpkg", layer=layer, read_geometry=False)
        assert set(table["run_id"]) == {run_id}, layer
    assert f"Run: {run_id}" in (folder / "index.html").read_text(encoding="utf-8")
    assert json.loads((folder / "manifest.json").read_text())["run_id"] == run_id
