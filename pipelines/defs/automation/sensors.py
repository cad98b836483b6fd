"""The analysis run after an ingest run: the second half of a refresh launched by the drop-folder
sensor or a schedule.

One Dagster run carries one partition range, so the monthly inputs and the yearly analysis run
separately (`pipelines/refresh.py`). An ingest run tagged `sna/follow: analysis` that succeeded
(its blocking checks passed) is followed, once (the run key), by a run of what it fed over the
years its months fall in. Running by default: it only ever follows runs that ask for it.
"""

import dagster as dg

from pipelines.defs.automation.jobs import analysis_job
from pipelines.partitions import FOLLOW_TAG, STAGE_TAG
from pipelines.refresh import analysis_request

RECENT_RUNS = 20  # ingest runs looked at per tick; each is followed once


@dg.sensor(
    name="analysis_after_ingest",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    job=analysis_job,
    description="Runs the analysis of the years an ingest run's months fall in, once that ingest"
    " run (from the drop folder or a schedule) succeeded.",
)
def analysis_after_ingest(context: dg.SensorEvaluationContext):
    runs = context.instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.SUCCESS],
            tags={STAGE_TAG: "ingest", FOLLOW_TAG: "analysis"},
        ),
        limit=RECENT_RUNS,
    )
    graph = context.repository_def.asset_graph
    carried = ("sna/trigger", "sna/inputs", "sna/cadence")
    requests = [
        analysis_request(run, graph, {k: run.tags[k] for k in carried if k in run.tags})
        for run in reversed(runs)
    ]
    return requests or dg.SkipReason("no ingest run waiting for its analysis")
