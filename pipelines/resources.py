"""Resources injected into every asset: the run settings and the DuckDB database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from pipelines.partitions import STAGE_TAG
from pipelines.runs import (
    DATABASE_TAG,
    RunRecord,
    fail_interrupted_in_instance,
    first_failure,
    input_hashes,
    launched_by,
    record_end,
    record_start,
    run_lock,
    run_status,
)
from pipelines.settings import Settings, load_settings
from transforms.db import ensure_schema

AUDIT_RUNS = dg.AssetKey(["audit", "runs"])  # the step that records a whole run's success


class SNASettings(dg.ConfigurableResource):
    """Where the settings YAML is and which folder its relative paths are read from."""

    settings_path: str
    base_dir: str

    def load(self) -> Settings:
        return load_settings(self.settings_path, base_dir=Path(self.base_dir))


class SNADuckDB(DuckDBResource):
    """DuckDBResource whose connections always find the stage schemas and fixed tables.

    For the whole of a run it holds the database's run lock (one run at a time: DuckDB has a
    single writer, and two refreshes interleaving would mix their tables) and records the run
    in audit.runs, so runs started from the UI or a schedule are recorded like `sna run`.
    """

    settings_path: str = ""
    base_dir: str = ""
    _lock: ExitStack | None = PrivateAttr(default=None)
    _schema_ready: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._schema_ready = False  # checked once per run, by the connection below
        run = context.run
        run_id = run.run_id if run is not None else "ad-hoc"
        stack = ExitStack()
        stack.enter_context(run_lock(self.database, run_id))
        self._lock = stack
        tags = dict(run.tags) if run is not None else {}
        record = run_record(run_id, self.settings_path, self.base_dir, launched_by(tags))
        with self.get_connection() as con:
            interrupted = record_start(con, record)
        if context.instance is not None:
            fail_interrupted_in_instance(context.instance, interrupted)
            if run is not None and DATABASE_TAG not in tags:  # runs launched in the UI
                database = str(Path(self.database).resolve())
                context.instance.add_run_tags(run_id, {DATABASE_TAG: database})

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Record how the run ended when it did not reach audit.runs (a failed step or blocking
        check, or a run that does not include audit/runs, such as an ingest run), then release
        the lock. A killed run never gets here: the next run marks it."""
        if self._lock is None:
            return
        try:
            run_id = context.run.run_id if context.run is not None else None
            if run_id and context.instance is not None:
                with self.get_connection() as con:
                    failure = first_failure(context.instance, run_id)
                    unrecorded = run_status(con, run_id) == "running"
                    if unrecorded and failure is not None:
                        record_end(con, run_id, "failed", stopped_at=failure[0],
                                   error=failure[1], input_hashes=input_hashes(con))  # fmt: skip
                    elif unrecorded and not records_itself(context.run):
                        record_end(con, run_id, "success", input_hashes=input_hashes(con))
        finally:
            self._lock.close()
            self._lock = None

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the database; its schemas are made sure of once per run (a run's
        ~150 steps each paid 70 ms for it), or on every connection outside a run."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as con:
            if not self._schema_ready:
                ensure_schema(con)
                self._schema_ready = self._lock is not None
            yield con


def records_itself(run: dg.DagsterRun) -> bool:
    """Whether the run ends with audit/runs, which records its success: not an ingest run (the
    first of a refresh's two), nor a run of assets that leave it out."""
    if run.tags.get(STAGE_TAG) == "ingest":
        return False
    return run.asset_selection is None or AUDIT_RUNS in run.asset_selection


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """The resource set for one settings file."""
    return {
        "sna": SNASettings(settings_path=str(settings.path), base_dir=str(settings.base_dir)),
        "duckdb": SNADuckDB(
            database=str(settings.database),
            connection_config={"memory_limit": settings.duckdb_memory_limit},
            settings_path=str(settings.path),
            base_dir=str(settings.base_dir),
        ),
    }


def run_record(
    run_id: str, settings_path: str, base_dir: str = "", launched: str | None = None
) -> RunRecord:
    """The start of a run's audit row: its settings as read, and the definition they name."""
    from dataclasses import asdict

    from transforms.definition import load_definition

    if not settings_path:
        return RunRecord(run_id, "", {}, launched_by=launched)
    settings = load_settings(settings_path, base_dir=Path(base_dir) if base_dir else None)
    definition = load_definition(settings.definition)
    return RunRecord(
        run_id, str(settings.path), asdict(settings), definition.id, definition.hash, launched
    )
