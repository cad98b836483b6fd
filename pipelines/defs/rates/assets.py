"""Rates of serious violence per 1,000 residents with 95% confidence intervals, by area and period."""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from pipelines.defs.geography.assets import incident_placement, lsoa_population
from pipelines.defs.reference.assets import lsoa
from pipelines.metadata import table_metadata
from pipelines.resources import SNASettings
from pipelines.settings import PROJECT_ROOT
from transforms.comparators import england_benchmarks, load_comparators, run_basis
from transforms.db import read_table, write_table
from transforms.definition import load_definition
from transforms.periods import describe_months
from transforms.population import denominators, population_year
from transforms.rates import sv_rates as compute_sv_rates

COMPARATORS_CSV = PROJECT_ROOT / "config" / "reference" / "comparators.csv"
# Added after the fixed rates columns (transforms.rates.RATE_COLUMNS), for every row:
# which months a period covers, how its population was put on the analysis LSOAs, and which
# England comparator `vs_england` used and whether its definition differs from the run's.
ADDED_COLUMNS = ["period_months", "population_conversion", "vs_england_basis"]


@dg.asset(
    key=["marts", "sv_rates"],
    group_name="rates",
    kinds={"duckdb"},
    deps=[incident_placement, lsoa, lsoa_population],
)
def sv_rates(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Counts, rates per 1,000 and CIs for LSOA, ward, district and county, every period and measure."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    source = settings.rates_source
    with duckdb.get_connection() as con:
        areas = con.execute("SELECT * EXCLUDE (geometry) FROM ref.lsoa").df()
        long = read_table(con, "ref.lsoa_population")
        year = population_year(long, settings.population_year)
        events = con.execute("SELECT * FROM core.incidents WHERE source = ?", [source]).df()
        covered = events.dropna(subset=["period"]).groupby("period")["occurred_month"]
        months = covered.nunique().to_dict()
        period_months = covered.agg(describe_months).to_dict()
        rates, notes = england_benchmarks(
            load_comparators(COMPARATORS_CSV),
            months,
            period_months,
            settings.period,
            run_basis(source, definition.id),
        )
        table = compute_sv_rates(
            events,
            areas,
            denominators(long, year),
            definition,
            settings.period,
            source,
            england_rates=rates,
        )
        keys = list(zip(table["period"], table["measure"], strict=True))
        table["period_months"] = table["period"].map(period_months).astype("str")
        table["population_conversion"] = population_conversion(table, areas, long, year)
        table["vs_england_basis"] = pd.Series([notes.get(k) for k in keys], dtype="str")
        write_table(con, "marts.sv_rates", table)
    county = table[(table["area_level"] == "county") & (table["measure"] == "all_serious_violence")]
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            "marts.sv_rates",
            source=source,
            population_year=year,
            definition_id=definition.id,
            measures=", ".join(sorted(table["measure"].unique())),
            county_headline=dg.MetadataValue.md(
                county[
                    [
                        "period",
                        "period_months",
                        "count",
                        "population",
                        "rate_per_1000",
                        "ci_lower",
                        "ci_upper",
                        "vs_england",
                    ]
                ].to_markdown(index=False)
            ),
        )
    )


def population_conversion(
    table: pd.DataFrame, areas: pd.DataFrame, population: pd.DataFrame, year: int
) -> pd.Series:
    """Per rates row, how its LSOAs' population reached the analysis geography (e.g.
    "as_published", or "as_published+lookup_split_area_share" for a district with split LSOAs)."""
    methods = (
        population[population["year"] == year]
        .groupby("lsoa_code")["conversion"]
        .agg(lambda c: "+".join(sorted(set("+".join(c).split("+")))))
    )
    per_lsoa = areas.assign(conversion=areas["lsoa_code"].map(methods))
    out = pd.Series(pd.NA, index=table.index, dtype="str")
    for level in ("lsoa", "ward", "district", "county"):
        rows = table["area_level"] == level
        grouped = per_lsoa.dropna(subset=[f"{level}_code", "conversion"]).groupby(f"{level}_code")
        joined = grouped["conversion"].agg(lambda c: "+".join(sorted(set("+".join(c).split("+")))))
        out[rows] = table.loc[rows, "area_code"].map(joined).astype("str")
    return out
