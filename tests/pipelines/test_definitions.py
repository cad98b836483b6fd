"""The code location loads as `dg` loads it, with the agreed groups and the in-process executor."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

from pipelines.definitions import defs

REPO = Path(__file__).resolve().parents[2]
GROUPS = {"reference", "ingest", "classify", "geography", "rates", "hotspots", "risk", "reporting"}


def test_every_asset_is_in_an_agreed_group_and_every_group_is_used() -> None:
    groups = {spec.group_name for spec in defs().resolve_all_asset_specs()}
    assert groups == GROUPS


def test_runs_in_process_one_step_at_a_time() -> None:
    job = defs().resolve_implicit_global_asset_job_def()
    assert job.executor_def is dg.in_process_executor


def test_dg_check_defs_passes() -> None:
    dg_bin = Path(sys.executable).with_name("dg")
    env = {**os.environ, "VIRTUAL_ENV": sys.prefix}
    result = subprocess.run(
        [str(dg_bin), "check", "defs"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_annual_and_quarterly_schedules_run_in_london_time_and_start_stopped() -> None:
    schedules = {s.name: s for s in defs().schedules}
    assert set(schedules) == {"annual_sna", "quarterly_monitoring"}
    for schedule in schedules.values():
        assert schedule.execution_timezone == "Europe/London"
        assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
        assert schedule.job_name == "sna_ingest"
    # demo settings: financial years, so the SNA once March is published, and the other quarters
    assert schedules["annual_sna"].cron_schedule == "0 6 1 6 *"
    assert schedules["quarterly_monitoring"].cron_schedule == "0 6 1 3,9,12 *"
    # the ingest job and the analysis job between them hold every asset and check, once
    ingest, analysis = (defs().resolve_job_def(n) for n in ("sna_ingest", "sna_analysis"))
    every_asset = defs().resolve_implicit_global_asset_job_def()
    keys = [job.asset_layer.selected_asset_keys for job in (ingest, analysis)]
    assert keys[0] | keys[1] == every_asset.asset_layer.selected_asset_keys
    assert not keys[0] & keys[1]
    assert {k.to_user_string() for k in keys[0]} == {
        "raw/police_extract", "raw/police_uk", "raw/ae_attendances", "raw/hes_admissions",
        "raw/ambulance_callouts", "raw/asb_council",
    }  # fmt: skip
    checks = [job.asset_layer.asset_graph.asset_check_keys for job in (ingest, analysis)]
    assert checks[0] | checks[1] == every_asset.asset_layer.asset_graph.asset_check_keys


def test_calendar_years_move_the_annual_run_to_march(tmp_path, monkeypatch) -> None:
    from pipelines.defs.automation.schedules import schedules as automation

    settings = yaml.safe_load((REPO / "config" / "settings.yaml").read_text())
    settings["period"] = "calendar_year"
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("SNA_SETTINGS", str(path))
    crons = {s.name: s.cron_schedule for s in automation().schedules}
    assert crons == {"annual_sna": "0 6 1 3 *", "quarterly_monitoring": "0 6 1 6,9,12 *"}


def test_a_schedule_tick_asks_for_the_whole_refresh_tagged_with_its_cadence() -> None:
    """Every month the inputs hold, then (the analysis_after_ingest sensor) every year."""
    schedule = next(s for s in defs().schedules if s.name == "quarterly_monitoring")
    [request] = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    assert request.tags["sna/cadence"] == "quarterly"
    assert request.tags["sna/sync"] == "all" and request.tags["sna/follow"] == "analysis"
    first, last = request.tags["sna/periods"].split("..")
    assert first.endswith("-04-01") and last.endswith("-04-01") and first <= last
    sensors = {s.name: s for s in defs().sensors}
    assert sensors["analysis_after_ingest"].default_status == dg.DefaultSensorStatus.RUNNING


def test_every_mart_has_a_freshness_policy() -> None:
    marts = [s for s in defs().resolve_all_asset_specs() if s.key.path[0] == "marts"]
    assert len(marts) >= 10
    for spec in marts:
        policy = spec.freshness_policy
        assert policy is not None, spec.key
        assert policy.warn_window.days == 100 and policy.fail_window.days == 400
