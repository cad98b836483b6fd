"""The code location loads as `dg` loads it, with the agreed groups and the in-process executor."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

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
