"""One run at a time per database, and a record of every run, failed and killed ones included.

The lock is an advisory `flock` on `<database>.lock`, held for the whole run by whoever starts it
(`sna run`, or the DuckDB resource when Dagster starts a run). The operating system releases it
when the process ends, however it ends, so a killed run never leaves a stale lock. The lock
file says who holds it, so a second run can say which run is in the way.

`audit.runs` gets a row when a run starts (status `running`), with how it was launched
(`sna run`, a schedule, a sensor, the UI), the settings as read, the definition id and hash and
the package versions; and its outcome when it ends: `success`, or `failed` with the step where it
stopped and the error, each with the sha256 of every input file it read. A run that was killed
cannot write its end; the next run, which holds the lock and so knows no other run is alive,
marks it `interrupted`, here and in the Dagster instance. The run id is Dagster's, and every
published file names it.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import duckdb

PACKAGES = (
    "sna",
    "dagster",
    "duckdb",
    "duckdb-extension-spatial",
    "pyarrow",
    "pandas",
    "numpy",
    "geopandas",
    "shapely",
    "pyogrio",
    "pyproj",
    "scipy",
    "statsmodels",
    "libpysal",
    "esda",
    "mapclassify",
    "matplotlib",
    "openpyxl",
)

INTERRUPTED = "the process stopped without recording an outcome (killed?)"
LAUNCHED_BY_TAG = "sna/launched_by"  # run tag: "sna run"; schedules and sensors have Dagster's own
DATABASE_TAG = "sna/database"  # run tag: the database a run writes, whose lock it holds

_held: dict[
    str, tuple[int, int, str]
] = {}  # lock path -> (fd, depth, run id): re-entrant per process


class RunLocked(RuntimeError):
    """Another run holds the database."""

    def __init__(self, database: Path, holder: dict) -> None:
        self.holder = holder
        who = ", ".join(f"{k} {v}" for k, v in holder.items()) or "unknown holder"
        super().__init__(f"{database} is in use by another run ({who}); wait for it to finish")


def lock_path(database: Path) -> Path:
    return Path(f"{database}.lock")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def run_lock(database: str | Path, run_id: str) -> Iterator[None]:
    """Hold the database's run lock for the block; raise RunLocked naming the holder if taken.

    Re-entrant within one process (the CLI takes it, then the run's resource takes it again).
    """
    path = lock_path(Path(database))
    key = str(path.resolve())
    if key in _held:
        fd, depth, holder_run = _held[key]
        _held[key] = (fd, depth + 1, holder_run)
        try:
            yield
        finally:
            fd, depth, holder_run = _held[key]
            _held[key] = (fd, depth - 1, holder_run)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        raise RunLocked(Path(database), holder) from None
    info = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
            "started": now().isoformat(timespec="seconds")}  # fmt: skip
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)
    _held[key] = (fd, 1, run_id)
    try:
        yield
    finally:
        fd, depth, _ = _held.pop(key)
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read_holder(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (ValueError, OSError):
        return {}


@dataclass(frozen=True)
class RunRecord:
    """What starts a row of audit.runs."""

    run_id: str
    settings_file: str
    settings: dict
    definition_id: str | None = None
    definition_hash: str | None = None
    launched_by: str | None = None  # "sna run", "schedule annual_sna", "sensor ...", "ui"


def package_versions() -> dict[str, str]:
    """Python and the installed version of every package that shapes the numbers or files."""
    return {"python": platform.python_version(), **{p: version(p) for p in PACKAGES}}


def launched_by(tags: dict[str, str]) -> str:
    """How a run was started, from its Dagster tags."""
    if LAUNCHED_BY_TAG in tags:
        return tags[LAUNCHED_BY_TAG]
    if "dagster/schedule_name" in tags:
        return f"schedule {tags['dagster/schedule_name']}"
    if "dagster/sensor_name" in tags:
        return f"sensor {tags['dagster/sensor_name']}"
    return "ui"  # launched from the Dagster UI (or its API)


def record_start(con: duckdb.DuckDBPyConnection, record: RunRecord) -> list[str]:
    """Insert the run as `running` (once), and mark runs left `running` by a killed process as
    `interrupted`: the caller holds the lock, so no other run can still be alive. Returns the
    run ids it marked interrupted."""
    interrupted = [
        run_id
        for (run_id,) in con.execute(
            "UPDATE audit.runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?),"
            " error = coalesce(error, ?) WHERE status = 'running' AND run_id <> ? RETURNING run_id",
            [now(), INTERRUPTED, record.run_id],
        ).fetchall()
    ]
    exists = con.execute(
        "SELECT count(*) FROM audit.runs WHERE run_id = ?", [record.run_id]
    ).fetchone()[0]
    if exists:
        return interrupted
    con.execute(
        "INSERT INTO audit.runs (run_id, started_at, status, settings_file, settings,"
        " definition_id, definition_hash, package_versions, launched_by)"
        " VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
        [
            record.run_id,
            now(),
            record.settings_file,
            json.dumps(record.settings, sort_keys=True, default=str),
            record.definition_id,
            record.definition_hash,
            json.dumps(package_versions()),
            record.launched_by,
        ],
    )
    return interrupted


def fail_interrupted_in_instance(instance, run_ids: list[str]) -> None:
    """Mark killed runs failed in the Dagster instance too, so the UI does not show them running."""
    for run_id in run_ids:
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            instance.report_run_failed(run, f"Interrupted: {INTERRUPTED}")


def fail_orphaned_runs(instance, database: str | Path) -> list[str]:
    """Mark failed the runs of `database` that the instance shows as started while nobody holds
    the database's lock: their process was killed. Until then the run queue, which allows one run
    in progress, would hold every run launched from the UI behind them. Returns their ids; none
    when a run holds the lock."""
    from dagster import DagsterRunStatus, RunsFilter

    try:
        with run_lock(database, "sna ui: clearing killed runs"):
            runs = instance.get_runs(
                filters=RunsFilter(
                    statuses=[DagsterRunStatus.STARTED],
                    tags={DATABASE_TAG: str(Path(database).resolve())},
                )
            )
            fail_interrupted_in_instance(instance, [run.run_id for run in runs])
    except RunLocked:
        return []
    return [run.run_id for run in runs]


def record_end(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    *,
    stopped_at: str | None = None,
    error: str | None = None,
    input_hashes: dict[str, str] | None = None,
) -> None:
    """Set a run's outcome: `success`, or `failed` with the step and error."""
    con.execute(
        "UPDATE audit.runs SET status = ?, finished_at = ?, stopped_at = ?, error = ?,"
        " input_hashes = coalesce(?, input_hashes) WHERE run_id = ?",
        [
            status,
            now(),
            stopped_at,
            error,
            json.dumps(input_hashes, sort_keys=True) if input_hashes is not None else None,
            run_id,
        ],
    )


def input_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """{file: sha256} of every input file in audit.loads: what the run's raw tables hold. A run
    re-reads only new or changed files, so a run's own loads would miss the files it kept."""
    return dict(con.execute("SELECT file, sha256 FROM audit.loads ORDER BY file").fetchall())


def run_status(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    """The recorded status of a run, or None when it has no row."""
    row = con.execute("SELECT status FROM audit.runs WHERE run_id = ?", [run_id]).fetchone()
    return row[0] if row else None


def first_failure(instance, run_id: str) -> tuple[str, str] | None:
    """(step, error) of the run's first failed step or blocking check, from Dagster's event log."""
    from dagster import DagsterEventType

    for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        event = record.dagster_event
        error = event.step_failure_data.error
        while error is not None and error.cause is not None:  # the real cause, not the wrapper
            error = error.cause
        message = (error.message if error is not None else "").strip()
        return event.step_key.replace("__", "."), message
    return None
