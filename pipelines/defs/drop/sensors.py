"""A sensor on the drop folder: each dropped file recognised by its header, filed where the
settings read it, and the runs launched for the inputs and months the files touch.

Stopped by default: it moves files, so the analyst turns it on (`make ui`, Automation). The
run key is the files' sha256s, so a file is processed once; dropping the same bytes again
starts nothing. Monthly inputs start an ingest run over their months, tagged so that the
`analysis_after_ingest` sensor follows it with the analysis of the years those months fall in
(one run cannot hold both partitionings: `pipelines/refresh.py`); reference files start one run
of everything they feed, every year rebuilt. Logic lives in `pipelines/drop.py`.
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs.automation.jobs import analysis_job, ingest_job
from pipelines.drop import examine, file_away, plan, waiting
from pipelines.partitions import (
    FOLLOW_TAG,
    MONTHLY,
    analysis_tags,
    follow_up_tags,
    is_monthly,
    month_key,
    range_tags,
    run_tags,
    whole_range_tags,
)
from pipelines.refresh import INPUTS_TAG, analysis_selection
from pipelines.resources import SNASettings
from sources.registry import BY_KEY


@dg.sensor(
    name="drop_folder",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    jobs=[ingest_job, analysis_job],
    description="Recognises files dropped in the settings' drop_dir (default data/drop/), files"
    " them under drop_dir/<input>/ and runs the SNA for the inputs and months they touch.",
)
def drop_folder(context: dg.SensorEvaluationContext, sna: SNASettings):
    settings = sna.load()
    drop_dir = settings.drop_dir
    examined = [examine(path, drop_dir, settings) for path in waiting(drop_dir)]
    for item in examined:
        if item.problem:
            context.log.warning(f"{item.path}: left in the drop folder: {item.problem}")
    run = plan(examined)
    if run is None:
        left = f"; {len(examined)} file(s) left, see the log" if examined else ""
        return dg.SkipReason(f"nothing new to run in {drop_dir}{left}")
    for item in examined:
        if item.problem is None:
            context.log.info(f"{item.path}: {item.recognised.key} -> {file_away(item)}")
    specs = [BY_KEY[key] for key in run.inputs]
    dropped = [dg.AssetKey(spec.table.split(".")) for spec in specs]
    tags = {"sna/trigger": "drop_folder", INPUTS_TAG: ",".join(run.inputs)}
    if any(is_monthly(spec) for spec in specs):  # the inputs now; their years after
        months = _month_range(run.months)
        tags |= months | follow_up_tags(months, settings.period) | {FOLLOW_TAG: "analysis"}
        monthly = sorted(k for k, spec in zip(dropped, specs, strict=True) if is_monthly(spec))
        return dg.RunRequest(
            run_key=run.run_key, job_name=ingest_job.name, asset_selection=monthly, tags=tags
        )
    # reference files: everything they feed, every year rebuilt (a boundary or population file
    # changes every year's rates)
    graph = context.repository_def.asset_graph
    months = run_tags(settings)  # every month the inputs hold, synced whole
    every_year = analysis_tags(months | follow_up_tags(months, settings.period))
    return dg.RunRequest(
        run_key=run.run_key,
        job_name=analysis_job.name,
        asset_selection=analysis_selection(graph, dropped, whole=False),
        tags=tags | every_year,
    )


def _month_range(months) -> dict[str, str]:
    """The partition range of the dropped months, within the partitions that exist."""
    if months is None:
        return whole_range_tags()
    keys = MONTHLY.get_partition_keys()
    first = max(month_key(months[0]), keys[0])
    last = min(month_key(months[1]), keys[-1])
    return range_tags(first, last) if first <= last else whole_range_tags()
