"""`sna check DROP_DIR`: what a run would make of each file, without writing anything.

Every file is recognised by its header (`sources.recognise`) and read by the very reader a run
uses (`sources.ingest.sync_csv_files` for column-map inputs, the input's reader function for
reference files) into an in-memory DuckDB that is thrown away, so the verdicts are the run's:
rows loaded, rows rejected with their line, column, value and reason, cell issues, repeated
records, event months, and whether the file would stop a run (not recognised, refused whole,
personal identifiers, rejected share above `max_reject_share`, event dates outside the
plausible window, lines that do not reconcile, several files for a one-file input). The
project's database and output folders are never opened.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.factory import date_window
from pipelines.settings import Settings
from sources._csv import load_spec
from sources._result import InputFormatError
from sources.ingest import sync_csv_files
from sources.recognise import Recognised, is_companion, recognise
from sources.registry import BY_KEY, InputSpec
from transforms.db import ensure_schema, write_load

SHOW_REJECTS = 10


@dataclass
class FileVerdict:
    """What a run would do with one file."""

    path: Path
    recognised: Recognised
    data_lines: int | None = None
    rows_loaded: int | None = None
    rows_rejected: int = 0
    cell_issues: int = 0
    duplicates: int = 0
    months: list[date] = field(default_factory=list)
    rejects: pd.DataFrame | None = None  # the first SHOW_REJECTS: line, column, value, reason
    stops: list[str] = field(default_factory=list)  # why a run would stop
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str | None:
        return self.recognised.key

    @property
    def would_stop(self) -> bool:
        return bool(self.stops)


def files_in(folder: Path) -> list[Path]:
    """Every file under the folder a run could be given (hidden and shapefile side files aside)."""
    return [
        p
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not is_companion(p)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]


def check_folder(folder: Path, settings: Settings) -> list[FileVerdict]:
    """A verdict for every file under `folder`, files of one input read together as a run would."""
    verdicts = []
    groups: dict[str, list[FileVerdict]] = defaultdict(list)
    for path in files_in(folder):
        verdict = FileVerdict(path, recognise(path))
        verdicts.append(verdict)
        if verdict.key is None:
            verdict.stops.append(f"not recognised: {verdict.recognised.problem}")
        elif verdict.recognised.personal_identifiers:
            verdict.stops.append(
                "refused whole: personal identifier columns, which are never stored: "
                + "; ".join(verdict.recognised.personal_identifiers)
            )
        else:
            groups[verdict.key].append(verdict)
    window = date_window(settings)
    for key, group in groups.items():
        spec = BY_KEY[key]
        if not spec.many and len(group) > 1:
            for verdict in group:
                verdict.stops.append(f"{key} takes one file, and {len(group)} were found: keep one")
            continue
        _read_group(spec, group, settings, window)
    return verdicts


def _read_group(
    spec: InputSpec, group: list[FileVerdict], settings: Settings, window: tuple[date, date]
) -> None:
    """Read an input's files into a throwaway in-memory database, as the run's asset would."""
    con = duckdb.connect(":memory:")
    try:
        ensure_schema(con)
        read: list[Path] = []
        for verdict in group:
            try:
                if spec.column_map:
                    sync_csv_files(
                        con, [*read, verdict.path], load_spec(spec.column_map), spec.table,
                        "check", dedup=spec.dedup, event_date=spec.event_date,
                    )  # fmt: skip
                else:
                    options = {kw: getattr(settings, a) for kw, a in spec.read_settings}
                    result = spec.read([verdict.path], **options)
                    write_load(con, spec.table, result, spec.source, "check")
            except InputFormatError as exc:
                verdict.stops.append(f"refused whole: {exc.problem}")
                if exc.missing:
                    verdict.stops[-1] += f"; missing: {', '.join(exc.missing)}"
                continue
            read.append(verdict.path)
            _describe(con, spec, verdict, settings.max_reject_share, window)
    finally:
        con.close()


def _describe(
    con: duckdb.DuckDBPyConnection,
    spec: InputSpec,
    verdict: FileVerdict,
    max_share: float,
    window: tuple[date, date],
) -> None:
    """Fill a verdict from what the read left in the in-memory database."""
    file = str(verdict.path.resolve())
    row = con.execute(
        "SELECT data_lines, rows_loaded, rows_rejected, cell_issues, rows_duplicate,"
        " physical_lines, header_lines, blank_lines, duplicate_of FROM audit.loads"
        " WHERE source = ? AND file = ?",
        [spec.source, file],
    ).fetchone()
    data, loaded, rejected, cells, dups, physical, header, blank, duplicate_of = row
    verdict.data_lines, verdict.rows_loaded = int(data), int(loaded)
    verdict.rows_rejected, verdict.cell_issues = int(rejected), int(cells or 0)
    verdict.duplicates = int(dups or 0)
    verdict.rejects = con.execute(
        'SELECT line, "column", left(value, 80) AS value, reason FROM quarantine.rejects'
        f' WHERE source = ? AND file = ? ORDER BY line, "column" LIMIT {SHOW_REJECTS}',
        [spec.source, file],
    ).df()
    if duplicate_of:
        verdict.notes.append(f"the same bytes as {duplicate_of}: read once")
        return
    records = con.execute(
        f"SELECT count(DISTINCT _line) FROM {spec.table} WHERE _file = ?", [file]
    ).fetchone()[0]
    if physical is not None and records + rejected + header + blank != physical:
        verdict.stops.append(
            f"lines do not reconcile: {physical:,} lines but {records:,} loaded + {rejected:,}"
            f" rejected + {header + blank:,} header/blank"
        )
    if data and rejected / data > max_share:
        top = con.execute(
            'SELECT "column", count(*) n FROM quarantine.rejects WHERE source = ? AND file = ?'
            " GROUP BY 1 ORDER BY n DESC LIMIT 1",
            [spec.source, file],
        ).fetchone()
        verdict.stops.append(
            f"{rejected:,} of {data:,} rows rejected ({rejected / data:.1%}, above"
            f" max_reject_share {max_share:.1%}); most often column {top[0]!r}"
        )
    if spec.event_date:
        column = f'"{spec.event_date}"'
        months = con.execute(
            f"SELECT DISTINCT CAST(date_trunc('month', {column}) AS DATE) FROM {spec.table}"
            f" WHERE _file = ? AND {column} IS NOT NULL ORDER BY 1",
            [file],
        ).fetchall()
        verdict.months = [m for (m,) in months]
        outside = con.execute(
            f"SELECT count(*), arg_max(_line, {column}), max({column}), min({column})"
            f" FROM {spec.table} WHERE _file = ? AND ({column} < ? OR {column} > ?)",
            [file, window[0], window[1]],
        ).fetchone()
        if outside[0]:
            verdict.stops.append(
                f"{outside[0]:,} row(s) have {spec.event_date} outside {window[0]} to {window[1]}"
                f" (from {outside[3]} to {outside[2]}, e.g. line {outside[1]}): fix the date, or"
                " set date_range in the settings if it is right"
            )


def months_text(months: list[date]) -> str:
    """'2024-03', or '2023-04 to 2024-03 (12 months)'."""
    if not months:
        return ""
    if len(months) == 1:
        return f"{months[0]:%Y-%m}"
    return f"{months[0]:%Y-%m} to {months[-1]:%Y-%m} ({len(months)} months)"
