"""Load many CSV files of one format straight into a DuckDB table, accounting for every line.

Each file is split into records by pyarrow in one call (`sources._csv.parse_file`); batches of
files are typed in SQL (`sources._csv.typing_sql`) and inserted into a fresh table, so no row
passes through Python. The new table, its rejects, cell issues, duplicates and per-file load
records replace the source's previous ones in one transaction: a failed load leaves the last
good one in place, never half a table.

Two kinds of repeat are caught here (DESIGN §8a):
- a file whose bytes equal a file read earlier in the same load (by sha256) is not loaded again;
  its load record says which file it duplicates;
- a record key (crime reference, police.uk Crime ID) seen more than once, in one file or across
  files, is kept once: the latest version by the input's `order`; the others are listed in
  `quarantine.duplicates` and counted per file in `audit.loads.rows_duplicate`. A record without
  a key (police.uk anti-social behaviour) that recurs with every value equal in a later file is
  the same record again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from sources._csv import (
    TYPED_COLUMNS,
    ParsedFile,
    Spec,
    batch_text,
    issues_sql,
    parse_file,
    refuse_us_dates,
    typing_sql,
)

BATCH_ROWS = 1_000_000  # rows typed per SQL pass: bounds memory, amortises per-statement cost


@dataclass(frozen=True)
class Dedup:
    """Which column identifies a record, and which version wins (SQL ORDER BY, first wins)."""

    key: str
    order: str = "_file DESC, _line DESC"


@dataclass(frozen=True)
class LoadSummary:
    """What one load did, for the asset's metadata and the terminal."""

    files: int
    duplicate_files: int
    physical_lines: int
    rows_loaded: int
    rows_rejected: int
    cell_issues: int
    rows_duplicate: int
    readers: dict[str, int]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_csv_files(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    spec: Spec,
    table: str,
    load_id: str,
    *,
    dedup: Dedup | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadSummary:
    """Load every file into `table` (replacing it) and record rejects, cell issues and loads."""
    source = spec.source
    loading = f"{table}__loading"
    con.execute(f"DROP TABLE IF EXISTS {loading}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rejects (source VARCHAR, file VARCHAR, line BIGINT,"
        ' "column" VARCHAR, value VARCHAR, reason VARCHAR)'
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _cells AS FROM _rejects")
    loads: list[dict] = []
    seen: dict[str, str] = {}
    batch: list[ParsedFile] = []
    rows_in_batch = 0
    created = False
    columns = list(spec.columns)

    def flush() -> None:
        """Type the batch in one SQL pass into the loading table (verdicts included)."""
        nonlocal batch, rows_in_batch, created
        if not batch:
            return
        present = {n for p in batch for n in p.text.column_names if n != "_line"}
        sql = typing_sql(spec, columns, present, batch[0].numeric)
        con.register("_text", batch_text(batch, [c.name for c in columns if c.name in present]))
        try:
            refuse_us_dates(con, spec, batch)
            if not created:
                con.execute(
                    f"CREATE TABLE {loading} AS SELECT *, ? AS _load_id FROM ({sql}) LIMIT 0",
                    [load_id],
                )
                created = True
            con.execute(
                f"INSERT INTO {loading} BY NAME SELECT *, ? AS _load_id FROM ({sql})", [load_id]
            )
            for p in batch:
                if len(p.rejects):
                    con.register("_parse_rejects", p.rejects)
                    con.execute("INSERT INTO _rejects BY NAME SELECT * FROM _parse_rejects")
                    con.unregister("_parse_rejects")
        finally:
            con.unregister("_text")
        batch, rows_in_batch = [], 0

    for i, path in enumerate(paths):
        parsed = parse_file(path, spec)
        record = parsed.load_record(
            source, duplicate_of=seen.get(parsed.sha256), columns=sorted(parsed.found)
        )
        loads.append(record)
        if record["duplicate_of"] is None:
            seen[parsed.sha256] = parsed.file
            if batch and batch[0].numeric != parsed.numeric:
                flush()  # a batch holds one set of column types
            batch.append(parsed)
            rows_in_batch += parsed.text.num_rows
            if rows_in_batch >= BATCH_ROWS:
                flush()
        if progress:
            progress(i + 1, len(paths))
    flush()
    if not created:  # no file had a record: an empty table with the typed columns
        con.execute("CREATE TEMP TABLE _text (_file VARCHAR, _line BIGINT)")
        sql = typing_sql(spec, columns, set())
        con.execute(
            f"CREATE TABLE {loading} AS SELECT *, NULL::VARCHAR AS _load_id FROM ({sql}) LIMIT 0"
        )
        con.execute("DROP TABLE _text")
    rejects_sql, cells_sql = issues_sql(loading, source)
    con.execute(f"INSERT INTO _rejects BY NAME {rejects_sql}")
    con.execute(f"INSERT INTO _cells BY NAME {cells_sql}")
    con.execute(f"DELETE FROM {loading} WHERE NOT _ok")
    for verdict in TYPED_COLUMNS:
        con.execute(f"ALTER TABLE {loading} DROP COLUMN {verdict}")
    _find_duplicates(con, loading, source, dedup)
    _commit(con, table, loading, source, load_id, loads)
    return _summary(con, source, load_id)


def _find_duplicates(
    con: duckdb.DuckDBPyConnection, loading: str, source: str, dedup: Dedup | None
) -> None:
    """Rows whose key was seen in a later version: listed, with the version that was kept.

    Rows without a key (police.uk anti-social behaviour has no Crime ID) cannot be matched by it:
    the same record, every value equal, in two files is one record seen twice (a month saved
    again with other bytes). Identical records within one file are distinct events (police.uk
    snaps locations to shared points), so the n-th copy in one file pairs with the n-th in another.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _duplicates (source VARCHAR, file VARCHAR, line BIGINT,"
        ' "key" VARCHAR, kept_file VARCHAR, kept_line BIGINT)'
    )
    if dedup is None:
        return
    key = _q(dedup.key)
    con.execute(
        f"""
        INSERT INTO _duplicates
        SELECT ?, _file, _line, {key}, first_value(_file) OVER w, first_value(_line) OVER w
        FROM {loading} WHERE {key} IS NOT NULL
        WINDOW w AS (PARTITION BY {key} ORDER BY {dedup.order})
        QUALIFY row_number() OVER w > 1
        """,
        [source],
    )
    values = [
        _q(name)
        for (name,) in con.execute(f"SELECT name FROM pragma_table_info('{loading}')").fetchall()
        if name not in ("_file", "_line", "_load_id")
    ]
    record = f"struct_pack({', '.join(values)})"
    con.execute(
        f"""
        INSERT INTO _duplicates
        SELECT ?, _file, _line, ?, first_value(_file) OVER w, first_value(_line) OVER w
        FROM (SELECT *, {record} AS _record,
                     row_number() OVER (PARTITION BY {record}, _file ORDER BY _line) AS _copy
              FROM {loading} WHERE {key} IS NULL)
        WINDOW w AS (PARTITION BY _record, _copy ORDER BY {dedup.order})
        QUALIFY row_number() OVER w > 1
        """,
        [source, f"(no {dedup.key}: the same record in a later file)"],
    )


def _commit(
    con: duckdb.DuckDBPyConnection,
    table: str,
    loading: str,
    source: str,
    load_id: str,
    loads: list[dict],
) -> None:
    """Swap the new table in and replace the source's quarantine and load records, atomically.

    Loaded and rejected counts per file are counted from the tables just written, not taken from
    the reader, so the reconcile check compares the database with the bytes on disk.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _loads (source VARCHAR, file VARCHAR, sha256 VARCHAR,"
        " encoding VARCHAR, reader VARCHAR, physical_lines BIGINT, header_lines BIGINT,"
        " blank_lines BIGINT, data_lines BIGINT, duplicate_of VARCHAR, columns VARCHAR[])"
    )
    if loads:
        con.executemany(
            "INSERT INTO _loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [r["source"], r["file"], r["sha256"], r["encoding"], r["reader"],
                 r["physical_lines"], r["header_lines"], r["blank_lines"], r["data_lines"],
                 r["duplicate_of"], r["columns"]]
                for r in loads
            ],
        )  # fmt: skip
    name = table.split(".")[1]
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"ALTER TABLE {loading} RENAME TO {_q(name)}")
        for target, temp in (
            ("quarantine.rejects", "_rejects"),
            ("quarantine.cell_issues", "_cells"),
        ):
            con.execute(f"DELETE FROM {target} WHERE source = ?", [source])
            con.execute(
                f'INSERT INTO {target} (source, file, line, "column", value, reason, load_id)'
                f' SELECT source, file, line, "column", value, reason, ? FROM {temp}',
                [load_id],
            )
        con.execute("DELETE FROM quarantine.duplicates WHERE source = ?", [source])
        con.execute(
            "INSERT INTO quarantine.duplicates SELECT *, ? AS load_id FROM _duplicates", [load_id]
        )
        con.execute("DELETE FROM audit.loads WHERE source = ?", [source])
        con.execute(
            f"""
            INSERT INTO audit.loads BY NAME
            SELECT l.*, ? AS load_id, ? AS loaded_at,
                   coalesce(t.n, 0) AS rows_loaded,
                   coalesce(r.n, 0) AS rows_rejected,
                   coalesce(c.n, 0) AS cell_issues,
                   coalesce(d.n, 0) AS rows_duplicate
            FROM _loads l
            LEFT JOIN (SELECT _file, count(*) n FROM {table} GROUP BY 1) t ON t._file = l.file
            LEFT JOIN (SELECT file, count(DISTINCT line) n FROM _rejects GROUP BY 1) r USING (file)
            LEFT JOIN (SELECT file, count(*) n FROM _cells GROUP BY 1) c USING (file)
            LEFT JOIN (SELECT file, count(*) n FROM _duplicates GROUP BY 1) d USING (file)
            """,
            [load_id, now],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for temp in ("_rejects", "_cells", "_duplicates", "_loads"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")


def _summary(con: duckdb.DuckDBPyConnection, source: str, load_id: str) -> LoadSummary:
    row = con.execute(
        "SELECT count(*), count(duplicate_of), coalesce(sum(physical_lines), 0),"
        " coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0),"
        " coalesce(sum(cell_issues), 0), coalesce(sum(rows_duplicate), 0)"
        " FROM audit.loads WHERE source = ? AND load_id = ?",
        [source, load_id],
    ).fetchone()
    readers = dict(
        con.execute(
            "SELECT reader, count(*) FROM audit.loads WHERE source = ? AND load_id = ?"
            " AND duplicate_of IS NULL GROUP BY 1",
            [source, load_id],
        ).fetchall()
    )
    return LoadSummary(*(int(v) for v in row), readers=readers)
