"""Glue between a reader's result and the store, shared by the reference and ingest assets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.metadata import md_table, table_metadata
from sources._result import ReadResult
from sources.paths import expand, expand_single
from transforms.db import transaction, write_load


def store_read(
    duckdb: DuckDBResource, table: str, source: str, result: ReadResult, load_id: str
) -> dict[str, Any]:
    """Write rows, rejects and load counts in one transaction; return the asset's metadata."""
    with duckdb.get_connection() as con:
        write_load(con, table, result, source, load_id)
    loads = result.loads
    return table_metadata(
        result.rows,
        table,
        files=len(loads),
        data_lines=int(loads["data_lines"].sum()),
        rows_rejected=int(loads["rows_rejected"].sum()),
        rejects_preview=md_table(result.rejects, 10),
    )


def load_input(
    duckdb: DuckDBResource,
    pattern: str | None,
    table: str,
    source: str,
    read: Callable[[list[Path]], ReadResult],
    load_id: str,
    *,
    single_file: bool = False,
) -> dict[str, Any]:
    """Read the files a settings pattern names and store them; clear the source when not configured."""
    if not pattern:
        return not_configured(duckdb, table, source)
    paths = [expand_single(pattern)] if single_file else expand(pattern)
    return store_read(duckdb, table, source, read(paths), load_id)


def not_configured(duckdb: DuckDBResource, table: str, source: str) -> dict[str, Any]:
    """An optional input left out of the settings: drop what an earlier run loaded for it."""
    with duckdb.get_connection() as con, transaction(con):
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute("DELETE FROM quarantine.rejects WHERE source = ?", [source])
        con.execute("DELETE FROM audit.loads WHERE source = ?", [source])
    return {"dagster/row_count": 0, "configured": False}


def reconcile(
    duckdb: DuckDBResource,
    table: str,
    source: str,
    *,
    records: str = "count(*)",
    required: bool = False,
) -> dg.AssetCheckResult:
    """Per file, loaded + rejected == data lines, and the table holds exactly the loaded records.

    `records` counts input records in the table: rows, or distinct (_file, _line) where one input
    line becomes several rows (population, long). `required`: an input that must have files.
    """
    with duckdb.get_connection() as con:
        loads = con.execute(
            "SELECT file, data_lines, rows_loaded, rows_rejected FROM audit.loads"
            " WHERE source = ? ORDER BY file",
            [source],
        ).df()
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema || '.' || table_name = ?",
            [table],
        ).fetchone()[0]
        stored = con.execute(f"SELECT {records} FROM {table}").fetchone()[0] if exists else 0
    off = loads[loads["rows_loaded"] + loads["rows_rejected"] != loads["data_lines"]]
    loaded = int(loads["rows_loaded"].sum())
    passed = off.empty and stored == loaded and (len(loads) > 0 or not required)
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "files": len(loads),
            "data_lines": int(loads["data_lines"].sum()),
            "rows_loaded": loaded,
            "rows_rejected": int(loads["rows_rejected"].sum()),
            "records_in_table": int(stored),
            "files_not_reconciling": md_table(off),
        },
        description=None if passed else f"{table}: rows do not reconcile with the input files",
    )
