"""`sna run` is recorded in the database's persistent Dagster instance, which runs one at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import defs
from pipelines.instance import INSTANCE_FOLDER, dagster_home, open_instance
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
