"""How fresh the marts must be: refreshed every quarter (monitoring) and every year (the SNA).

Set on every `marts/*` asset. The daemon that `sna ui` starts evaluates it (freshness is enabled in
the instance's dagster.yaml, pipelines/instance.py): an asset turns WARN when a quarter's refresh
was missed and FAIL when the annual one was. The schedules are in pipelines/defs/automation.
"""

from datetime import timedelta

import dagster as dg

MARTS_FRESHNESS = dg.FreshnessPolicy.time_window(
    warn_window=timedelta(days=100), fail_window=timedelta(days=400)
)
