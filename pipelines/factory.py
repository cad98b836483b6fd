"""One factory builds every input's asset and its blocking checks from its registry spec.

For each `sources.registry.InputSpec` it makes:
- the asset: read the files the settings name (straight into DuckDB through a column map, or a
  small reference reader), record rejects, cell issues, duplicates and per-file loads;
- `<key>_reconciles`: per file, loaded + rejected + header + blank lines == the physical lines
  counted from the bytes, and the table holds exactly the loaded records; a failure names the
  file and the line ranges that went missing;
- `<key>_rejects_below_threshold`: per file, rejected rows stay under the settings'
  `max_reject_share`; a failure names the file, the column and its most common bad value;
- `<key>_dates_plausible` (inputs with an event date): every date lies in the settings'
  `date_range`, by default the ten years up to the run date.
"""

from datetime import date
from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from pipelines.metadata import md_table
from pipelines.partitions import MONTHLY, is_monthly, months_of_run
from pipelines.resources import SNASettings
from pipelines.settings import Settings
from sources._csv import load_spec
from sources.ingest import SyncSummary, sync_csv_files
from sources.paths import expand, expand_single
from sources.registry import InputSpec
from transforms.db import table_exists, transaction, write_load


def build_input(spec: InputSpec) -> list[dg.AssetsDefinition | dg.AssetChecksDefinition]:
    """The asset and its checks for one input spec."""
    key = dg.AssetKey(spec.table.split("."))

    monthly = is_monthly(spec)

    @dg.asset(
        key=key,
        group_name=spec.group,
        kinds=set(spec.kinds),
        description=spec.description,
        partitions_def=MONTHLY if monthly else None,
        backfill_policy=dg.BackfillPolicy.single_run() if monthly else None,
    )
    def _load(
        context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
    ) -> dg.MaterializeResult:
        settings = sna.load()
        pattern = settings.inputs[spec.key]
        with duckdb.get_connection() as con:
            if not pattern:
                return dg.MaterializeResult(metadata=_not_configured(con, spec))
            paths = expand(pattern) if spec.many else [expand_single(pattern)]
            context.log.info(f"{spec.key}: reading {len(paths)} file(s)")
            if spec.column_map:
                months = months_of_run(context) if monthly else None
                synced = sync_csv_files(
                    con, paths, load_spec(spec.column_map), spec.table, context.run.run_id,
                    dedup=spec.dedup, event_date=spec.event_date, months=months,
                )  # fmt: skip
                context.log.info(sync_note(spec, synced, months))
                loaded = synced.load
                if loaded.duplicate_files or loaded.rows_duplicate:
                    context.log.warning(repeats_warning(con, spec, loaded.rows_duplicate))
                return dg.MaterializeResult(
                    metadata=_load_metadata(con, spec) | _sync_metadata(synced, months)
                )
            options = {kw: getattr(settings, attr) for kw, attr in spec.read_settings}
            result = spec.read(paths, **options)
            write_load(con, spec.table, result, spec.source, context.run.run_id)
            return dg.MaterializeResult(metadata=_load_metadata(con, spec))

    checks = [_reconciles(spec, key), _rejects_below_threshold(spec, key)]
    if spec.event_date:
        checks.append(_dates_plausible(spec, key))
    return [_load, *checks]


def sync_note(spec: InputSpec, synced: SyncSummary, months: tuple[date, date] | None) -> str:
    """One line on what a sync read, kept and dropped."""
    span = (
        "every month" if months is None else f"months {months[0]:%Y-%m} to before {months[1]:%Y-%m}"
    )
    said = [f"{spec.key} ({span}): read {len(synced.files_read)} file(s)"]
    if synced.whole:
        said.append("(every file: first load, or the column map or reader changed)")
    said.append(f"kept {synced.files_kept} unchanged")
    if synced.files_dropped:
        said.append(f"removed {len(synced.files_dropped)} no longer given")
    if synced.files_deferred:
        said.append(
            f"left {len(synced.files_deferred)} new file(s) holding only other months for their"
            f" own partitions: {', '.join(synced.files_deferred[:3])}"
        )
    return "; ".join(said)


def _sync_metadata(synced: SyncSummary, months: tuple[date, date] | None) -> dict[str, Any]:
    return {
        "months_synced": "all"
        if months is None
        else f"{months[0]:%Y-%m} to {months[1]:%Y-%m} (end excluded)",
        "files_read": len(synced.files_read),
        "files_kept_unchanged": synced.files_kept,
        "files_removed": len(synced.files_dropped),
        "files_deferred": len(synced.files_deferred),
    }


def _not_configured(con, spec: InputSpec) -> dict[str, Any]:
    """An optional input left out of the settings: drop what an earlier run loaded for it."""
    with transaction(con):
        con.execute(f"DROP TABLE IF EXISTS {spec.table}")
        for table in ("quarantine.rejects", "quarantine.cell_issues", "quarantine.duplicates"):
            con.execute(f"DELETE FROM {table} WHERE source = ?", [spec.source])
        con.execute("DELETE FROM audit.loads WHERE source = ?", [spec.source])
    return {"dagster/row_count": 0, "configured": False}


def repeats_warning(con, spec: InputSpec, records: int) -> str:
    """What was counted once although it came twice: files with the same bytes, repeated keys."""
    files = con.execute(
        "SELECT file, duplicate_of FROM audit.loads WHERE source = ? AND duplicate_of IS NOT NULL"
        " ORDER BY file",
        [spec.source],
    ).fetchall()
    said = [f"{file} repeats {original} byte for byte: loaded once" for file, original in files]
    if records:
        said.append(
            f"{records:,} records repeat a {spec.dedup.key} seen in a later version: only the"
            " latest counts (listed in quarantine.duplicates)"
        )
    return f"{spec.key}: " + "; ".join(said)


def _load_metadata(con, spec: InputSpec) -> dict[str, Any]:
    row = con.execute(
        "SELECT count(*), count(duplicate_of), sum(physical_lines), sum(data_lines),"
        " sum(rows_loaded), sum(rows_rejected), sum(cell_issues), sum(rows_duplicate)"
        " FROM audit.loads WHERE source = ?",
        [spec.source],
    ).fetchone()
    files, dup_files, physical, data, loaded, rejected, cells, dups = (int(v or 0) for v in row)
    readers = con.execute(
        "SELECT reader, count(*) AS files FROM audit.loads WHERE source = ? GROUP BY 1",
        [spec.source],
    ).df()
    rejects = con.execute(
        'SELECT file, line, "column", left(value, 80) AS value, reason FROM quarantine.rejects'
        " WHERE source = ? ORDER BY file, line LIMIT 10",
        [spec.source],
    ).df()
    return {
        "dagster/row_count": int(con.execute(f"SELECT count(*) FROM {spec.table}").fetchone()[0]),
        "table": spec.table,
        "files": files,
        "duplicate_files_skipped": dup_files,
        "physical_lines": physical,
        "data_lines": data,
        "rows_loaded": loaded,
        "rows_rejected": rejected,
        "cell_issues": cells,
        "duplicate_records_dropped": dups,
        "readers": md_table(readers),
        "rejects_preview": md_table(rejects),
    }


def _check_name(spec: InputSpec, what: str) -> str:
    return f"{spec.key}_{what}"


def _reconciles(spec: InputSpec, key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name=_check_name(spec, "reconciles"),
        blocking=True,
        description="Per file: loaded + rejected + header + blank lines equal the physical lines"
        " counted from the bytes; the table holds exactly the loaded records.",
    )
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            return reconcile(con, spec)

    return _check


def reconcile(con, spec: InputSpec) -> dg.AssetCheckResult:
    """Per file, the lines add up against the independent count; the table matches the loads."""
    records = (
        f"(SELECT _file, {spec.records} AS n FROM {spec.table} GROUP BY _file)"
        if table_exists(con, spec.table)
        else "(SELECT NULL::VARCHAR AS _file, 0 AS n WHERE false)"
    )
    files = con.execute(
        f"""
        SELECT l.file, l.physical_lines, l.header_lines, l.blank_lines, l.data_lines,
               coalesce(t.n, 0) AS records_in_table, coalesce(r.n, 0) AS rejected,
               l.duplicate_of, o.physical_lines AS original_lines
        FROM audit.loads l
        LEFT JOIN {records} t ON t._file = l.file
        LEFT JOIN (SELECT file, count(DISTINCT line) n FROM quarantine.rejects WHERE source = ?
                   GROUP BY 1) r ON r.file = l.file
        LEFT JOIN audit.loads o ON o.source = l.source AND o.file = l.duplicate_of
        WHERE l.source = ? ORDER BY l.file
        """,
        [spec.source, spec.source],
    ).df()
    accounted = files["records_in_table"] + files["rejected"]
    text = files["physical_lines"].notna() & files["duplicate_of"].isna()
    whole = accounted + files["header_lines"] + files["blank_lines"]
    off = (text & (whole != files["physical_lines"])) | (
        ~text & files["duplicate_of"].isna() & (accounted != files["data_lines"])
    )
    off |= files["duplicate_of"].notna() & (files["physical_lines"] != files["original_lines"])
    bad = files[off.fillna(True).astype(bool)]
    stray = _records_without_load(con, spec) if table_exists(con, spec.table) else 0
    passed = bad.empty and stray == 0 and (len(files) > 0 or not spec.required)
    description = None
    if not passed:
        if len(files) == 0:
            description = f"{spec.key}: a required input, but no file was loaded"
        elif stray:
            description = f"{spec.table}: {stray:,} records come from no loaded file"
        else:
            first = bad.iloc[0]
            missing = (
                missing_lines(con, spec, first["file"]) if pd.notna(first["physical_lines"]) else ""
            )
            description = (
                f"{first['file']}: {int(first['physical_lines'] or first['data_lines']):,} lines"
                f" but {int(first['records_in_table']):,} loaded + {int(first['rejected']):,}"
                f" rejected + {int(first['header_lines'] + first['blank_lines']):,} header/blank"
                + (f"; lines not accounted for: {missing}" if missing else "")
                + (" (its blank lines among them)" if missing and first["blank_lines"] else "")
                + (f" ({len(bad) - 1} more files)" if len(bad) > 1 else "")
            )
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "files": len(files),
            "physical_lines": int(files["physical_lines"].fillna(0).sum()),
            "records_in_table": int(files["records_in_table"].sum()),
            "rows_rejected": int(files["rejected"].sum()),
            "files_not_reconciling": md_table(bad.drop(columns=["original_lines"])),
        },
        description=description,
    )


def _records_without_load(con, spec: InputSpec) -> int:
    return int(
        con.execute(
            f"SELECT count(*) FROM {spec.table} WHERE _file NOT IN"
            " (SELECT file FROM audit.loads WHERE source = ?)",
            [spec.source],
        ).fetchone()[0]
    )


def missing_lines(con, spec: InputSpec, file: str, limit: int = 5) -> str:
    """Line ranges of a file that are in neither the table nor the quarantine, e.g. '1602-2001'
    (blank lines show here too: they are counted, not stored)."""
    physical = con.execute(
        "SELECT physical_lines, header_lines FROM audit.loads WHERE source = ? AND file = ?",
        [spec.source, file],
    ).fetchone()
    ranges = con.execute(
        f"""
        WITH seen AS (
            SELECT _line AS line FROM {spec.table} WHERE _file = $file
            UNION SELECT line FROM quarantine.rejects WHERE source = $source AND file = $file
        ),
        gone AS (
            SELECT generate_series AS line FROM generate_series(2, $lines)
            WHERE generate_series NOT IN (SELECT line FROM seen)
        )
        SELECT min(line), max(line) FROM (SELECT line, line - row_number() OVER (ORDER BY line) g FROM gone)
        GROUP BY g ORDER BY 1 LIMIT {limit}
        """,
        {"file": file, "source": spec.source, "lines": int(physical[0])},
    ).fetchall()
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)


def _rejects_below_threshold(spec: InputSpec, key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name=_check_name(spec, "rejects_below_threshold"),
        blocking=True,
        description="Per file, rejected rows stay under the settings' max_reject_share.",
    )
    def _check(sna: SNASettings, duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            return rejects_below_threshold(con, spec, sna.load().max_reject_share)

    return _check


def rejects_below_threshold(con, spec: InputSpec, limit: float) -> dg.AssetCheckResult:
    """Per file, rejected rows / data lines stay at or under `limit`; the worst file is named
    with its most common bad column and value."""
    over = con.execute(
        """
        SELECT file, rows_rejected, data_lines, rows_rejected / data_lines AS share
        FROM audit.loads WHERE source = ? AND data_lines > 0
          AND rows_rejected / data_lines > ? ORDER BY share DESC, file
        """,
        [spec.source, limit],
    ).df()
    description = None
    if len(over):
        first = over.iloc[0]
        column, value, n = con.execute(
            """
            SELECT "column", value, count(*) AS n FROM quarantine.rejects
            WHERE source = ? AND file = ? GROUP BY ALL ORDER BY n DESC, "column", value LIMIT 1
            """,
            [spec.source, first["file"]],
        ).fetchone()
        description = (
            f"{first['file']}: {int(first['rows_rejected']):,} of {int(first['data_lines']):,}"
            f" rows rejected ({first['share']:.1%}, above {limit:.1%}); most often column"
            f" {column!r}, value {str(value)[:60]!r} ({n:,} rows)"
        )
    return dg.AssetCheckResult(
        passed=over.empty,
        metadata={"max_reject_share": limit, "files_over": md_table(over)},
        description=description,
    )


def date_window(settings: Settings, today: date | None = None) -> tuple[date, date]:
    """The plausible window for event dates: the settings' date_range, else the ten years up to
    the run date."""
    if settings.date_range is not None:
        return settings.date_range.start, settings.date_range.end
    today = today or date.today()
    day = 28 if (today.month, today.day) == (2, 29) else today.day  # 29 February, ten years back
    return date(today.year - 10, today.month, day), today


def _dates_plausible(spec: InputSpec, key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name=_check_name(spec, "dates_plausible"),
        blocking=True,
        description="Every event date lies in the settings' date_range (default: the ten years up"
        " to the run date); a mistyped year must not become a reporting period.",
    )
    def _check(sna: SNASettings, duckdb: DuckDBResource) -> dg.AssetCheckResult:
        start, end = date_window(sna.load())
        with duckdb.get_connection() as con:
            return dates_within(con, spec, start, end)

    return _check


def dates_within(con, spec: InputSpec, start: date, end: date) -> dg.AssetCheckResult:
    """Every event date of the input lies in [start, end]; the latest outlier is named."""
    if not table_exists(con, spec.table):
        return dg.AssetCheckResult(passed=True, metadata={"configured": False})
    column = f'"{spec.event_date}"'
    outside = con.execute(
        f"""
        SELECT _file AS file, _line AS line, {column} AS value FROM {spec.table}
        WHERE {column} < $start OR {column} > $end ORDER BY {column} DESC, _file, _line
        """,
        {"start": start, "end": end},
    ).df()
    description = None
    if len(outside):
        first = outside.iloc[0]
        description = (
            f"{len(outside):,} {spec.key} rows have {spec.event_date} outside {start} to {end},"
            f" e.g. {first['value']:%Y-%m-%d} at {first['file']} line {first['line']}: fix the"
            " date, or set date_range in the settings if it is right"
        )
    return dg.AssetCheckResult(
        passed=outside.empty,
        metadata={
            "window": f"{start} to {end}",
            "rows_outside": len(outside),
            "examples": md_table(outside, 10),
        },
        description=description,
    )
