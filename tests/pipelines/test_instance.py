"""`sna run` is recorded in the database's persistent Dagster instance, which runs one at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from pipelines.definitions import defs
from pipelines.instance import (
    INSTANCE_FOLDER,
    PooledSqliteEventLogStorage,
    dagster_home,
    ensure_dagster_home,
    open_instance,
)
from pipelines.resources import SNADuckDB
from pipelines.runs import DATABASE_TAG, LAUNCHED_BY_TAG, fail_orphaned_runs
from tests.pipelines.conftest import REPO, CliRun


def audit_runs(database) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(
            "SELECT run_id, status, launched_by FROM audit.runs ORDER BY started_at"
        ).fetchall()
    finally:
        con.close()


def test_the_instance_lives_beside_the_database_unless_dagster_home_is_set(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert dagster_home(tmp_path / "sna.duckdb") == tmp_path / INSTANCE_FOLDER
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    assert dagster_home(tmp_path / "sna.duckdb") == tmp_path / "elsewhere"


def test_sna_run_shows_in_the_persistent_instance_with_its_checks(cli_run: CliRun) -> None:
    """`sna run` is two runs (ingest, then analysis): both are in the instance, and between them
    they hold every check of the code location, all passed."""
    assert cli_run.exit_code == 0, cli_run.output
    recorded = audit_runs(cli_run.settings.database)
    assert [(status, by) for _, status, by in recorded] == [("success", "sna run")] * 2
    expected_checks = {key.name for key in defs().resolve_asset_graph().asset_check_keys}
    assert (cli_run.settings.database.parent / INSTANCE_FOLDER / "dagster.yaml").is_file()
    evaluations = []
    with open_instance(cli_run.settings.database) as instance:
        for run_id, _, _ in recorded:
            run = instance.get_run_by_id(run_id)  # Dagster's run id is the audit trail's
            assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
            assert run.tags[LAUNCHED_BY_TAG] == "sna run"
            assert run.tags[DATABASE_TAG] == str(cli_run.settings.database.resolve())
            evaluations += [
                record.dagster_event.event_specific_data
                for record in instance.all_logs(
                    run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
                )
            ]
        assert {e.check_name for e in evaluations} == expected_checks
        assert all(e.passed for e in evaluations)
        rates = instance.get_latest_materialization_event(dg.AssetKey(["marts", "sv_rates"]))
        assert rates.run_id == recorded[-1][0]  # the analysis run
        assert rates.asset_materialization.metadata["dagster/row_count"].value > 0


def test_the_instance_runs_one_run_at_a_time_and_sends_nothing_out(cli_run: CliRun) -> None:
    with open_instance(cli_run.settings.database) as instance:
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
        assert not instance.telemetry_enabled


def started_run(instance: dg.DagsterInstance, database: Path) -> str:
    """A run the instance shows as started, as a killed process leaves it."""
    run = dg.DagsterRun(job_name="sna_refresh", status=dg.DagsterRunStatus.STARTED,
                        tags={DATABASE_TAG: str(database.resolve())})  # fmt: skip
    instance.add_run(run)
    return run.run_id


def test_sna_ui_fails_runs_left_started_by_a_killed_process_unless_one_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    database, other = tmp_path / "sna.duckdb", tmp_path / "other.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time\nfrom pipelines.runs import run_lock\n"
         f"with run_lock({str(database)!r}, 'alive'):\n    print('held', flush=True)\n"
         "    time.sleep(60)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    with open_instance(database) as instance:
        killed, elsewhere = started_run(instance, database), started_run(instance, other)
        try:
            assert holder.stdout.readline().strip() == "held"
            assert fail_orphaned_runs(instance, database) == []  # a live run holds the database
        finally:
            holder.kill()
            holder.wait()
        assert fail_orphaned_runs(instance, database) == [killed]
        assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(elsewhere).status == dg.DagsterRunStatus.STARTED


def test_run_events_keep_their_connections_and_every_event_is_stored(tmp_path: Path) -> None:
    """Six runs through the pooled event log: every materialisation is read back, and only the
    index and the most recent run shards keep an open engine."""

    @dg.asset
    def counted() -> int:
        return 1

    with open_instance(tmp_path / "sna.duckdb") as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        run_ids = [dg.materialize([counted], instance=instance).run_id for _ in range(6)]
        assert [
            len(instance.all_logs(r, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION))
            for r in run_ids
        ] == [1] * 6
        latest = instance.get_latest_materialization_event(dg.AssetKey("counted"))
        assert latest.run_id == run_ids[-1]
        assert set(storage._engines) <= {"index", *run_ids[-storage.KEEP_RUN_SHARDS :]}
    with open_instance(tmp_path / "sna.duckdb") as reopened:  # on disk, not only in memory
        assert (
            reopened.get_latest_materialization_event(dg.AssetKey("counted")).run_id == run_ids[-1]
        )


def test_dagster_yaml_follows_its_folder_and_keeps_your_edits(tmp_path: Path) -> None:
    first = ensure_dagster_home(tmp_path / "a" / INSTANCE_FOLDER)
    config = yaml.safe_load((first / "dagster.yaml").read_text())
    assert config["event_log_storage"]["config"]["base_dir"] == str(first / "history" / "runs")
    text = (
        (first / "dagster.yaml")
        .read_text()
        .replace("max_concurrent_runs: 1", "max_concurrent_runs: 2")
    )
    (first / "dagster.yaml").write_text(text)
    moved = tmp_path / "b" / INSTANCE_FOLDER
    first.parent.rename(tmp_path / "b")
    ensure_dagster_home(moved)
    config = yaml.safe_load((moved / "dagster.yaml").read_text())
    assert config["event_log_storage"]["config"]["base_dir"] == str(moved / "history" / "runs")
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 2
    own = tmp_path / "own"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # not written by sna
    ensure_dagster_home(own)
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_a_run_makes_sure_of_the_schemas_once_and_commits_events_without_waiting_for_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step opens its own DuckDB connection: the schemas are created by the first of a run
    (70 ms a step otherwise), and again outside a run. Run events are committed with SQLite's
    `synchronous=NORMAL`, safe in the WAL mode Dagster uses."""
    from pipelines import resources

    calls: list[str] = []
    ensure = resources.ensure_schema
    monkeypatch.setattr(
        resources, "ensure_schema", lambda con: calls.append("schema") or ensure(con)
    )

    @dg.asset
    def first(duckdb: SNADuckDB) -> None:
        with duckdb.get_connection() as con:
            con.execute("CREATE TABLE core.one AS SELECT 1 AS x")

    @dg.asset(deps=[first])
    def second(duckdb: SNADuckDB) -> None:
        with duckdb.get_connection() as con:
            assert con.execute("SELECT x FROM core.one").fetchall() == [(1,)]

    database = tmp_path / "sna.duckdb"
    duck = SNADuckDB(database=str(database))
    with open_instance(database) as instance:
        assert dg.materialize(
            [first, second], resources={"duckdb": duck}, instance=instance
        ).success
        assert calls == ["schema"]  # setting up the run; the two steps found it ready
        with instance.event_log_storage._connect("index") as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    with duck.get_connection() as con:
        assert con.execute("SELECT count(*) FROM audit.runs").fetchone() == (1,)
    assert calls == ["schema", "schema"]  # outside a run, every connection makes sure
