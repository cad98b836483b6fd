"""Monthly partitions of the event inputs, and the ranges a run covers.

Police extracts and police.uk files (and every dated event input a column map reads) are
partitioned by the month of their event dates. A run over a range of months reads only the
files that hold those months and are new or changed (`sources.ingest.sync_csv_files`); the
whole range is every file, which is what `sna run` asks for. Backfills run as one run over the
range (`BackfillPolicy.single_run()`): files, not months, are the unit of delivery, and a force
extract holds a year of months. `sna run` syncs every file and records the months the inputs
hold (`run_tags`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.settings import Settings
from sources._csv import load_spec
from sources.ingest import probe_months
from sources.paths import expand
from sources.registry import INPUTS, InputSpec

# police.uk starts in December 2010; force extracts may hold older offences, which a run over
# the whole range still loads (and the dates_plausible check reports).
MONTHLY_START = "2010-01-01"
MONTHLY = dg.MonthlyPartitionsDefinition(start_date=MONTHLY_START, end_offset=1)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
SYNC_ALL_TAG = "sna/sync"  # "all": a run of everything, which syncs every file whatever its months


def is_monthly(spec: InputSpec) -> bool:
    """Dated event inputs read many files straight into DuckDB: partitioned by month."""
    return bool(spec.column_map and spec.event_date and spec.many)


def month_key(month: date) -> str:
    """The partition key of the month holding `month`."""
    return f"{month:%Y-%m}-01"


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the months first..last (partition keys)."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def whole_range_tags() -> dict[str, str]:
    """Every month since MONTHLY_START (every file is synced)."""
    return range_tags(MONTHLY.get_first_partition_key(), MONTHLY.get_last_partition_key())


def run_tags(settings: Settings) -> dict[str, str]:
    """Tags of a run of everything (`sna run`): every file is synced (`SYNC_ALL_TAG`), and the
    months Dagster records as materialized are those the inputs hold, first to last, not every
    month since 2010 (a range run records one materialization per month: 203 of them cost
    seconds in memory and about a minute in a persistent instance). Months come from
    audit.loads for files already loaded and from a quick probe of the others; when a file
    cannot be probed, the whole range."""
    months: set[date] = set()
    known = _known_months(settings.database)
    for spec in INPUTS:
        if not is_monthly(spec) or not settings.inputs.get(spec.key):
            continue
        try:
            paths = expand(settings.inputs[spec.key])
        except FileNotFoundError:
            continue  # the run itself stops on it, naming the pattern
        new = []
        for path in paths:
            held = known.get((spec.source, str(path.resolve())))
            months |= set(held) if held is not None else set()
            if held is None:
                new.append(path)
        for held in probe_months(new, load_spec(spec.column_map), spec.event_date).values():
            if held is None:
                return {SYNC_ALL_TAG: "all", **whole_range_tags()}
            months |= held
    keys = MONTHLY.get_partition_keys()
    if not months:
        return {SYNC_ALL_TAG: "all", **range_tags(keys[-1], keys[-1])}
    first = min(max(month_key(min(months)), keys[0]), keys[-1])
    last = max(min(month_key(max(months)), keys[-1]), first)
    return {SYNC_ALL_TAG: "all", **range_tags(first, last)}


def _known_months(database: Path) -> dict[tuple[str, str], list[date]]:
    """(source, file) -> months, for files a run already loaded into the database."""
    if not database.is_file():
        return {}
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error:
        return {}
    try:
        rows = con.execute(
            "SELECT source, file, months FROM audit.loads WHERE months IS NOT NULL"
        ).fetchall()
    except duckdb.Error:  # an older database without the months column
        return {}
    finally:
        con.close()
    return {(source, file): months for source, file, months in rows}


def months_of_run(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """[start, end) of the months this run covers, or None when it syncs every file."""
    if context.run.tags.get(SYNC_ALL_TAG) == "all":
        return None
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    window = context.partition_time_window
    whole = MONTHLY.get_partition_keys()
    keys = context.partition_keys
    if keys[0] == whole[0] and keys[-1] == whole[-1]:
        return None
    return window.start.date(), window.end.date()
