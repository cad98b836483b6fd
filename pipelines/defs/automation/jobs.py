"""The two runs of a refresh as jobs, because a run carries one partition range
(`pipelines/refresh.py`): the monthly inputs, then everything else by reporting period."""

import dagster as dg

from pipelines.partitions import MONTHLY, MONTHLY_ASSETS, periods_def

ingest_job = dg.define_asset_job(
    "sna_ingest",
    selection=MONTHLY_ASSETS,
    partitions_def=MONTHLY,
    description="The monthly inputs and their checks: the first run of a refresh.",
)
analysis_job = dg.define_asset_job(
    "sna_analysis",
    selection=dg.AssetSelection.all() - MONTHLY_ASSETS,
    partitions_def=periods_def(),
    description="Everything after the monthly inputs, by reporting period: the second run.",
)
