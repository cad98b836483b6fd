"""Monthly ingest partitions: a new month loads alone, a re-delivered month replaces only itself.

Runs the police.uk input asset and its blocking checks only (no full pipeline), through the
real Dagster definitions, on the small demo county's files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.defs.ingest.assets import police_uk
from pipelines.partitions import (
    MONTHLY,
    RANGE_END_TAG,
    RANGE_START_TAG,
    SYNC_ALL_TAG,
    month_key,
    range_tags,
    run_tags,
    whole_range_tags,
)
from pipelines.resources import build_resources
from pipelines.settings import load_settings
from tests.pipelines.conftest import REPO, all_definitions, settings_without_latest_month

PER_MONTH = (
    "SELECT month, count(*) AS n, list(DISTINCT _load_id) AS loads, sum(hash(crime_id)) AS ids"
    " FROM raw.police_uk GROUP BY month ORDER BY month"
)


def _ingest(settings_path: Path, **kwargs) -> dg.ExecuteInProcessResult:
    settings = load_settings(settings_path, base_dir=REPO)
    return dg.materialize(
        all_definitions(),
        selection=dg.AssetSelection.assets(police_uk),
        resources=build_resources(settings),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        **kwargs,
    )


def _per_month(database: Path) -> dict:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {row[0]: row[1:] for row in con.execute(PER_MONTH).fetchall()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def months_folder(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's police.uk files in a folder of our own, the latest month held back."""
    folder = tmp_path_factory.mktemp("partitions")
    settings_without_latest_month(folder, small_demo)
    return folder


def test_a_new_month_loads_alone_and_a_redelivered_month_replaces_only_itself(
    months_folder: Path, small_demo: Path
):
    settings_path = months_folder / "settings.yaml"
    database = months_folder / "sna.duckdb"
    first = _ingest(settings_path, tags=whole_range_tags())
    assert first.success
    before = _per_month(database)
    assert len(before) == 35

    # `sna run` records the months the inputs hold: loaded files' months from audit.loads,
    # a new file's by a quick probe, never every month since 2010.
    settings = load_settings(settings_path, base_dir=REPO)
    months = sorted(before)
    tags = run_tags(settings)
    assert (tags[RANGE_START_TAG], tags[RANGE_END_TAG]) == (
        month_key(months[0]),
        month_key(months[-1]),
    )
    assert tags[SYNC_ALL_TAG] == "all"

    # A new month arrives: its partition run loads its file and nothing else.
    latest = sorted(p.name for p in (small_demo / "police_uk").iterdir())[-1]
    shutil.copytree(small_demo / "police_uk" / latest, months_folder / "police_uk" / latest)
    assert run_tags(settings)[RANGE_END_TAG] == month_key(_first_day(latest))
    added = _ingest(settings_path, partition_key=month_key(_first_day(latest)))
    assert added.success, "the month's run or its blocking checks failed"
    after = _per_month(database)
    new = [m for m in after if m not in before]
    assert [f"{m:%Y-%m}" for m in new] == [latest]
    assert {m: v for m, v in after.items() if m in before} == before  # same rows, same loads
    street = next((months_folder / "police_uk" / latest).glob("*.csv"))
    data_lines = len(street.read_text(encoding="utf-8").splitlines()) - 1
    assert after[new[0]][0] == data_lines

    # The same month delivered again with its last ten records gone: that month alone changes.
    lines = street.read_text(encoding="utf-8").splitlines(keepends=True)
    street.write_text("".join(lines[:-10]), encoding="utf-8")
    redelivered = _ingest(settings_path, partition_key=month_key(_first_day(latest)))
    assert redelivered.success
    again = _per_month(database)
    assert again[new[0]][0] == data_lines - 10
    assert {m: v for m, v in again.items() if m != new[0]} == before
    checks = [e for e in redelivered.get_asset_check_evaluations() if not e.passed]
    assert checks == []


def test_a_month_run_leaves_files_of_other_months_for_their_own_partitions(
    months_folder: Path, small_demo: Path
):
    """A partition run reads a new file only if it holds that month; the sensor asks for it."""
    settings_path = months_folder / "settings.yaml"
    database = months_folder / "sna.duckdb"
    if not database.is_file():  # run alone: load the months first
        assert _ingest(settings_path, tags=whole_range_tags()).success
    before = _per_month(database)
    first = sorted(before)[0]
    stray = months_folder / "police_uk" / "extra" / "copy-street.csv"
    stray.parent.mkdir()
    src = next((months_folder / "police_uk" / f"{first:%Y-%m}").glob("*.csv"))
    stray.write_text(src.read_text(encoding="utf-8").replace("Robbery", "Robbery "), "utf-8")
    keys = MONTHLY.get_partition_keys()
    last = keys[-1]
    result = _ingest(settings_path, tags=range_tags(last, last))
    assert result.success
    assert _per_month(database) == before
    stray.unlink()
    stray.parent.rmdir()


def _first_day(month: str):
    from datetime import date

    return date(int(month[:4]), int(month[5:7]), 1)
