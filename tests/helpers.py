"""Test helpers: load files through the real ingest into a throwaway DuckDB and look at them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from sources._csv import load_spec
from sources.ingest import LoadSummary, load_csv_files
from sources.registry import BY_KEY
from transforms.db import connect


@dataclass(frozen=True)
class Loaded:
    """What an ingest left in the database, as frames."""

    con: duckdb.DuckDBPyConnection
    summary: LoadSummary
    rows: pd.DataFrame
    rejects: pd.DataFrame
    cell_issues: pd.DataFrame
    loads: pd.DataFrame
    duplicates: pd.DataFrame


def ingest(files: list[Path] | Path, key: str, database: str | Path = ":memory:") -> Loaded:
    """Load files as the registry's input `key` (e.g. "police_uk") through `load_csv_files`."""
    files = [files] if isinstance(files, (str, Path)) else list(files)
    spec = BY_KEY[key]
    con = connect(database) if database != ":memory:" else _memory()
    summary = load_csv_files(
        con, [Path(f) for f in files], load_spec(spec.column_map), spec.table, "test",
        dedup=spec.dedup,
    )  # fmt: skip
    where = f"WHERE source = '{spec.source}'"
    return Loaded(
        con=con,
        summary=summary,
        rows=con.execute(f"SELECT * FROM {spec.table} ORDER BY _file, _line").df(),
        rejects=con.execute(f"SELECT * FROM quarantine.rejects {where} ORDER BY file, line").df(),
        cell_issues=con.execute(
            f"SELECT * FROM quarantine.cell_issues {where} ORDER BY file, line"
        ).df(),
        loads=con.execute(f"SELECT * FROM audit.loads {where} ORDER BY file").df(),
        duplicates=con.execute(
            f"SELECT * FROM quarantine.duplicates {where} ORDER BY file, line"
        ).df(),
    )


def _memory() -> duckdb.DuckDBPyConnection:
    from transforms.db import ensure_schema

    con = duckdb.connect()
    ensure_schema(con)
    return con


def reconciles(loads: pd.DataFrame) -> bool:
    """Per file: loaded + rejected + header + blank == physical lines (duplicate files aside)."""
    own = loads[loads["duplicate_of"].isna()]
    whole = own["rows_loaded"] + own["rows_rejected"] + own["header_lines"] + own["blank_lines"]
    return bool((whole == own["physical_lines"]).all())
