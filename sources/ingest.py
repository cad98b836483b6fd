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

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from sources._csv import (
    TYPED_COLUMNS,
    ParsedFile,
    Spec,
    batch_text,
    issues_sql,
    parse_file,
    refuse_us_dates,
    sha256_file,
    typing_sql,
)
from sources._result import InputFormatError

READER_VERSION = 1  # raise when a reader change means loaded rows must be read again
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
    event_date: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadSummary:
    """Load every file into `table` (replacing it) and record rejects, cell issues and loads
    (with the months of `event_date` each file holds)."""
    source = spec.source
    loading = f"{table}__loading"
    loads = _stage(con, paths, spec, loading, load_id, {}, progress)
    _commit(con, table, loading, source, load_id, loads, dedup=dedup, event_date=event_date,
            map_hash=map_hash(spec))  # fmt: skip
    return _summary(con, source, load_id)


def map_hash(spec: Spec) -> str:
    """Identifies how rows were typed: a file read under another column map is read again."""
    return hashlib.sha256(f"{READER_VERSION}:{spec!r}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SyncSummary:
    """What a sync did: the load of the files it read, and the files it left or dropped."""

    load: LoadSummary
    files_read: tuple[str, ...]
    files_kept: int
    files_dropped: tuple[str, ...]  # no longer given: their rows, rejects and loads removed
    files_deferred: tuple[str, ...]  # new files whose months lie outside the months synced
    whole: bool  # every file was read (first load, or the column map changed)


def sync_csv_files(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    spec: Spec,
    table: str,
    load_id: str,
    *,
    dedup: Dedup | None = None,
    event_date: str | None = None,
    months: tuple[date, date] | None = None,
) -> SyncSummary:
    """Bring `table` in line with `paths`, reading only files that are new or whose bytes changed.

    A file already loaded with the same sha256 and column map keeps its rows, rejects and load
    record untouched; a changed file's are replaced whole; a file no longer given is removed. So
    a new month loads without reloading the rest, and a month delivered again replaces that
    month's file only. `months` [start, end): sync only the files holding events in those months
    (a new file is read to learn its months, and deferred when it holds none of them; files with
    no dated row belong to every range). Without a table yet, or when the column map changed,
    every file is read.
    """
    source = spec.source
    files = {str(Path(p).resolve()): Path(p) for p in paths}
    digest = map_hash(spec)
    previous = {
        file: (sha, months_, duplicate_of, hashed)
        for file, sha, months_, duplicate_of, hashed in con.execute(
            "SELECT file, sha256, months, duplicate_of, column_map_hash FROM audit.loads"
            " WHERE source = ?",
            [source],
        ).fetchall()
    }
    if not _table_exists(con, table) or any(v[3] != digest for v in previous.values()):
        load = load_csv_files(con, list(files.values()), spec, table, load_id, dedup=dedup,
                              event_date=event_date)  # fmt: skip
        return SyncSummary(load, tuple(files), 0, (), (), whole=True)

    def in_range(held: Sequence[date] | None) -> bool:
        return months is None or not held or any(months[0] <= m < months[1] for m in held)

    sha = {file: sha256_file(path) for file, path in files.items()}
    changed = [f for f in files if f not in previous or previous[f][0] != sha[f]]
    dropped = [f for f in previous if f not in files and in_range(previous[f][1])]
    # A kept file recorded as the same bytes as a file now changed or gone was never loaded
    # itself: read it now, or its records would be lost.
    gone = set(changed) | set(dropped)
    changed += [f for f in files if f not in changed and previous.get(f, (0, 0, None))[2] in gone]
    kept = [f for f in files if f not in changed]
    if not changed and not dropped:
        return SyncSummary(_summary(con, source, load_id), (), len(kept), (), (), whole=False)
    seen = {previous[f][0]: f for f in kept if previous[f][2] is None}
    loading = f"{table}__loading"
    loads = _stage(con, [files[f] for f in changed], spec, loading, load_id, seen)
    deferred: list[str] = []
    if months is not None and event_date:
        held = dict(
            con.execute(
                f"SELECT _file, list(DISTINCT CAST(date_trunc('month', {_q(event_date)}) AS DATE))"
                f" FROM {loading} WHERE {_q(event_date)} IS NOT NULL GROUP BY 1"
            ).fetchall()
        )
        deferred = [f for f in changed if not in_range(held.get(f))]
        if deferred:
            con.execute("CREATE OR REPLACE TEMP TABLE _deferred (file VARCHAR)")
            con.executemany("INSERT INTO _deferred VALUES (?)", [[f] for f in deferred])
            con.execute(f"DELETE FROM {loading} WHERE _file IN (FROM _deferred)")
            for temp in ("_rejects", "_cells"):
                con.execute(f"DELETE FROM {temp} WHERE file IN (FROM _deferred)")
            con.execute("DROP TABLE _deferred")
            loads = [r for r in loads if r["file"] not in deferred]
    replacing = [f for f in changed if f not in deferred] + dropped
    _commit(con, table, loading, source, load_id, loads, dedup=dedup, event_date=event_date,
            map_hash=digest, replacing=replacing)  # fmt: skip
    read = tuple(f for f in changed if f not in deferred)
    return SyncSummary(
        _summary(con, source, load_id), read, len(kept), tuple(dropped), tuple(deferred), False
    )


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ?"
            " AND table_name = ? AND table_catalog = current_database()",
            [schema, name],
        ).fetchone()[0]
    )


def _stage(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    spec: Spec,
    loading: str,
    load_id: str,
    seen: dict[str, str],
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Parse and type files into the table `loading` (created afresh), their rejects into the
    temp table `_rejects` and cell issues into `_cells`; return one load record per file. A file
    whose sha256 is in `seen` (sha256 -> file) is recorded as a duplicate and not read again."""
    source = spec.source
    con.execute(f"DROP TABLE IF EXISTS {loading}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rejects (source VARCHAR, file VARCHAR, line BIGINT,"
        ' "column" VARCHAR, value VARCHAR, reason VARCHAR)'
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _cells AS FROM _rejects")
    loads: list[dict] = []
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
    return loads


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
    # The windows below sort; only keys and records that occur more than once can repeat, and
    # they are few, so they are found first with a hash aggregate and only their rows are sorted.
    con.execute(
        f"""
        INSERT INTO _duplicates
        SELECT ?, _file, _line, {key}, first_value(_file) OVER w, first_value(_line) OVER w
        FROM {loading}
        WHERE {key} IN (SELECT {key} FROM {loading} WHERE {key} IS NOT NULL
                        GROUP BY ALL HAVING count(*) > 1)
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
    # A record repeats only across files (copies within one file are distinct events), so only
    # records whose hash is seen in two files are compared; equal hashes are then compared whole.
    con.execute(
        f"""
        INSERT INTO _duplicates
        SELECT ?, _file, _line, ?, first_value(_file) OVER w, first_value(_line) OVER w
        FROM (SELECT *, {record} AS _record,
                     row_number() OVER (PARTITION BY {record}, _file ORDER BY _line) AS _copy
              FROM {loading}
              WHERE {key} IS NULL AND hash({record}) IN (
                  SELECT hash({record}) FROM {loading} WHERE {key} IS NULL
                  GROUP BY ALL HAVING count(DISTINCT _file) > 1))
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
    *,
    dedup: Dedup | None = None,
    event_date: str | None = None,
    map_hash: str | None = None,
    replacing: Collection[str] | None = None,
) -> None:
    """Put the staged rows in and replace the source's quarantine and load records, atomically.

    `replacing` None: the staged table becomes the table (every file was read). Otherwise only
    the rows, rejects, cell issues and load records of the files in `replacing` (files read
    again, and files no longer given) are replaced; every other file's stay as they were.
    Repeated keys are looked for across the whole table afterwards, so a record in a new file
    still supersedes one loaded months ago.

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
    con.execute("CREATE OR REPLACE TEMP TABLE _replacing (file VARCHAR)")
    if replacing:
        con.executemany("INSERT INTO _replacing VALUES (?)", [[f] for f in replacing])
    months = (
        f"list(DISTINCT CAST(date_trunc('month', {_q(event_date)}) AS DATE) ORDER BY 1)"
        f" FILTER ({_q(event_date)} IS NOT NULL)"
        if event_date
        else "NULL::DATE[]"
    )
    name = table.split(".")[1]
    now = datetime.now(UTC).replace(tzinfo=None)
    mine = "source = ?" if replacing is None else "source = ? AND file IN (FROM _replacing)"
    con.execute("BEGIN TRANSACTION")
    try:
        if replacing is None:
            con.execute(f"DROP TABLE IF EXISTS {table}")
            con.execute(f"ALTER TABLE {loading} RENAME TO {_q(name)}")
        else:
            con.execute(f"DELETE FROM {table} WHERE _file IN (FROM _replacing)")
            con.execute(f"INSERT INTO {table} BY NAME FROM {loading}")
            con.execute(f"DROP TABLE {loading}")
        _find_duplicates(con, table, source, dedup)
        for target, temp in (
            ("quarantine.rejects", "_rejects"),
            ("quarantine.cell_issues", "_cells"),
        ):
            con.execute(f"DELETE FROM {target} WHERE {mine}", [source])
            con.execute(
                f'INSERT INTO {target} (source, file, line, "column", value, reason, load_id)'
                f' SELECT source, file, line, "column", value, reason, ? FROM {temp}',
                [load_id],
            )
        con.execute("DELETE FROM quarantine.duplicates WHERE source = ?", [source])
        con.execute(
            "INSERT INTO quarantine.duplicates SELECT *, ? AS load_id FROM _duplicates", [load_id]
        )
        con.execute(f"DELETE FROM audit.loads WHERE {mine}", [source])
        con.execute(
            f"""
            INSERT INTO audit.loads BY NAME
            SELECT l.*, ? AS load_id, ? AS loaded_at, ? AS column_map_hash,
                   coalesce(t.n, 0) AS rows_loaded,
                   coalesce(r.n, 0) AS rows_rejected,
                   coalesce(c.n, 0) AS cell_issues,
                   t.months AS months
            FROM _loads l
            LEFT JOIN (SELECT _file, count(*) AS n, {months} AS months FROM {table}
                       WHERE _file IN (SELECT file FROM _loads) GROUP BY 1) t ON t._file = l.file
            LEFT JOIN (SELECT file, count(DISTINCT line) n FROM _rejects GROUP BY 1) r USING (file)
            LEFT JOIN (SELECT file, count(*) n FROM _cells GROUP BY 1) c USING (file)
            """,
            [load_id, now, map_hash],
        )
        con.execute(
            "UPDATE audit.loads SET rows_duplicate = (SELECT count(*) FROM _duplicates d"
            " WHERE d.file = audit.loads.file) WHERE source = ?",
            [source],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for temp in ("_rejects", "_cells", "_duplicates", "_loads", "_replacing"):
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


def probe_months(paths: Sequence[Path], spec: Spec, column: str) -> dict[Path, set[date] | None]:
    """The months of `column` in each file, read quickly to plan a run (never to load it):
    pyarrow reads that one column and DuckDB parses it as the column map says. Lines pyarrow
    cannot read are skipped here (the reader rejects them). None for a file that cannot be
    probed this way (no such column, gzip, not UTF-8): the caller then plans for every month."""
    from sources._csv import _find, _header, _trimmed, column_sql, normalise_header
    from sources._text import decode

    col = next(c for c in spec.columns if c.name == column)
    parse = column_sql(col).parse.replace("§T", _trimmed("c"))
    found: dict[Path, set[date] | None] = {}
    con = duckdb.connect()
    try:
        for path in paths:
            found[path] = None
            try:
                with path.open("rb") as fh:
                    head = fh.read(1 << 20)
                if head[:2] == b"\x1f\x8b":
                    continue
                header = _header(path, decode(path, head[: head.rfind(b"\n") + 1] or head).data)[0]
                index = _find([normalise_header(h) for h in header], col, set())
                if index is None:
                    continue
                names = [f"c{i}" for i in range(len(header))]
                table = pacsv.read_csv(
                    path,
                    read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
                    parse_options=pacsv.ParseOptions(invalid_row_handler=lambda _row: "skip"),
                    convert_options=pacsv.ConvertOptions(
                        include_columns=[names[index]], column_types={names[index]: pa.string()}
                    ),
                )
                con.register("_probe", table.rename_columns(["c"]))
                rows = con.execute(
                    f"SELECT DISTINCT CAST(date_trunc('month', {parse}) AS DATE) AS m"
                    " FROM _probe WHERE m IS NOT NULL"
                ).fetchall()
                con.unregister("_probe")
            except (InputFormatError, pa.ArrowInvalid, OSError, duckdb.Error):
                continue
            found[path] = {m for (m,) in rows}
    finally:
        con.close()
    return found
