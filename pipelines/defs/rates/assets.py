"""Rates of serious violence per 1,000 residents with 95% confidence intervals, by area and period."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.classify.assets import incidents
from pipelines.defs.reference.assets import lsoa, population
from pipelines.metadata import table_metadata
from pipelines.resources import SNASettings
from transforms.db import read_table, write_table
from transforms.definition import load_definition
from transforms.population import denominators, population_year
from transforms.rates import sv_rates as compute_sv_rates


@dg.asset(
    key=["marts", "sv_rates"],
    group_name="rates",
    kinds={"duckdb"},
    deps=[incidents, lsoa, population],
)
def sv_rates(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Counts, rates per 1,000 and CIs for LSOA, ward, district and county, every period and measure."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    source = settings.rates_source
    with duckdb.get_connection() as con:
        areas = con.execute("SELECT * EXCLUDE (geometry) FROM ref.lsoa").df()
        long = read_table(con, "ref.population")
        year = population_year(long, settings.population_year)
        events = con.execute("SELECT * FROM core.incidents WHERE source = ?", [source]).df()
        table = compute_sv_rates(
            events, areas, denominators(long, year), definition, settings.period, source
        )
        write_table(con, "build.sv_rates", table)
    county = table[(table["area_level"] == "county") & (table["measure"] == "all_serious_violence")]
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            "build.sv_rates",
            source=source,
            population_year=year,
            definition_id=definition.id,
            measures=", ".join(sorted(table["measure"].unique())),
            county_headline=dg.MetadataValue.md(
                county[
                    [
                        "period",
                        "months",
                        "count",
                        "population",
                        "rate_per_1000",
                        "ci_lower",
                        "ci_upper",
                    ]
                ].to_markdown(index=False)
            ),
        )
    )
