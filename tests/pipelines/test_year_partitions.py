"""Yearly analysis partitions: a month added to a built database rebuilds only its year.

Builds the small demo county's police.uk months, the latest held back, through the real Dagster
definitions: the ingest run, then the analysis run of the per-period assets (core.incidents with
its placement, rates, hotspots, concentration) over every year. Then the latest month arrives,
and runs as the sensors run it: the ingest of that month, then the analysis of its financial
year. No map packs: they are whole-table assets, not what this test is about.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from pipelines.partitions import (
    FOLLOW_TAG,
    analysis_tags,
    follow_up_tags,
    month_key,
    range_tags,
    run_tags,
)
from pipelines.refresh import analysis_request, split_selection
from pipelines.resources import build_resources
from pipelines.settings import load_settings
from tests.pipelines.conftest import REPO, all_definitions, settings_without_latest_month

PER_PERIOD = {
    "core.incidents": "SELECT period, count(*), sum(hash(source, event_id, lsoa_code, placement,"
    " sv_category)) FROM core.incidents GROUP BY ALL",
    "build.sv_rates": "SELECT period, count(*), sum(hash(area_code, measure, count, rate_per_1000,"
    " ci_lower, vs_county)) FROM build.sv_rates GROUP BY ALL",
    "build.hotspots": "SELECT period, count(*), sum(hash(area_code, measure, value_type, gi_z,"
    " lisa_quadrant)) FROM build.hotspots GROUP BY ALL",
    "build.concentration": "SELECT period, count(*), sum(hash(measure, top_percent,"
    " share_of_incidents, gini)) FROM build.concentration GROUP BY ALL",
}


def _per_period(database: Path) -> dict[str, dict[str, tuple]]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {
            table: {row[0]: row[1:] for row in con.execute(sql).fetchall()}
            for table, sql in PER_PERIOD.items()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(small_demo: Path, tmp_path_factory: pytest.TempPathFactory):
    """A database of every police.uk month but the latest, its per-period assets built whole;
    the settings, the held-back month, the definitions and the instance."""
    folder = tmp_path_factory.mktemp("years")
    held_back = settings_without_latest_month(folder, small_demo, hotspot_permutations=99)
    settings = load_settings(folder / "settings.yaml", base_dir=REPO)
    from pipelines.definitions import defs

    graph = defs().resolve_asset_graph()
    instance = dg.DagsterInstance.ephemeral()
    months_tags = run_tags(settings) | follow_up_tags(run_tags(settings), settings.period)
    assert _run(settings, instance, _ingest_assets(graph), months_tags).success
    assert _run(settings, instance, _per_period_assets(graph), analysis_tags(months_tags)).success
    return settings, small_demo / "police_uk" / held_back, graph, instance


def _ingest_assets(graph) -> list[dg.AssetKey]:
    return [dg.AssetKey(["raw", "police_uk"])]


def _per_period_assets(graph, keys=None) -> list[dg.AssetKey]:
    """The yearly-partitioned assets among `keys` (default all), and what they need upstream
    that is not monthly."""
    _, rest = split_selection(graph)
    yearly = [k for k in (keys or rest) if graph.get(k).partitions_def is not None]
    needed = dg.AssetSelection.assets(*yearly).upstream().resolve(graph)
    return sorted(k for k in needed if k in set(rest))


def _run(settings, instance, selection, tags) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        all_definitions(),
        selection=selection,
        resources=build_resources(settings),
        instance=instance,
        raise_on_error=False,
        tags=tags,
    )


def test_a_month_added_rebuilds_only_its_year(built) -> None:
    settings, held_back, graph, instance = built
    month = held_back.name  # the last month of the demo's last financial year
    year = int(month[:4]) - (int(month[5:]) < 4)
    period, key = f"{year}/{(year + 1) % 100:02d}", f"{year}-04-01"
    _mark_every_table(settings.database)  # a rebuilt row loses its mark, a kept one keeps it
    before = _per_period(settings.database)
    assert period in before["core.incidents"] and len(before["core.incidents"]) >= 3

    shutil.copytree(held_back, Path(settings.inputs["police_uk"]).parents[1] / month)
    months = range_tags(month_key_of(month), month_key_of(month))
    ingest_tags = months | follow_up_tags(months, settings.period) | {FOLLOW_TAG: "analysis"}
    ingest = _run(settings, instance, _ingest_assets(graph), ingest_tags)
    assert ingest.success
    request = analysis_request(instance.get_run_by_id(ingest.run_id), graph, {})
    assert request.tags["dagster/asset_partition_range_start"] == key
    assert request.tags["dagster/asset_partition_range_end"] == key
    analysis = _run(
        settings, instance, _per_period_assets(graph, request.asset_selection), request.tags
    )
    assert analysis.success
    assert not [e for e in analysis.get_asset_check_evaluations() if not e.passed]
    rebuilt = {
        (e.asset_key.to_user_string(), e.partition)
        for e in analysis.get_asset_materialization_events()
        if e.partition is not None
    }
    assert rebuilt == {
        (asset, key)
        for asset in (
            "core/incidents", "core/incident_placement", "marts/sv_rates", "marts/hotspots",
            "marts/concentration", "marts/lorenz_curve",
        )
    }  # fmt: skip

    after = _per_period(settings.database)
    street = next(held_back.glob("*-street.csv"))
    added = len(street.read_text(encoding="utf-8").splitlines()) - 1
    for table, periods in before.items():
        assert set(after[table]) == set(periods), table
        others = {p: v for p, v in periods.items() if p != period}
        assert {p: v for p, v in after[table].items() if p != period} == others, table
    marked = _marked(settings.database)
    assert all(period not in periods for periods in marked.values())  # the year: rebuilt
    assert all(len(periods) == len(before[t]) - 1 for t, periods in marked.items())  # the rest
    incidents = after["core.incidents"][period][0] - before["core.incidents"][period][0]
    assert incidents == added  # every record of the month, once
    assert after["build.sv_rates"][period] != before["build.sv_rates"][period]
    # the year's rows are what a whole build gives: its county count is every incident of the
    # year in the area, the new month's among them
    con = duckdb.connect(str(settings.database), read_only=True)
    try:
        county, placed = con.execute(
            "SELECT (SELECT count FROM build.sv_rates WHERE area_level = 'county' AND period = $p"
            " AND measure = 'all_serious_violence'),"
            " (SELECT count(*) FROM core.incidents i JOIN ref.lsoa USING (lsoa_code)"
            "  WHERE period = $p AND source = 'police_uk' AND sv_category IS NOT NULL"
            "  AND sv_category <> 'public_order')",
            {"p": period},
        ).fetchone()
        months_held = con.execute(
            "SELECT months FROM build.sv_rates WHERE area_level = 'county' AND period = ? LIMIT 1",
            [period],
        ).fetchone()[0]
    finally:
        con.close()
    assert county == placed and months_held == 12


# table -> (how a row is marked, how a marked row is found): a value no build writes, in a
# column no check reads
MARKS = {
    "core.incidents": ("event_id = event_id || ' (kept)'", "event_id LIKE '% (kept)'"),
    "build.sv_rates": ("area_name = area_name || ' (kept)'", "area_name LIKE '% (kept)'"),
    "build.hotspots": ("area_name = area_name || ' (kept)'", "area_name LIKE '% (kept)'"),
    "build.concentration": ("seed = -1", "seed = -1"),
}


def _mark_every_table(database: Path) -> None:
    """Mark one row of every period in each per-period table."""
    con = duckdb.connect(str(database))
    try:
        for table, (mark, _) in MARKS.items():
            con.execute(
                f"UPDATE {table} SET {mark} WHERE rowid IN"
                f" (SELECT min(rowid) FROM {table} GROUP BY period)"
            )
    finally:
        con.close()


def _marked(database: Path) -> dict[str, set[str]]:
    """The periods of each table whose marked row is still there."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {
            table: {
                p for (p,) in con.execute(f"SELECT period FROM {table} WHERE {found}").fetchall()
            }
            for table, (_, found) in MARKS.items()
        }
    finally:
        con.close()


def month_key_of(month: str) -> str:
    from datetime import date

    return month_key(date(int(month[:4]), int(month[5:]), 1))


def test_a_refresh_of_some_years_stops_when_the_others_used_another_definition(
    built, tmp_path: Path
) -> None:
    """Years classified under different definitions would not compare: the run says so."""
    settings, _, graph, instance = built
    data = yaml.safe_load(settings.path.read_text(encoding="utf-8"))
    data["database"] = str(tmp_path / "sna.duckdb")
    shutil.copy(settings.database, data["database"])
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    copied = load_settings(tmp_path / "settings.yaml", base_dir=REPO)
    con = duckdb.connect(data["database"])
    try:
        first, last = con.execute("SELECT min(period), max(period) FROM core.incidents").fetchone()
        con.execute(
            "UPDATE core.incidents SET definition_id = 'older-2023' WHERE period = ?", [first]
        )
    finally:
        con.close()
    key = f"{last[:4]}-04-01"
    result = _run(copied, instance, _per_period_assets(graph), range_tags(key, key))
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.error
    while error.cause is not None:
        error = error.cause
    assert "older-2023" in error.message and "run `sna run`" in error.message
