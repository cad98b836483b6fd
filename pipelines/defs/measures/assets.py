"""Anti-social behaviour rates, the four Norfolk priorities, trends and proportions."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.geography.assets import incident_placement, lsoa_population
from pipelines.defs.health.assets import nhs_rates
from pipelines.defs.rates.assets import sv_rates
from pipelines.defs.reference.assets import lsoa
from pipelines.freshness import MARTS_FRESHNESS
from pipelines.metadata import md_table, table_metadata
from pipelines.resources import SNASettings
from transforms.db import read_table
from transforms.definition import load_definition
from transforms.priorities import (
    ASB_TABLE,
    PRIORITIES,
    asb_reconciliation,
    build_asb_rates,
    build_priority,
)
from transforms.proportions import PROPORTIONS_TABLE, build_proportions
from transforms.rates import population_year
from transforms.trends import (
    TIME_PROFILE_TABLE,
    TRENDS_TABLE,
    YEAR_ON_YEAR_TABLE,
    build_trends,
    run_measures,
    time_profile,
    year_on_year,
)


@dg.asset(
    key=["marts", "asb_rates"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="rates",
    kinds={"duckdb"},
    deps=[incident_placement, lsoa, lsoa_population],
)
def asb_rates(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Anti-social behaviour incidents per 1,000 residents with CIs (measure asb_incidents, the
    columns of marts.sv_rates), from the police.uk ASB rows and the council ASB extract, each its
    own source; the note says how many ASB records were loaded and how many the county counts."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    with duckdb.get_connection() as con:
        year = population_year(con, settings.population_year)
        sources = build_asb_rates(con, year, definition.id)
        counts, _ = asb_reconciliation(con, settings.period)
        table = read_table(con, ASB_TABLE)
    note = "; ".join(
        f"{key}: {c['loaded']:,} ASB records loaded, {c['in_county_rate']:,} counted in the"
        f" county rate, {c['outside_or_unlocated']:,} outside the area or unlocated"
        for key, c in counts.items()
    )
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            ASB_TABLE,
            sources=", ".join(sources) or "no ASB records in this run",
            note=note or "no ASB records",
            reconciliation=dg.MetadataValue.json(counts),
        )
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["marts", f"priority_{name}"],
            freshness_policy=MARTS_FRESHNESS,
            group_name="rates",
            kinds={"duckdb"},
            description=priority.label,
            deps=[sv_rates, nhs_rates, incident_placement, lsoa_population],
        )
        for name, priority in PRIORITIES.items()
    ],
)
def priorities(sna: SNASettings, duckdb: DuckDBResource):
    """The four Norfolk priorities (under-25s, domestic abuse, drugs and alcohol, places): one
    table each, in the columns of marts.sv_rates, gathering its serious-violence, NHS and police
    measures."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    with duckdb.get_connection() as con:
        year = population_year(con, settings.population_year)
        for name, priority in PRIORITIES.items():
            measures = build_priority(con, name, settings.rates_source, year, definition.id)
            county = con.execute(
                f"SELECT source, period, measure, count, rate_per_1000, ci_lower, ci_upper"
                f" FROM {priority.table} WHERE area_level = 'county' ORDER BY measure, period"
            ).df()
            rows = con.execute(f"SELECT count(*) FROM {priority.table}").fetchone()[0]
            yield dg.MaterializeResult(
                asset_key=["marts", f"priority_{name}"],
                metadata={
                    "dagster/row_count": int(rows),
                    "table": priority.table,
                    "measures": ", ".join(measures) or "none: the run's sources cannot tell",
                    "county": md_table(county, rows=40),
                },
            )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["marts", "trends"],
            freshness_policy=MARTS_FRESHNESS,
            group_name="rates",
            kinds={"duckdb"},
            description="Monthly counts with a 12-month rolling sum, county and districts.",
            deps=[incident_placement, lsoa, lsoa_population],
        ),
        dg.AssetSpec(
            ["marts", "year_on_year"],
            freshness_policy=MARTS_FRESHNESS,
            group_name="rates",
            kinds={"duckdb"},
            description="Change on the previous year with the exact test for two Poisson counts.",
            deps=[incident_placement, lsoa],
        ),
        dg.AssetSpec(
            ["marts", "time_profile"],
            freshness_policy=MARTS_FRESHNESS,
            group_name="rates",
            kinds={"duckdb"},
            description="Hour x weekday counts wherever the source records a time.",
            deps=[incident_placement],
        ),
    ],
)
def trends(sna: SNASettings, duckdb: DuckDBResource):
    """Trends of every measure of every source: monthly counts and rolling sums, year-on-year
    change with its exact test, and the hour x weekday profile."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    with duckdb.get_connection() as con:
        year = population_year(con, settings.population_year)
        pairs = run_measures(con, definition, settings.rates_source, year)
        monthly = build_trends(con, pairs)
        yearly = year_on_year(con, monthly, settings.period)
        profile = time_profile(con, pairs)
    yield dg.MaterializeResult(
        asset_key=["marts", "trends"],
        metadata=table_metadata(
            monthly,
            TRENDS_TABLE,
            measures=", ".join(f"{s}:{m.name}" for s, m in pairs),
        ),
    )
    county = yearly[yearly["area_level"] == "county"]
    yield dg.MaterializeResult(
        asset_key=["marts", "year_on_year"],
        metadata=table_metadata(
            yearly,
            YEAR_ON_YEAR_TABLE,
            significant_at_5_percent=md_table(county[county["p_value"] < 0.05], rows=40),
        ),
    )
    yield dg.MaterializeResult(
        asset_key=["marts", "time_profile"],
        metadata=table_metadata(
            profile, TIME_PROFILE_TABLE, sources=", ".join(sorted(profile["source"].unique()))
        ),
    )


@dg.asset(
    key=["marts", "proportions"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="rates",
    kinds={"duckdb"},
    deps=[incident_placement, lsoa],
)
def proportions(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The share of serious violence that is domestic-abuse-related, knife-enabled, or with a
    victim under 25 (and the same shares of NHS assaults), with Wilson 95% intervals."""
    settings = sna.load()
    with duckdb.get_connection() as con:
        table = build_proportions(con, settings.rates_source)
    county = table[table["area_level"] == "county"]
    return dg.MaterializeResult(
        metadata=table_metadata(table, PROPORTIONS_TABLE, county=md_table(county, rows=40))
    )
