"""A sensor on the drop folder: each dropped file recognised by its header, filed where the
settings read it, and one run launched for the inputs and months the files touch.

Stopped by default: it moves files, so the analyst turns it on (`make ui`, Automation). The
run key is the files' sha256s, so a file is processed once; dropping the same bytes again
starts nothing. Logic lives in `pipelines/drop.py`.
"""

from __future__ import annotations

import dagster as dg

from pipelines.drop import examine, file_away, plan, waiting
from pipelines.partitions import MONTHLY, is_monthly, month_key, range_tags, whole_range_tags
from pipelines.resources import SNASettings
from sources.registry import BY_KEY


@dg.sensor(
    name="drop_folder",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    target=dg.AssetSelection.all(),
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
    keys = [BY_KEY[key] for key in run.inputs]
    selection = dg.AssetSelection.assets(*(spec.table.split(".") for spec in keys)).downstream()
    assets = selection.resolve(context.repository_def.asset_graph)
    tags = {"sna/trigger": "drop_folder", "sna/inputs": ",".join(run.inputs)}
    if any(is_monthly(spec) for spec in keys):
        tags |= _month_range(run.months)
    else:  # reference files: everything they feed, which needs no month
        assets = {
            key
            for key in assets
            if context.repository_def.assets_defs_by_key[key].partitions_def is None
        }
    return dg.RunRequest(run_key=run.run_key, asset_selection=sorted(assets), tags=tags)


def _month_range(months) -> dict[str, str]:
    """The partition range of the dropped months, within the partitions that exist."""
    if months is None:
        return whole_range_tags()
    keys = MONTHLY.get_partition_keys()
    first = max(month_key(months[0]), keys[0])
    last = min(month_key(months[1]), keys[-1])
    return range_tags(first, last) if first <= last else whole_range_tags()
