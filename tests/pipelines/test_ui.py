"""`sna ui` shows what `sna run` recorded, and Ctrl-C or SIGTERM stops it with nothing left behind.

The UI test starts the real `dg dev` (webserver, daemon, code server) on a free port against the
instance the session's `sna run` wrote, and asks its GraphQL API what the analyst's browser would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from pipelines.definitions import defs
from pipelines.processes import descendants
from pipelines.runs import LAUNCHED_BY_TAG
from tests.pipelines.conftest import REPO, CliRun

pytestmark = pytest.mark.faults
UI_START_TIMEOUT_S = 240  # loading the code location takes ~20 s on an idle 2-core machine

RUNS = "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"
CHECKS = """{ logsForRun(runId: "%s") { ... on EventConnection { hasMore events { __typename
  ... on AssetCheckEvaluationEvent { evaluation { checkName success assetKey { path } } } } } } }"""
RATES_CHECKS = """{ assetNodeOrError(assetKey: {path: ["marts", "sv_rates"]}) { ... on AssetNode {
  assetChecksOrError { ... on AssetChecks { checks { name
    executionForLatestMaterialization { runId status } } } } } } }"""
SCHEDULES = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  schedules { name cronSchedule executionTimezone scheduleState { status } } } } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    assert "errors" not in answer, answer
    return answer["data"]


def wait_until_serving(port: int, ui: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + UI_START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert ui.poll() is None, f"sna ui ended with {ui.returncode}:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the UI did not serve within {UI_START_TIMEOUT_S}s:\n{log.read_text()}")


def alive(pids: list[int]) -> list[int]:
    """The pids still running (zombies count as ended)."""
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            running.append(pid)
    return running


def test_ui_lists_sna_runs_with_check_results_and_ctrl_c_stops_everything(
    cli_run: CliRun, tmp_path: Path
) -> None:
    assert cli_run.exit_code == 0, cli_run.output
    con = duckdb.connect(str(cli_run.settings.database), read_only=True)
    run_ids = [
        r for (r,) in con.execute("SELECT run_id FROM audit.runs ORDER BY started_at").fetchall()
    ]
    con.close()
    expected_checks = {key.name for key in defs().resolve_asset_graph().asset_check_keys}
    port, log = free_port(), tmp_path / "ui.log"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    command = [sys.executable, "-m", "pipelines.cli", "ui", "--port", str(port),
               "--settings", str(cli_run.settings.path)]  # fmt: skip
    with log.open("w") as out:  # its own session: the test plays the terminal
        ui = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                              start_new_session=True)  # fmt: skip
    tree: list[int] = []
    try:
        wait_until_serving(port, ui, log)
        runs = {run["runId"]: run for run in graphql(port, RUNS)["runsOrError"]["results"]}
        assert set(run_ids) <= set(runs), "every run in audit.runs is in the UI"
        first = runs[run_ids[0]]
        assert first["status"] == "SUCCESS"
        assert {"key": LAUNCHED_BY_TAG, "value": "sna run"} in first["tags"]

        checks = []  # `sna run` is two runs: the monthly inputs, then the analysis by year
        for run_id in run_ids:
            events = graphql(port, CHECKS % run_id)["logsForRun"]
            assert not events["hasMore"]
            checks += [e["evaluation"] for e in events["events"] if "evaluation" in e]
        assert {c["checkName"] for c in checks} == expected_checks
        assert all(c["success"] for c in checks)

        node = graphql(port, RATES_CHECKS)["assetNodeOrError"]["assetChecksOrError"]["checks"]
        latest = {c["name"]: c["executionForLatestMaterialization"] for c in node}
        assert latest["county_equals_sum_of_lsoas"] == {"runId": run_ids[-1], "status": "SUCCEEDED"}

        [repository] = graphql(port, SCHEDULES)["repositoriesOrError"]["nodes"]
        schedules = {s["name"]: s for s in repository["schedules"]}
        assert set(schedules) == {"annual_sna", "quarterly_monitoring"}
        assert all(s["executionTimezone"] == "Europe/London" for s in schedules.values())
        assert all(s["scheduleState"]["status"] == "STOPPED" for s in schedules.values())

        tree = descendants(ui.pid)  # dg dev, its webserver, daemon and code servers
        assert len(tree) >= 4, tree
        os.killpg(ui.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground group
        assert ui.wait(timeout=120) == 0, log.read_text()
        assert alive(tree) == [], log.read_text()
    finally:
        if ui.poll() is None:
            ui.kill()
        for pid in alive(tree or descendants(ui.pid)):
            os.kill(pid, signal.SIGKILL)


# A leader that exits on SIGTERM but leaves a child that ignores SIGINT and SIGTERM behind: what a
# server that does not stop its own children looks like.
STUBBORN = """
import signal, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM,"
                  " signal.SIG_IGN); signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(300)"])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
time.sleep(300)
"""
GROUP = """
import os, sys
from pipelines.processes import run_process_group
sys.exit(run_process_group([sys.executable, "-c", sys.argv[1]], dict(os.environ), grace_s=2))
"""


def test_sigterm_stops_the_whole_group_even_a_child_that_ignores_it() -> None:
    runner = subprocess.Popen([sys.executable, "-c", GROUP, STUBBORN], cwd=REPO,
                              start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(tree := descendants(runner.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(tree) == 2, "the leader and its child started"
        time.sleep(0.5)  # both have installed their signal handlers
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=30) == 0
        assert alive(tree) == []
    finally:
        runner.kill()
        for pid in alive(descendants(runner.pid)):
            os.kill(pid, signal.SIGKILL)
