"""Monthly partitions of the event inputs, yearly partitions of the analysis, and the ranges a
run covers.

Police extracts and police.uk files (and every dated event input a column map reads) are
partitioned by the month of their event dates. A run over a range of months reads only the
files that hold those months and are new or changed (`sources.ingest.sync_csv_files`); the
whole range is every file, which is what `sna run` asks for. Backfills run as one run over the
range (`BackfillPolicy.single_run()`): files, not months, are the unit of delivery, and a force
extract holds a year of months. `sna run` syncs every file and records the months the inputs
hold (`run_tags`).

The analysis over incidents (core.incidents with its placement, the rates, hotspots and
concentration) is partitioned by reporting period: financial years from 1 April or calendar
years, as the settings' `period` says (`periods_def`). A month maps to its year through Dagster's
default time-window mapping. One Dagster run carries one partition range, applied to every
partitioned asset in it, so months and years never share a run: a refresh is an ingest run over
the months, then an analysis run over the years those months fall in (`follow_up_tags`), each a
single-run backfill. Map packs, emerging hotspots, trends and publish stay unpartitioned: they need
every year and are rebuilt by every analysis run.
"""

from __future__ import annotations

import functools
import os
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import yaml

from pipelines.settings import DEFAULT_SETTINGS, SETTINGS_ENV, Settings
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
STAGE_TAG = "sna/stage"  # "ingest": a run of the monthly inputs, followed by an analysis run
PERIODS_TAG = "sna/periods"  # on an ingest run: "first..last" period keys its analysis run covers
FOLLOW_TAG = "sna/follow"  # "analysis": the analysis_after_ingest sensor launches the analysis run
# First period start per period type: the year holding MONTHLY_START.
PERIOD_STARTS = {"financial_year": "2009-04-01", "calendar_year": "2010-01-01"}
PERIOD_CRONS = {"financial_year": "0 0 1 4 *", "calendar_year": "0 0 1 1 *"}


def is_monthly(spec: InputSpec) -> bool:
    """Dated event inputs read many files straight into DuckDB: partitioned by month."""
    return bool(spec.column_map and spec.event_date and spec.many)


MONTHLY_ASSETS = dg.AssetSelection.assets(
    *(spec.table.split(".") for spec in INPUTS if is_monthly(spec))
)


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


# ----------------------------------------------------------------------------- reporting periods


def period_type_at_load() -> str:
    """The settings' period type as the code location loads ($SNA_SETTINGS, else the default
    settings), read straight from the YAML as the schedules are: a settings file that does not
    validate must not stop the code location loading (the run names its errors). Financial
    years when the file or key is absent."""
    path = Path(os.environ.get(SETTINGS_ENV) or DEFAULT_SETTINGS)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return "financial_year"
    period = raw.get("period", "financial_year") if isinstance(raw, dict) else "financial_year"
    return period if period in PERIOD_CRONS else "financial_year"


def periods_def(period_type: str | None = None) -> dg.TimeWindowPartitionsDefinition:
    """Yearly partitions starting 1 April (financial years) or 1 January (calendar years); a key
    is the period's first day, e.g. "2023-04-01" for 2023/24. The current period is included.
    Without a period type, the settings' as the code location loads (`period_type_at_load`)."""
    return _periods_def(period_type or period_type_at_load())


@functools.cache
def _periods_def(period_type: str) -> dg.TimeWindowPartitionsDefinition:
    return dg.TimeWindowPartitionsDefinition(
        start=PERIOD_STARTS[period_type],
        cron_schedule=PERIOD_CRONS[period_type],
        fmt="%Y-%m-%d",
        end_offset=1,
    )


def period_type_of_def(partitions: dg.TimeWindowPartitionsDefinition) -> str:
    return next(kind for kind, cron in PERIOD_CRONS.items() if cron == partitions.cron_schedule)


def period_label_of_key(key: str, period_type: str) -> str:
    """ "2023-04-01" -> "2023/24" (financial) or "2023-01-01" -> "2023" (calendar)."""
    year = int(key[:4])
    return f"{year}/{(year + 1) % 100:02d}" if period_type == "financial_year" else str(year)


def period_key_of_month(month: date, period_type: str) -> str:
    """The period partition key holding a month."""
    if period_type == "financial_year":
        year = month.year - (month.month < 4)
        return f"{year}-04-01"
    return f"{month.year}-01-01"


def period_range_of_months(first: date, last: date, period_type: str) -> tuple[str, str]:
    """The period keys first..last holding the months first..last, within the partitions."""
    keys = periods_def(period_type).get_partition_keys()
    start = min(max(period_key_of_month(first, period_type), keys[0]), keys[-1])
    end = max(min(period_key_of_month(last, period_type), keys[-1]), start)
    return start, end


def follow_up_tags(months_tags: dict[str, str], period_type: str) -> dict[str, str]:
    """Tags of an ingest run over the months in `months_tags`: the periods those months fall in,
    for the analysis run that follows it."""
    first = date.fromisoformat(months_tags[RANGE_START_TAG])
    last = date.fromisoformat(months_tags[RANGE_END_TAG])
    start, end = period_range_of_months(first, last, period_type)
    return {STAGE_TAG: "ingest", PERIODS_TAG: f"{start}..{end}"}


def analysis_tags(ingest_tags: dict[str, str]) -> dict[str, str]:
    """Tags of the analysis run that follows an ingest run: its periods as the partition range,
    and whether it rebuilds everything (`SYNC_ALL_TAG`)."""
    start, end = ingest_tags[PERIODS_TAG].split("..")
    tags = range_tags(start, end) | {STAGE_TAG: "analysis"}
    if ingest_tags.get(SYNC_ALL_TAG) == "all":
        tags[SYNC_ALL_TAG] = "all"
    return tags


def periods_of_run(context: dg.AssetExecutionContext, period_type: str) -> list[str] | None:
    """The period labels a yearly-partitioned step rebuilds, or None when the run rebuilds every
    period (`sna run`, a schedule: the tables are replaced whole). Stops with a clear error when
    the code location was loaded for the other period type than the settings now give."""
    if context.run.tags.get(SYNC_ALL_TAG) == "all":
        # every period is rebuilt from the settings' own period type, whatever the keys: a test
        # process (or a UI) that loaded the other type still gets the right tables
        return None
    loaded = period_type_of_def(context.assets_def.partitions_def)
    if loaded != period_type:
        raise ValueError(
            f"the settings say period: {period_type}, but the code location was loaded with"
            f" {loaded} partitions: reload it (restart `sna ui`) after changing the period type"
        )
    return [period_label_of_key(key, period_type) for key in context.partition_keys]
