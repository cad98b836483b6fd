"""Classification: every police record becomes one incident, classified under the local definition."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.ingest.assets import police_extract, police_uk
from pipelines.defs.reference.assets import lsoa, offence_codes, sv_definition
from pipelines.metadata import md_table
from pipelines.resources import SNASettings
from transforms.classify import build_incidents
from transforms.coverage import build_geography_coverage
from transforms.definition import load_definition


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
    with duckdb.get_connection() as con:
        build_incidents(
            con,
            definition,
            settings.period,
            police_extract=bool(settings.inputs["police_extract"]),
            police_uk=bool(settings.inputs["police_uk"]),
        )
        by_source = con.execute(
            "SELECT source, count(*) AS rows, count(sv_category) AS serious_violence"
            " FROM core.incidents GROUP BY 1 ORDER BY 1"
        ).df()
        rows = int(by_source["rows"].sum())
        unknown = int(
            con.execute(
                "SELECT coalesce(sum(count), 0) FROM core.unknown_offence_codes"
            ).fetchone()[0]
        )
        police_rows = int(by_source.loc[by_source["source"] == "police", "rows"].sum())
        dropped = con.execute(
            "SELECT source, count(*) AS superseded FROM quarantine.duplicates GROUP BY 1"
        ).df()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "table": "core.incidents",
            "definition_id": definition.id,
            "definition_hash": definition.hash,
            "by_source": md_table(by_source),
            "duplicate_records_left_out": md_table(dropped),
            "unknown_offence_code_rows": unknown,
            "unknown_offence_code_share": round(unknown / police_rows, 5) if police_rows else 0.0,
            "unknown_offence_code_max_share": definition.unknown_code_max_share,
        }
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
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "table": "build.geography_coverage",
            "preview": md_table(table),
        }
    )
