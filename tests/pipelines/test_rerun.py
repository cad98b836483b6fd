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
from typer.testing import CliRunner

from pipelines.cli import app
from tests.pipelines.conftest import CliRun, Run

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


def test_a_rerun_on_identical_inputs_gives_identical_tables(cli_run: CliRun, demo_run: Run) -> None:
    assert cli_run.exit_code == 0, cli_run.output
    database = cli_run.settings.database
    before = tables_fingerprint(database)
    assert {'marts."sv_rates"', 'core."incidents"', 'audit."loads"'} <= set(before)

    again = CliRunner().invoke(
        app, ["run", "--settings", str(cli_run.settings.path)], env={"COLUMNS": "400"}
    )
    assert again.exit_code == 0, again.output

    after = tables_fingerprint(database)
    assert [t for t in before if before[t] != after.get(t)] == []
    assert set(after) == set(before)
    # a fresh database built through Dagster's own materialize() publishes the same marts
    assert tables_fingerprint(demo_run.settings.database, ("marts",)) == tables_fingerprint(
        database, ("marts",)
    )

    con = duckdb.connect(str(database), read_only=True)
    try:
        runs = con.execute(
            "SELECT run_id, status, definition_hash, input_hashes, settings, package_versions"
            " FROM audit.runs ORDER BY started_at"
        ).fetchall()
    finally:
        con.close()
    first, second = runs[0], runs[-1]
    assert first[1] == second[1] == "success" and first[0] != second[0]
    assert first[2:] == second[2:]  # same definition, input file hashes, settings and packages
    assert len(json.loads(second[3])) >= 5

    # the published files name the run that made them
    folder = cli_run.settings.output_dir / "2023-24"
    for name in ("sv_rates.csv", "geography_coverage.csv"):
        with (folder / name).open(encoding="utf-8-sig") as handle:
            assert {row["run_id"] for row in csv.DictReader(handle)} == {second[0]}
    assert f"run {second[0]}".encode() in (folder / "sv_rate_map_demo-county.pdf").read_bytes()
