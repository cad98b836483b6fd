"""NHS assault rates and the Home Office's three Serious Violence Duty success measures."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.geography.assets import incident_placement, lsoa_population
from pipelines.defs.reference.assets import lsoa
from pipelines.freshness import MARTS_FRESHNESS
from pipelines.metadata import md_table, table_metadata
from pipelines.resources import SNASettings
from transforms.definition import load_definition
from transforms.priorities import NHS_TABLE, build_nhs_rates
from transforms.rates import population_year
from transforms.success import SUCCESS_TABLE
from transforms.success import success_measures as compute_success_measures


@dg.asset(
    key=["marts", "nhs_rates"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="rates",
    kinds={"duckdb"},
    deps=[incident_placement, lsoa, lsoa_population],
)
def nhs_rates(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """ISTV A&E attendances, HES admissions and ambulance call-outs for assault per 1,000
    residents (and per 1,000 under-25s), with CIs, by LSOA, ward, district and county: the
    columns of marts.sv_rates. A&E records with only a postcode sector are in no rate (see
    marts.geography_coverage, placement postcode_sector_only)."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    with duckdb.get_connection() as con:
        year = population_year(con, settings.population_year)
        sources = build_nhs_rates(con, year, definition.id)
        county = con.execute(
            f"SELECT source, period, measure, count, rate_per_1000, ci_lower, ci_upper"
            f" FROM {NHS_TABLE} WHERE area_level = 'county' ORDER BY source, measure, period"
        ).df()
        rows = con.execute(f"SELECT count(*) FROM {NHS_TABLE}").fetchone()[0]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(rows),
            "table": NHS_TABLE,
            "sources": ", ".join(sources) or "none given",
            "county": md_table(county, rows=60),
        }
    )


@dg.asset(
    key=["marts", "success_measures"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="rates",
    kinds={"duckdb"},
    deps=[incident_placement, lsoa, lsoa_population],
)
def success_measures(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The three success measures by year and area, all victims and victims under 25: knife
    admissions (HES X99) and homicides per 100,000, police-recorded knife-enabled serious violence
    per 1,000; counts, rates, CIs, the change on the previous year and its exact Poisson test."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    with duckdb.get_connection() as con:
        year = population_year(con, settings.population_year)
        table, notes = compute_success_measures(con, definition, settings.rates_source, year)
    county = table[(table["area_level"] == "county")][
        ["measure", "victims", "period", "count", "rate", "rate_per", "ci_lower", "ci_upper",
         "change", "change_p"]
    ]  # fmt: skip
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            SUCCESS_TABLE,
            measures=", ".join(sorted(table["measure"].unique())) or "none",
            not_made=dg.MetadataValue.md("\n".join(f"- {n}" for n in notes) or "none"),
            county=md_table(county, rows=60),
            population_year=year,
        )
    )
