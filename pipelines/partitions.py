"""Monthly partitions of the event inputs, and the ranges a run covers.

Police extracts and police.uk files (and every dated event input a column map reads) are
partitioned by the month of their event dates. A run over a range of months reads only the
files that hold those months and are new or changed (`sources.ingest.sync_csv_files`); the
whole range is every file, which is what `sna run` asks for. Backfills run as one run over the
range (`BackfillPolicy.single_run()`): files, not months, are the unit of delivery, and a force
extract holds a year of months.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from sources.registry import InputSpec

# police.uk starts in December 2010; force extracts may hold older offences, which a run over
# the whole range still loads (and the dates_plausible check reports).
MONTHLY_START = "2010-01-01"
MONTHLY = dg.MonthlyPartitionsDefinition(start_date=MONTHLY_START, end_offset=1)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


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
    """Every month: what `sna run` and the test runs cover (every file is synced)."""
    return range_tags(MONTHLY.get_first_partition_key(), MONTHLY.get_last_partition_key())


def months_of_run(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """[start, end) of the months this run covers, or None when it covers them all."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    window = context.partition_time_window
    whole = MONTHLY.get_partition_keys()
    keys = context.partition_keys
    if keys[0] == whole[0] and keys[-1] == whole[-1]:
        return None
    return window.start.date(), window.end.date()
