"""The annual SNA and quarterly monitoring refreshes, in Europe/London time, stopped by default.

An analyst turns them on in the UI (Automation) once `sna ui` is running: the daemon that `dg dev`
starts launches them through the instance's run queue, one run at a time (pipelines/instance.py).

When they fire follows the settings' period type, because police data for a month is published
about four weeks after it ends:
- financial years (April-March): the annual SNA at 06:00 on 1 June, once March is published;
  quarterly monitoring on 1 September, 1 December and 1 March, after each other quarter;
- calendar years: the annual SNA on 1 March; monitoring on 1 June, 1 September and 1 December.
The annual run takes the place of the monitoring run for the year's last quarter, so the two never
queue behind each other. Both refresh every asset (the whole SNA is minutes on one county); the
`sna/cadence` tag says which one a run was.

A refresh is two runs, because a run carries one partition range (`pipelines/refresh.py`): the
schedule starts the ingest of every month the inputs hold (`sna_ingest`), and the
`analysis_after_ingest` sensor follows it with the analysis of every year (`sna_analysis`).
"""

import dagster as dg

from pipelines.defs.automation.jobs import analysis_job, ingest_job
from pipelines.partitions import FOLLOW_TAG, follow_up_tags, run_tags
from pipelines.settings import load_settings

TIMEZONE = "Europe/London"
CADENCE_TAG = "sna/cadence"
# period type -> (annual cron, quarterly cron): 06:00 on the 1st, see the module docstring
CRONS = {
    "financial_year": ("0 6 1 6 *", "0 6 1 3,9,12 *"),
    "calendar_year": ("0 6 1 3 *", "0 6 1 6,9,12 *"),
}


def refresh_schedule(name: str, cron: str, cadence: str, description: str) -> dg.ScheduleDefinition:
    """A stopped schedule of the whole refresh in London time, its runs tagged with the cadence:
    the ingest of every month the inputs hold, followed by the analysis of every year."""

    @dg.schedule(
        name=name,
        cron_schedule=cron,
        execution_timezone=TIMEZONE,
        job=ingest_job,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=description,
    )
    def _refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        settings = load_settings()
        months = run_tags(settings)
        return dg.RunRequest(
            tags=months
            | follow_up_tags(months, settings.period)
            | {FOLLOW_TAG: "analysis", CADENCE_TAG: cadence}
        )

    return _refresh


@dg.definitions
def schedules() -> dg.Definitions:
    annual, quarterly = CRONS[load_settings().period]
    return dg.Definitions(
        jobs=[ingest_job, analysis_job],
        schedules=[
            refresh_schedule(
                "annual_sna",
                annual,
                "annual",
                "The annual strategic needs assessment, once the year's last month of police data"
                " is published.",
            ),
            refresh_schedule(
                "quarterly_monitoring",
                quarterly,
                "quarterly",
                "Quarterly monitoring of rates, hotspots and success measures.",
            ),
        ],
    )
