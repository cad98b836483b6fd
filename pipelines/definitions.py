"""The Dagster code location: everything under pipelines/defs/, run in process, one run at a time."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        # DuckDB has a single writer: steps run one after another in the run's own process.
        dg.Definitions(executor=dg.in_process_executor),
    )
