"""Rates of serious violence per 1,000 residents with 95% confidence intervals, by area and period."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.classify.assets import incidents
from pipelines.defs.reference.assets import lsoa, population
from pipelines.metadata import md_table
from pipelines.resources import SNASettings
from transforms.definition import load_definition
from transforms.rates import build_sv_rates, population_year


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
        year = population_year(con, settings.population_year)
        build_sv_rates(con, definition, source, year)
        rows = int(con.execute("SELECT count(*) FROM build.sv_rates").fetchone()[0])
        measures = [
            m
            for (m,) in con.execute(
                "SELECT DISTINCT measure FROM build.sv_rates ORDER BY 1"
            ).fetchall()
        ]
        county = con.execute(
            "SELECT period, months, count, population, rate_per_1000, ci_lower, ci_upper"
            " FROM build.sv_rates WHERE area_level = 'county' AND measure = 'all_serious_violence'"
            " ORDER BY period"
        ).df()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "table": "build.sv_rates",
            "source": source,
            "population_year": year,
            "definition_id": definition.id,
            "measures": ", ".join(measures),
            "county_headline": md_table(county),
        }
    )
