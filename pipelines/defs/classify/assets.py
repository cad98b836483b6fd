"""Classification: every police record becomes one incident, classified under the local definition;
NHS (ISTV A&E, HES, ambulance) and council ASB records join them as incidents of their own source.

The asset itself (core/incidents, with its placement on the analysis geography in the same step)
is in `pipelines/defs/geography/assets.py`, partitioned by reporting period; here are its
classification and the metadata it reports.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from pipelines.defs.ingest.assets import (
    ae_attendances,
    ambulance_callouts,
    asb_council,
    hes_admissions,
    police_extract,
    police_uk,
)
from pipelines.defs.reference.assets import offence_codes, sv_definition
from pipelines.metadata import md_table
from pipelines.settings import Settings
from transforms.classify import classify_incidents
from transforms.definition import Definition
from transforms.health import HEALTH_SOURCES, INPUT_KEYS, health_selects, health_summary

INCIDENTS = dg.AssetKey(["core", "incidents"])
CLASSIFY_DEPS = [
    police_extract,
    police_uk,
    ae_attendances,
    hes_admissions,
    ambulance_callouts,
    asb_council,
    offence_codes,
    sv_definition,
]


def classify(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    definition: Definition,
    periods: Sequence[str] | None,
) -> None:
    """One row per police record from any source, with its serious-violence category and flags,
    and one per NHS or council ASB record given (sources ae, hes, ambulance, asb), as the view
    `transforms.classify.CLASSIFIED`, which the placement writes (`periods`: only those period
    labels)."""
    health = [s for s in HEALTH_SOURCES if settings.inputs[INPUT_KEYS[s]]]
    classify_incidents(
        con,
        definition,
        settings.period,
        police_extract=bool(settings.inputs["police_extract"]),
        police_uk=bool(settings.inputs["police_uk"]),
        others=health_selects(con, health, settings.period, definition.id),
        periods=periods,
    )


def incidents_metadata(con: duckdb.DuckDBPyConnection, definition: Definition) -> dict[str, Any]:
    """What core.incidents holds by source, the NHS and ASB records, and unknown offence codes."""
    nhs = pd.DataFrame(
        health_summary(con),
        columns=["source", "rows_loaded", "incidents", "assaults", "later_episodes_left_out"],
    )
    by_source = con.execute(
        "SELECT source, count(*) AS rows, count(sv_category) AS serious_violence"
        " FROM core.incidents GROUP BY 1 ORDER BY 1"
    ).df()
    rows = int(by_source["rows"].sum())
    unknown = int(
        con.execute("SELECT coalesce(sum(count), 0) FROM core.unknown_offence_codes").fetchone()[0]
    )
    police_rows = int(by_source.loc[by_source["source"] == "police", "rows"].sum())
    dropped = con.execute(
        "SELECT source, count(*) AS superseded FROM quarantine.duplicates GROUP BY 1"
    ).df()
    return {
        "dagster/row_count": rows,
        "table": "core.incidents",
        "definition_id": definition.id,
        "definition_hash": definition.hash,
        "by_source": md_table(by_source),
        "duplicate_records_left_out": md_table(dropped),
        "nhs_and_council_asb": md_table(nhs),
        "unknown_offence_code_rows": unknown,
        "unknown_offence_code_share": round(unknown / police_rows, 5) if police_rows else 0.0,
        "unknown_offence_code_max_share": definition.unknown_code_max_share,
    }
