"""Run the SNA pipeline for one settings file, recording when each Dagster step starts and ends.

The benchmark harness runs this in a child process, so a size that exhausts memory cannot take
the harness with it: `python -m tests.benchmarks.pipeline_child SETTINGS EVENTS.jsonl [--dropped]`
(`--dropped`: run what the drop-folder sensor requests for the files in the drop folder, and the
analysis run that follows it).
It runs exactly what `sna run` runs (`pipelines.cli.run_pipeline`). Each line of EVENTS is one JSON
event with `t` (time.monotonic(), comparable with the parent's clock on Linux), written and
flushed as it happens, so a run stopped half way still says which step it was in.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from pathlib import Path
from typing import IO

STARTED = time.monotonic()

from pipelines.cli import _ProgressHandler, run_pipeline  # noqa: E402  (after the start time)

STEP_EVENTS = {"STEP_START": "start", "STEP_SUCCESS": "end", "STEP_FAILURE": "failure"}


class StepRecorder(_ProgressHandler):
    """`sna run`'s progress handler that also writes step and asset events to a file."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self.out = out

    def write(self, **event: object) -> None:
        self.out.write(json.dumps({"t": time.monotonic(), **event}) + "\n")
        self.out.flush()

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)
        if event is not None:
            kind, step = event.event_type_value, event.step_key
            if kind in STEP_EVENTS:
                self.write(event=STEP_EVENTS[kind], step=step)
            elif kind == "ASSET_MATERIALIZATION":
                asset = event.asset_key.to_user_string()
                self.write(event="asset", step=step, asset=asset, partition=event.partition)
            elif kind == "ASSET_CHECK_EVALUATION":
                check = event.event_specific_data
                self.write(event="asset", step=step, asset=check.asset_key.to_user_string())
                self.write(event="check", step=step, check=check.check_name, passed=check.passed)
        super().emit(record)


def run_dropped(settings: Path, handler: _ProgressHandler) -> bool:
    """What the daemon does with the files in the settings' drop folder: evaluate the drop-folder
    sensor and execute the ingest run it requests, then evaluate analysis_after_ingest and execute
    the analysis run it requests for that run's years, in process (as `sna run` executes)."""
    import os

    import dagster as dg

    from pipelines.cli import _progress_logger
    from pipelines.resources import build_resources
    from pipelines.settings import SETTINGS_ENV, load_settings

    os.environ[SETTINGS_ENV] = str(settings.resolve())
    from pipelines.definitions import defs
    from pipelines.defs.automation.sensors import analysis_after_ingest
    from pipelines.defs.drop.sensors import drop_folder

    definitions = dg.Definitions.merge(
        defs(), dg.Definitions(loggers={"progress": _progress_logger(handler)})
    )
    instance = dg.DagsterInstance.ephemeral()
    sna = build_resources(load_settings(settings))["sna"]
    context = dg.build_sensor_context(
        instance=instance, definitions=definitions, resources={"sna": sna}
    )
    request = drop_folder(context)
    if not isinstance(request, dg.RunRequest):
        print(f"the sensor requested no run: {request}")
        return False
    job = definitions.resolve_implicit_global_asset_job_def()
    while request is not None:
        print(f"run: {request.tags}")
        result = job.execute_in_process(
            run_config={"loggers": {"progress": {}}},
            instance=instance,
            raise_on_error=False,
            asset_selection=list(request.asset_selection),
            tags=request.tags,
        )
        if not result.success or handler.failed_checks:
            return False
        context = dg.build_sensor_context(instance=instance, definitions=definitions)
        followed = analysis_after_ingest(context)
        request = (
            next((r for r in followed if r.tags.get("sna/after") == result.run_id), None)
            if isinstance(followed, list)
            else None
        )
    return True


def main(settings: Path, events: Path, dropped: bool = False) -> int:
    with events.open("w", encoding="utf-8") as out:
        recorder = StepRecorder(out)
        recorder.write(event="process", started=STARTED)
        ok = (run_dropped if dropped else run_pipeline)(settings, recorder)
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        recorder.write(event="done", ok=ok, peak_rss_bytes=peak_kb * 1024)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), "--dropped" in sys.argv[3:]))
