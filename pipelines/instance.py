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
- freshness policies evaluated by the daemon (`dg dev` runs it), so stale marts show in the UI;
- run events stored by `PooledSqliteEventLogStorage`: Dagster's SQLite storage with its
  connections kept open (see there).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from sqlalchemy import Connection, Engine, create_engine, event

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


HEADER = "# Written by `sna` (pipelines/instance.py) when absent; your edits are kept.\n"


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, with each shard's connection kept open between events.

    The stock storage opens a new engine and connection for every event and closes it after
    one insert; closing the last connection of a WAL database checkpoints it. A small county
    refresh stores about 900 events: that took 8 CPU-seconds, and 44 s of a 103 s `sna run` on
    a busy machine (2 CPU-seconds and 9 s of 68 s with this class). Here the index shard and the most recent run shards keep one engine each
    (older ones are disposed), so an event is one insert and one commit. The tables, files and
    locking are Dagster's own; only the connection's lifetime changes.
    """

    KEEP_RUN_SHARDS = 4

    def __init__(self, base_dir: str, inst_data: object = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.RLock()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: object, config_value: dict
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)  # the parent's names its own class

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    connect_args={
                        "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                        "check_same_thread": False,
                    },
                    pool_size=1,
                )
                event.listen(engine, "connect", _synchronous_normal)
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                self._engines[shard] = engine
                runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
                for old in runs[: max(0, len(runs) - self.KEEP_RUN_SHARDS)]:
                    self._engines.pop(old).dispose()
            else:
                self._engines.move_to_end(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._engines_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
        super().dispose()


def _synchronous_normal(dbapi_connection, _record) -> None:
    """Commit without waiting for the disk (SQLite's recommended setting in WAL mode): an event
    is still written at its commit and the file cannot be corrupted; only a power cut can lose
    the last events. Waiting for the disk was 6% of a small county's `sna run`."""
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def instance_config(home: Path) -> dict:
    """dagster.yaml for an instance folder: INSTANCE_CONFIG and the pooled event log in it."""
    events = {"base_dir": str(home.resolve() / "history" / "runs")}
    storage = {"module": __name__, "class": PooledSqliteEventLogStorage.__name__, "config": events}
    return {**INSTANCE_CONFIG, "event_log_storage": storage}


POOLED = PooledSqliteEventLogStorage.__name__


def ensure_dagster_home(home: Path) -> Path:
    """Create the instance folder and its dagster.yaml if absent; returns the folder. Your edits
    to a dagster.yaml that sna wrote are kept, except that its pooled event log is pointed at
    this folder (it names the folder, which may have moved with the data)."""
    home.mkdir(parents=True, exist_ok=True)
    config, wanted = home / "dagster.yaml", instance_config(home)
    current = yaml.safe_load(config.read_text()) if config.exists() else None
    if current is None or (
        config.read_text().startswith(HEADER)
        and current.get("event_log_storage", {}).get("class", POOLED) == POOLED
        and current.get("event_log_storage") != wanted["event_log_storage"]
    ):
        updated = {**(current or wanted), "event_log_storage": wanted["event_log_storage"]}
        config.write_text(HEADER + yaml.safe_dump(updated, sort_keys=False))
    return home


def open_instance(database: str | Path) -> dg.DagsterInstance:
    """The persistent instance for a database (use it as a context manager to close it)."""
    return dg.DagsterInstance.from_config(str(ensure_dagster_home(dagster_home(database))))
