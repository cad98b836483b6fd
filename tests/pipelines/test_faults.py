"""Runs that fail, are killed, or collide: the database never lies and the next run just works.

One demo county database goes through: a good run (the shared `sna run`, copied); a run stopped by a failing blocking check; runs
killed (SIGKILL, as the OOM killer or a closed laptop would) as ingest, classification and
publishing start; a run started while another holds the database; and a final good run with no
manual step in between.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from pipelines.cli import FAULT_ENV, app
from pipelines.instance import open_instance
from tests.pipelines.conftest import REPO, CliRun

pytestmark = pytest.mark.faults
runner = CliRunner()


def marts_fingerprint(database: Path) -> dict[str, str]:
    """A hash of every marts table's rows, to tell "unchanged" from "changed"."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            " ORDER BY 1").fetchall()]  # fmt: skip
        return {
            t: hashlib.sha256(
                repr(con.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall()).encode()
            ).hexdigest()
            for t in tables
        }
    finally:
        con.close()


def files_fingerprint(folder: Path) -> dict[str, str]:
    """Hashes of the published files (a killed run's own staging folder is not published)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.relative_to(folder).parts[0].startswith(".")
    }


def runs(database: Path) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(
            "SELECT run_id, status, stopped_at FROM audit.runs ORDER BY started_at"
        ).fetchall()
    finally:
        con.close()


def sna_run_killed_at(settings: Path, step: str) -> subprocess.CompletedProcess:
    """`sna run` in its own process, killed with SIGKILL when `step` starts."""
    env = {**os.environ, FAULT_ENV: step, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--settings", str(settings)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def county(cli_run: CliRun, small_demo: Path, tmp_path_factory: pytest.TempPathFactory):
    """A database, its Dagster instance and outputs from one good run (a copy of the shared
    `sna run`), and settings for a changed second refresh."""
    assert cli_run.exit_code == 0, cli_run.output
    folder = tmp_path_factory.mktemp("faults") / "county"
    shutil.copytree(cli_run.settings.database.parent, folder)
    text = yaml.safe_load(cli_run.settings.path.read_text())
    text["database"] = str(folder / cli_run.settings.database.name)
    text["output_dir"] = str(folder / cli_run.settings.output_dir.name)
    # the next refresh would change the marts: one police.uk month is dropped from the inputs
    months = sorted((small_demo / "police_uk").glob("*/*-street.csv"))
    keep = folder / "police_uk"
    for path in months[1:]:
        (keep / path.parent.name).mkdir(parents=True, exist_ok=True)
        (keep / path.parent.name / path.name).write_bytes(path.read_bytes())
    text["inputs"]["police_uk"] = str(keep / "*" / "*-street.csv")
    changed = folder / "changed.yaml"
    changed.write_text(yaml.safe_dump(text))
    database = Path(text["database"])
    return {
        "settings": changed,
        "database": database,
        "out": Path(text["output_dir"]),
        "marts": marts_fingerprint(database),
        "files": files_fingerprint(Path(text["output_dir"])),
    }


@pytest.mark.parametrize("step", ["raw__police_uk", "core__incidents", "marts__published"])
def test_a_killed_run_leaves_the_last_good_marts_and_outputs(county, step: str) -> None:
    killed = sna_run_killed_at(county["settings"], step)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert marts_fingerprint(county["database"]) == county["marts"]
    assert files_fingerprint(county["out"]) == county["files"]
    assert runs(county["database"])[-1][1] == "running"  # it could not record its end


def test_a_failed_check_stops_the_run_and_is_recorded(county, tmp_path: Path) -> None:
    strict = yaml.safe_load(county["settings"].read_text())
    strict["max_reject_share"] = 0.0  # the demo plants two malformed extract rows
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(strict))
    result = runner.invoke(app, ["run", "--settings", str(path)])
    assert result.exit_code == 1, result.output
    assert marts_fingerprint(county["database"]) == county["marts"]
    assert files_fingerprint(county["out"]) == county["files"]
    run_id, status, stopped_at = runs(county["database"])[-1]
    assert status == "failed" and stopped_at.endswith("police_extract_rejects_below_threshold")
    con = duckdb.connect(str(county["database"]), read_only=True)
    try:
        [(inputs,)] = con.execute(
            "SELECT input_hashes FROM audit.runs WHERE run_id = ?", [run_id]
        ).fetchall()
    finally:
        con.close()
    read = json.loads(inputs)  # what the failed run had read, with each file's sha256
    assert any("demo_force_crimes" in f for f in read) and all(len(h) == 64 for h in read.values())


def test_a_second_run_waits_for_the_first_and_says_which_holds_it(county) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pipelines.runs import run_lock\n"
         f"with run_lock({str(county['database'])!r}, 'holder-run-42'):\n"
         "    print('held', flush=True)\n    time.sleep(60)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        result = runner.invoke(app, ["run", "--settings", str(county["settings"])])
        assert result.exit_code == 2, result.output
        assert "holder-run-42" in result.output and f"pid {holder.pid}" in result.output
    finally:
        holder.kill()
        holder.wait()
    assert marts_fingerprint(county["database"]) == county["marts"]


def test_the_next_run_completes_with_no_manual_step(county) -> None:
    time.sleep(0.1)
    result = runner.invoke(app, ["run", "--settings", str(county["settings"])])
    assert result.exit_code == 0, result.output
    assert marts_fingerprint(county["database"]) != county["marts"]  # the refresh landed
    recorded = runs(county["database"])
    statuses = [status for _, status, _ in recorded]
    assert statuses[0] == "success" and statuses[-1] == "success"
    assert statuses.count("interrupted") == 3 and "running" not in statuses
    with open_instance(county["database"]) as instance:  # the UI says the same, not "started"
        dagster_status = {r: instance.get_run_by_id(r).status for r, _, _ in recorded}
    assert [dagster_status[r] for r, status, _ in recorded if status == "interrupted"] == [
        dg.DagsterRunStatus.FAILURE
    ] * 3
    assert dagster_status[recorded[-1][0]] == dg.DagsterRunStatus.SUCCESS
    lock = json.loads(Path(f"{county['database']}.lock").read_text() or "{}")
    assert lock == {}  # released: nobody holds the database now
    assert not list(county["out"].glob(".*"))  # the killed runs' staging folders are cleared
