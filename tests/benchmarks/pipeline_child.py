"""Run the SNA pipeline for one settings file, recording when each Dagster step starts and ends.

The benchmark harness runs this in a child process, so a size that exhausts memory cannot take
the harness with it: `python -m tests.benchmarks.pipeline_child SETTINGS EVENTS.jsonl`.
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
                self.write(event="asset", step=step, asset=event.asset_key.to_user_string())
            elif kind == "ASSET_CHECK_EVALUATION":
                check = event.event_specific_data
                self.write(event="asset", step=step, asset=check.asset_key.to_user_string())
        super().emit(record)


def main(settings: Path, events: Path) -> int:
    with events.open("w", encoding="utf-8") as out:
        recorder = StepRecorder(out)
        recorder.write(event="process", started=STARTED)
        ok = run_pipeline(settings, recorder)
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        recorder.write(event="done", ok=ok, peak_rss_bytes=peak_kb * 1024)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
