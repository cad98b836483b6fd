"""The DuckDB store: one file, schemas by stage (ref, raw, quarantine, core, marts, audit).

Writes go through `write_table` / `write_load` so each is one transaction: a failed step leaves the
previous table in place rather than half a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import pyarrow as pa

from sources._result import LOAD_COLUMNS, REJECT_COLUMNS, ReadResult

SCHEMA_SQL = Path(__file__).with_name("sql") / "schema.sql"


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database file, creating its folder and the fixed schema when writable."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        ensure_schema(con)
    return con


@cache
def spatial_extension_path() -> Path:
    """The spatial extension shipped in the duckdb-extension-spatial wheel (never downloaded)."""
    import duckdb_extension_spatial

    root = Path(duckdb_extension_spatial.__path__[0])
    found = sorted(root.rglob(f"v{duckdb.__version__}/spatial.duckdb_extension"))
    if not found:
        raise RuntimeError(
            f"duckdb-extension-spatial has no build for DuckDB {duckdb.__version__} under {root}:"
            " install the matching wheel (DESIGN §8)"
        )
    return found[0]


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """LOAD the spatial extension from the wheel's file (never INSTALL: nothing is downloaded at
    run time); idempotent. It loads only into the DuckDB version it was built for."""
    con.execute(f"LOAD '{spatial_extension_path()}'")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the stage schemas and the fixed quarantine and audit tables if absent."""
    con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Commit on success, roll back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def to_storable(df: pd.DataFrame) -> pd.DataFrame:
    """A frame DuckDB can store: geometry as WKB bytes (EPSG:27700 is recorded by the caller)."""
    if isinstance(df, gpd.GeoDataFrame):
        out = pd.DataFrame(df.drop(columns=df.geometry.name))
        out["geometry"] = df.geometry.to_wkb()
        return out
    return df


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: pd.DataFrame) -> Iterator[None]:
    """Make data frames queryable by name for the duration of the block."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)


def _replace(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    with registered(con, _frame=to_storable(df)):
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _frame")


def write_table(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> int:
    """Replace `schema.table` with the frame in one transaction; returns the row count."""
    with transaction(con):
        _replace(con, table, df)
    return len(df)


def create_sql(table: str) -> str:
    """CREATE OR REPLACE for `schema.table`, or a temporary table for `temp.name` (in memory: a
    step's intermediate tables never reach the file)."""
    if table.startswith("temp."):
        return f"CREATE OR REPLACE TEMP TABLE {table.removeprefix('temp.')}"
    return f"CREATE OR REPLACE TABLE {table}"


def replace_periods(
    con: duckdb.DuckDBPyConnection, table: str, select: str, periods: Sequence[str] | None
) -> None:
    """Write the rows of `select` to `table` in one transaction: the whole table when `periods` is
    None, else in place of the rows of those periods (and of no period) only, so a refresh of one
    year keeps every other year's rows as they were. `select` must hold only those periods."""
    with transaction(con):
        _put_periods(con, table, select, periods)


def write_periods(
    con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], periods: Sequence[str] | None
) -> None:
    """`replace_periods` for data frames (table -> frame), all tables in one transaction."""
    named = {f"_frame{i}": to_storable(df) for i, df in enumerate(frames.values())}
    with transaction(con), registered(con, **named):
        for table, name in zip(frames, named, strict=True):
            _put_periods(con, table, f"SELECT * FROM {name}", periods)


def _put_periods(
    con: duckdb.DuckDBPyConnection, table: str, select: str, periods: Sequence[str] | None
) -> None:
    if periods is None or not table_exists(con, table):
        con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}")
        return
    con.execute(
        f"DELETE FROM {table} WHERE period IS NULL OR list_contains($periods, period)",
        {"periods": list(periods)},
    )
    con.execute(f"INSERT INTO {table} BY NAME {select}")


def write_load(
    con: duckdb.DuckDBPyConnection, table: str, result: ReadResult, source: str, load_id: str
) -> None:
    """Store a small reader's rows, rejects, cell issues and per-file loads together, or none.

    The source's previous quarantine and load records are replaced, so a rerun never duplicates
    them. Rows loaded per file are counted from the stored table, not taken from the reader.
    """
    rows = result.rows.assign(_load_id=load_id)
    issues = {
        "quarantine.rejects": result.rejects.reindex(columns=REJECT_COLUMNS),
        "quarantine.cell_issues": result.cell_issues.reindex(columns=REJECT_COLUMNS),
    }
    loads = result.loads.reindex(columns=LOAD_COLUMNS).drop(columns="rows_loaded")
    loads = loads.assign(load_id=load_id, loaded_at=datetime.now(UTC).replace(tzinfo=None))
    with transaction(con), registered(con, _loads=loads):
        _replace(con, table, rows)
        for target, frame in issues.items():
            con.execute(f"DELETE FROM {target} WHERE source = ?", [source])
            if len(frame):
                with registered(con, _issues=frame.assign(load_id=load_id)):
                    con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _issues")
        con.execute("DELETE FROM quarantine.duplicates WHERE source = ?", [source])
        con.execute("DELETE FROM audit.loads WHERE source = ?", [source])
        if len(loads):
            con.execute(
                f"""
                INSERT INTO audit.loads BY NAME
                SELECT l.*, coalesce(t.n, 0) AS rows_loaded, 0 AS cell_issues, 0 AS rows_duplicate
                FROM _loads l LEFT JOIN (SELECT _file, count(DISTINCT _line) n FROM {table}
                                          GROUP BY 1) t ON t._file = l.file
                """
            )
            con.execute(
                "UPDATE audit.loads SET cell_issues = c.n FROM (SELECT file, count(*) n FROM"
                " quarantine.cell_issues WHERE source = ? GROUP BY 1) c"
                " WHERE audit.loads.source = ? AND audit.loads.file = c.file",
                [source, source],
            )


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.table` exists in the open database."""
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema || '.' || table_name = ? AND table_catalog = current_database()",
            [table],
        ).fetchone()[0]
    )


def publish_build(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Copy every `build.*` table to `marts.*` in one transaction; drop marts no longer built.

    Runs last, after every blocking check passed: until then a run only writes `build.*`, so a
    failed or killed run leaves `marts.*` exactly as the last successful run published them.
    Returns the published table names.
    """
    names = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
            " AND table_catalog = current_database() ORDER BY 1",
            ["build"],
        ).fetchall()
    ]
    stale = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            " AND table_catalog = current_database()"
        ).fetchall()
        if row[0] not in names
    ]
    with transaction(con):
        for name in names:
            con.execute(f'CREATE OR REPLACE TABLE marts."{name}" AS FROM build."{name}"')
        for name in stale:
            con.execute(f'DROP TABLE marts."{name}"')
    return names


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """A whole table as a data frame."""
    return con.execute(f"SELECT * FROM {table}").df()


def release_unused_memory() -> None:
    """Give back to the system the memory pyarrow's allocator keeps once frames are freed.

    pandas keeps text columns in pyarrow buffers, and the allocator (mimalloc) holds freed ones
    for reuse: reading a country's tables one after another would otherwise keep the peak of
    all of them (measured: 1 GB held after freeing national `sv_rates`, 0.26 GB after this).
    """
    pa.default_memory_pool().release_unused()


def read_geotable(con: duckdb.DuckDBPyConnection, table: str) -> gpd.GeoDataFrame:
    """A table with a WKB `geometry` column as a GeoDataFrame in EPSG:27700."""
    df = read_table(con, table)
    geometry = gpd.GeoSeries.from_wkb(df.pop("geometry").map(bytes), crs="EPSG:27700")
    return gpd.GeoDataFrame(df, geometry=geometry)


def write_table_parts(
    con: duckdb.DuckDBPyConnection, table: str, parts: Iterable[pd.DataFrame], columns: list[str]
) -> int:
    """Replace `schema.table` with the frames of `parts` one after another, in one transaction,
    so a table too big to hold in memory is never held whole; returns the row count. With no
    parts, the table is empty with `columns` (as text)."""
    rows = 0
    with transaction(con):
        for part in parts:
            if rows == 0:
                _replace(con, table, part)
            else:
                with registered(con, _part=to_storable(part)):
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _part")
            rows += len(part)
        if rows == 0:
            _replace(con, table, pd.DataFrame({c: pd.Series(dtype="object") for c in columns}))
    return rows


def sql_literal(value: str) -> str:
    """`value` as a quoted SQL string literal, for statements that take no parameters (views).

    >>> sql_literal("it's")
    "'it''s'"
    """
    return "'" + value.replace("'", "''") + "'"
