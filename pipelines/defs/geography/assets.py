"""One analysis geography per run: population, deprivation and incidents on the boundaries' LSOAs.

The boundaries fix the LSOA vintage (ref.lsoa.lsoa_vintage); inputs of the other vintage are
placed through the ONS 2011 <-> 2021 lookup when it is given (transforms/geography.py).
"""

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines.defs.classify.assets import (
    CLASSIFY_DEPS,
    INCIDENTS,
    classify,
    incidents_metadata,
)
from pipelines.defs.reference.assets import deprivation, lsoa, lsoa_vintage_lookup, population
from pipelines.freshness import MARTS_FRESHNESS
from pipelines.metadata import md_table, table_metadata
from pipelines.partitions import periods_def, periods_of_run
from pipelines.resources import SNASettings
from pipelines.settings import Settings
from transforms.classify import CLASSIFIED
from transforms.coverage import COVERAGE_TABLE, build_geography_coverage
from transforms.db import read_table, replace_periods, table_exists
from transforms.definition import load_definition
from transforms.geography import (
    convert_deprivation,
    convert_population,
    place_incidents,
)
from transforms.rates import population_year

VINTAGE_LOOKUP = "ref.lsoa_vintage_lookup"
PLACEMENT = dg.AssetKey(["core", "incident_placement"])
STAGED = "temp.incidents_staged"  # a refresh's years, classified and placed before the swap


def analysis_vintage_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run's analysis vintage, as ref.lsoa recorded it."""
    return con.execute("SELECT any_value(lsoa_vintage) FROM ref.lsoa").fetchone()[0]


def vintage_lookup(settings: Settings) -> str | None:
    """The lookup table when the settings give one."""
    return VINTAGE_LOOKUP if settings.inputs["lsoa_vintage_lookup"] else None


def denominator_year(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """The population year every rate uses: the one in the settings, else the latest."""
    return population_year(con, settings.population_year)


@dg.asset(
    key=["ref", "lsoa_population"],
    group_name="geography",
    kinds={"duckdb"},
    deps=[population, lsoa, lsoa_vintage_lookup],
)
def lsoa_population(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Population on the study area's LSOAs; where the file is of the other vintage, converted
    through the lookup, with the method in `conversion`."""
    settings = sna.load()
    with duckdb.get_connection() as con:
        vintage = analysis_vintage_of(con)
        summary = convert_population(con, vintage=vintage, lookup=vintage_lookup(settings))
        table = read_table(con, "ref.lsoa_population")
        lsoas = con.execute("SELECT count(*) FROM ref.lsoa").fetchone()[0]
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            "ref.lsoa_population",
            lsoa_vintage=vintage or "not stated",
            lsoas_with_population=int(table["lsoa_code"].nunique()),
            lsoas_in_area=int(lsoas),
            persons_by_year=dg.MetadataValue.md(
                table.groupby("year")["persons"].sum().reset_index().to_markdown(index=False)
            ),
            lsoas_by_conversion=md_table(summary),
        )
    )


@dg.asset(
    key=["ref", "lsoa_deprivation"],
    group_name="geography",
    kinds={"duckdb"},
    deps=[deprivation, lsoa, lsoa_vintage_lookup],
)
def lsoa_deprivation(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Indices of Deprivation on the study area's LSOAs (split LSOAs inherit, merged ones average
    their scores), with the method in `conversion`; absent when no deprivation file is given."""
    settings = sna.load()
    if not settings.inputs["deprivation"]:
        with duckdb.get_connection() as con:
            con.execute("DROP TABLE IF EXISTS ref.lsoa_deprivation")
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "configured": False})
    with duckdb.get_connection() as con:
        vintage = analysis_vintage_of(con)
        summary = convert_deprivation(con, vintage=vintage, lookup=vintage_lookup(settings))
        table = read_table(con, "ref.lsoa_deprivation")
        lsoas = con.execute("SELECT count(*) FROM ref.lsoa").fetchone()[0]
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            "ref.lsoa_deprivation",
            lsoa_vintage=vintage or "not stated",
            lsoas_without_deprivation=int(lsoas - table["lsoa_code"].nunique()),
            lsoas_by_conversion=md_table(summary),
        )
    )


@dg.multi_asset(
    name="core__incidents",  # the step key core/incidents always had
    specs=[
        dg.AssetSpec(INCIDENTS, group_name="classify", kinds={"duckdb"}, deps=CLASSIFY_DEPS),
        dg.AssetSpec(
            PLACEMENT,
            group_name="geography",
            kinds={"duckdb"},
            deps=[INCIDENTS, lsoa, lsoa_vintage_lookup, lsoa_population],
        ),
    ],
    partitions_def=periods_def(),
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def incidents(context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource):
    """core.incidents for the run's periods: every record classified under the local definition
    (core/incidents), then placed on the analysis geography (core/incident_placement): `lsoa_code`
    becomes the study-area LSOA (NULL outside it), keeping `lsoa_code_recorded`,
    `lsoa_vintage_recorded` and `placement` (how: code, lookup_*, coordinates, outside_area,
    unmatched_code, no_location, postcode_sector_only).

    A refresh of some years classifies and places only their incidents in a staging table, then
    swaps them for those years' rows in one transaction: the other years keep their rows, and
    the table is never half written. `sna run` rebuilds the whole table in place."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    periods = periods_of_run(context, settings.period)
    table = "core.incidents" if periods is None else STAGED
    with duckdb.get_connection() as con:
        if periods is not None:
            same_definition(con, definition.id)
        classify(con, settings, definition, periods)
        vintage = analysis_vintage_of(con)
        year = denominator_year(con, settings)
        con.execute(
            "CREATE OR REPLACE TEMP VIEW _people AS SELECT lsoa_code, sum(persons) AS persons"
            f" FROM ref.lsoa_population WHERE year = {int(year)} GROUP BY lsoa_code"
        )
        summary = place_incidents(
            con,
            CLASSIFIED,
            into=table,
            vintage=vintage,
            lookup=vintage_lookup(settings),
            population="_people",
        )
        if periods is not None:
            replace_periods(con, "core.incidents", f"SELECT * FROM {STAGED}", periods)
            con.execute(f"DROP TABLE {STAGED}")
        classified = incidents_metadata(con, definition)
    by_method = summary.pivot_table(
        index=["source", "placement"], columns="period", values="incidents", aggfunc="sum"
    )
    rebuilt = {"periods_rebuilt": "all" if periods is None else ", ".join(periods)}
    yield dg.MaterializeResult(asset_key=INCIDENTS, metadata=classified | rebuilt)
    yield dg.MaterializeResult(
        asset_key=PLACEMENT,
        metadata={
            "dagster/row_count": classified["dagster/row_count"],
            "table": "core.incidents",
            "lsoa_vintage": vintage or "not stated",
            "lookup_given": vintage_lookup(settings) is not None,
            "population_year_for_shares": int(year),
            "incidents_by_placement_and_period": dg.MetadataValue.md(
                by_method.fillna(0).astype("int64").to_markdown()
            ),
        }
        | rebuilt,
    )


def same_definition(con: duckdb.DuckDBPyConnection, definition_id: str) -> None:
    """A refresh of some years must classify them as the other years were: stop when
    core.incidents was built under another definition, naming both."""
    if not table_exists(con, "core.incidents"):
        return
    held = [
        d
        for (d,) in con.execute(
            "SELECT DISTINCT definition_id FROM core.incidents WHERE definition_id <> ?",
            [definition_id],
        ).fetchall()
    ]
    if held:
        raise ValueError(
            f"core.incidents holds years classified under {', '.join(held)}, but the settings now"
            f" name {definition_id}: run `sna run` to rebuild every year under one definition"
        )


incident_placement = PLACEMENT


@dg.asset(
    key=["marts", "geography_coverage"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="geography",
    kinds={"duckdb"},
    deps=[PLACEMENT, lsoa],
)
def geography_coverage(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Incidents inside the area, outside it, or with no LSOA, per source, period and placement
    method: counted and reported, never dropped."""
    with duckdb.get_connection() as con:
        table = build_geography_coverage(con)
    return dg.MaterializeResult(metadata=table_metadata(table, COVERAGE_TABLE))
