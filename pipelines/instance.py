"""The one Dagster instance a database's runs are recorded in: `sna run`, schedules, sensors, UI.

Dagster keeps run history, materialisations, metadata and check results in its *instance*
(`DAGSTER_HOME`). `sna run` and `sna ui` (`dg dev`) open the same persistent one, so a run
started at the command line shows in the UI like a run started there, with its row counts and
check results. By default it lives beside the database (`data/sna.duckdb` ->
`data/.dagster/`): one instance per database, like the database's run lock. A `DAGSTER_HOME`
set in the environment wins, as Dagster users expect.

`dagster.yaml` is written when absent (an analyst's own edits are kept):
- one run at a time from the run queue (DuckDB has one writer; `pipelines.runs` also holds a lock
  for runs that do not go through the queue, such as `sna run`);
- no telemetry: nothing leaves the machine at run time;
- freshness policies evaluated by the daemon (`dg dev` runs it), so stale marts show in the UI.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import yaml

DAGSTER_HOME_ENV = "DAGSTER_HOME"
INSTANCE_FOLDER = ".dagster"
INSTANCE_CONFIG = {
    "concurrency": {"runs": {"max_concurrent_runs": 1}},
    "telemetry": {"enabled": False},
    "freshness": {"enabled": True},
}


def dagster_home(database: str | Path) -> Path:
    """The instance folder for a database: $DAGSTER_HOME when set, else `.dagster` beside it."""
    if os.environ.get(DAGSTER_HOME_ENV):
        return Path(os.environ[DAGSTER_HOME_ENV]).resolve()
    return Path(database).resolve().parent / INSTANCE_FOLDER


def ensure_dagster_home(home: Path) -> Path:
    """Create the instance folder and its dagster.yaml if absent; returns the folder."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        header = "# Written by `sna` (pipelines/instance.py) when absent; your edits are kept.\n"
        config.write_text(header + yaml.safe_dump(INSTANCE_CONFIG, sort_keys=False))
    return home


def open_instance(database: str | Path) -> dg.DagsterInstance:
    """The persistent instance for a database (use it as a context manager to close it)."""
    return dg.DagsterInstance.from_config(str(ensure_dagster_home(dagster_home(database))))
