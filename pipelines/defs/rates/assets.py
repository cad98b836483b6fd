"""Rates of serious violence per 1,000 residents with 95% confidence intervals, by area and period."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.geography.assets import incident_placement, lsoa_population
from pipelines.defs.reference.assets import lsoa
from pipelines.freshness import MARTS_FRESHNESS
from pipelines.metadata import md_table
from pipelines.partitions import periods_def, periods_of_run
from pipelines.resources import SNASettings
from pipelines.settings import PROJECT_ROOT
from transforms.comparators import england_benchmarks, load_comparators, run_basis
from transforms.db import replace_periods
from transforms.definition import load_definition
from transforms.periods import describe_months
from transforms.rates import build_sv_rates, population_year

COMPARATORS_CSV = PROJECT_ROOT / "config" / "reference" / "comparators.csv"


@dg.asset(
    key=["marts", "sv_rates"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="rates",
    kinds={"duckdb"},
    deps=[incident_placement, lsoa, lsoa_population],
    partitions_def=periods_def(),
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def sv_rates(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Counts, rates per 1,000 and CIs for LSOA, ward, district and county, every period and
    measure; each row says which months its period covers, how its population reached the
    analysis LSOAs and which England comparator it was judged against. A refresh of some years
    replaces only their rows."""
    settings = sna.load()
    periods = periods_of_run(context, settings.period)
    definition = load_definition(settings.definition)
    source = settings.rates_source
    with duckdb.get_connection() as con:
        year = population_year(con, settings.population_year)
        months = con.execute(
            "SELECT period, list(DISTINCT occurred_month) FROM core.incidents"
            " WHERE source = ? AND period IS NOT NULL GROUP BY period",
            [source],
        ).fetchall()
        covered = {period: len(m) for period, m in months}
        described = {period: describe_months(m) for period, m in months}
        england, notes = england_benchmarks(
            load_comparators(COMPARATORS_CSV),
            covered,
            described,
            settings.period,
            run_basis(source, definition.id),
        )
        build_sv_rates(
            con,
            definition,
            source,
            year,
            england_rates=england,
            england_notes=notes,
            period_months=described,
            periods=periods,
            table="temp._rates",
        )
        replace_periods(con, "build.sv_rates", "SELECT * FROM _rates", periods)
        con.execute("DROP TABLE _rates")
        rows = int(con.execute("SELECT count(*) FROM build.sv_rates").fetchone()[0])
        measures = [
            m
            for (m,) in con.execute(
                "SELECT DISTINCT measure FROM build.sv_rates ORDER BY 1"
            ).fetchall()
        ]
        county = con.execute(
            "SELECT period, period_months, count, population, rate_per_1000, ci_lower, ci_upper,"
            " vs_england FROM build.sv_rates WHERE area_level = 'county'"
            " AND measure = 'all_serious_violence' ORDER BY period"
        ).df()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "table": "build.sv_rates",
            "source": source,
            "population_year": year,
            "definition_id": definition.id,
            "periods_rebuilt": "all" if periods is None else ", ".join(periods),
            "measures": ", ".join(measures),
            "county_headline": md_table(county),
        }
    )
