"""Resources for the code location, from $SNA_SETTINGS (default config/settings.yaml)."""

import dagster as dg

from pipelines.resources import build_resources
from pipelines.settings import load_settings


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources(load_settings()))
