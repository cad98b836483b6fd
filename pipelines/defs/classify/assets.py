"""Classification: every police row becomes one incident, classified under the local definition."""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from pipelines.defs.ingest.assets import police_extract, police_uk
from pipelines.defs.reference.assets import lsoa, offence_codes, sv_definition
from pipelines.metadata import table_metadata
from pipelines.resources import SNASettings
from transforms.classify import (
    UNKNOWN_CODE_COLUMNS,
    classify_police_extract,
    classify_police_uk,
    unknown_offence_codes,
)
from transforms.coverage import build_geography_coverage
from transforms.db import read_table, write_table
from transforms.definition import load_definition
from transforms.periods import period_label


@dg.asset(
    key=["core", "incidents"],
    group_name="classify",
    kinds={"duckdb"},
    deps=[police_extract, police_uk, offence_codes, sv_definition],
)
def incidents(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """One row per police record from any source, with its serious-violence category and flags."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    frames = []
    unknown = pd.DataFrame(columns=UNKNOWN_CODE_COLUMNS)
    with duckdb.get_connection() as con:
        codes = read_table(con, "ref.offence_codes")
        if settings.inputs["police_extract"]:
            raw = read_table(con, "raw.police_extract")
            frames.append(classify_police_extract(raw, codes, definition))
            unknown = unknown_offence_codes(raw, codes)
            police_rows = len(raw)
        else:
            police_rows = 0
        if settings.inputs["police_uk"]:
            frames.append(classify_police_uk(read_table(con, "raw.police_uk"), definition))
        table = pd.concat(frames, ignore_index=True)
        table.insert(3, "period", period_label(table["occurred_month"], settings.period))
        write_table(con, "core.incidents", table)
        write_table(con, "core.unknown_offence_codes", unknown)
    unknown_count = int(unknown["count"].sum()) if len(unknown) else 0
    by_source = table.groupby("source").agg(
        rows=("event_id", "size"), serious_violence=("sv_category", "count")
    )
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            "core.incidents",
            definition_id=definition.id,
            definition_hash=definition.hash,
            by_source=dg.MetadataValue.md(by_source.to_markdown()),
            unknown_offence_code_rows=unknown_count,
            unknown_offence_code_share=round(unknown_count / police_rows, 5)
            if police_rows
            else 0.0,
            unknown_offence_code_max_share=definition.unknown_code_max_share,
        )
    )


@dg.asset(
    key=["marts", "geography_coverage"],
    group_name="classify",
    kinds={"duckdb"},
    deps=[incidents, lsoa],
)
def geography_coverage(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Incidents inside the area, outside it, or with no LSOA: counted and reported, never dropped."""
    with duckdb.get_connection() as con:
        table = build_geography_coverage(con)
    return dg.MaterializeResult(metadata=table_metadata(table, "build.geography_coverage"))
