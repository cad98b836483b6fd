"""What serious violence goes with: risk factors per LSOA and ward, correlations and a model."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from pipelines.defs.geography.assets import lsoa_deprivation, lsoa_population
from pipelines.defs.health.assets import success_measures
from pipelines.defs.hotspots.assets import analysed_measures, source_rates
from pipelines.defs.measures.assets import asb_rates
from pipelines.defs.rates.assets import sv_rates
from pipelines.defs.reference.assets import lsoa
from pipelines.freshness import MARTS_FRESHNESS
from pipelines.metadata import md_table, table_metadata
from pipelines.resources import SNASettings
from transforms.db import read_geotable, read_table, table_exists, write_table
from transforms.hotspots import HEADLINE, area_geometries, contiguity
from transforms.rates import population_year
from transforms.risk import lsoa_factors, risk_correlations, risk_model, ward_factors

# Tables other domains build when their inputs exist (issue 9): used when present, else skipped.
OPTIONAL_TABLES = {"asb": "build.asb_rates", "nhs": "build.success_measures"}


def optional_table(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame | None:
    """A build table if this database has it, else None."""
    return read_table(con, table) if table_exists(con, table) else None


def one_asb_source(asb: pd.DataFrame | None) -> pd.DataFrame | None:
    """The ASB rates of one source (police.uk when the run has it, else the council's): two
    sources of the same factor would give each area two values."""
    if asb is None or asb.empty or asb["source"].nunique() < 2:
        return asb
    keep = "police_uk" if (asb["source"] == "police_uk").any() else sorted(asb["source"])[0]
    return asb[asb["source"] == keep]


@dg.asset(
    key=["marts", "risk_factors"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="risk",
    kinds={"duckdb"},
    deps=[sv_rates, lsoa, lsoa_population, lsoa_deprivation, asb_rates, success_measures],
)
def risk_factors(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Per LSOA and ward: IMD and its domains (crime domain only on request), the share of young
    residents, and the ASB rate and NHS indicators where those tables exist."""
    settings = sna.load()
    with duckdb.get_connection() as con:
        periods = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT period FROM build.sv_rates WHERE source = ? ORDER BY 1",
                [settings.rates_source],
            ).fetchall()
        ]
        pop = read_table(con, "ref.lsoa_population")  # both on the analysis geography
        year = population_year(con, settings.population_year)
        dep = read_table(con, "ref.lsoa_deprivation") if settings.inputs["deprivation"] else None
        asb = one_asb_source(optional_table(con, OPTIONAL_TABLES["asb"]))
        nhs = optional_table(con, OPTIONAL_TABLES["nhs"])
        areas = con.execute("SELECT lsoa_code, ward_code FROM ref.lsoa").df()
        dep = dep[dep["lsoa_code"].isin(areas["lsoa_code"])] if dep is not None else None
        lsoa_rows, notes = lsoa_factors(
            dep, pop, year, periods, asb, nhs, settings.risk_include_crime_domain
        )
        ward_rows = ward_factors(lsoa_rows, areas, pop, year, asb, nhs)
        table = pd.concat([lsoa_rows, ward_rows], ignore_index=True)
        write_table(con, "build.risk_factors", table)
    factors = table.groupby(["area_level", "factor", "label"]).size().rename("rows").reset_index()
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            "build.risk_factors",
            factors=md_table(factors, rows=60),
            left_out=dg.MetadataValue.md("\n".join(f"- {n}" for n in notes) or "nothing"),
            crime_domain_included=settings.risk_include_crime_domain,
            population_year=year,
        )
    )


@dg.asset(
    key=["marts", "risk_correlations"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="risk",
    kinds={"duckdb"},
    deps=[risk_factors, sv_rates],
)
def risk_correlations_asset(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Spearman correlations of each factor with the serious-violence rate, 95% CIs and BH-FDR."""
    settings = sna.load()
    with duckdb.get_connection() as con:
        measures, _ = analysed_measures(con, settings)
        rates = source_rates(con, settings, measures)
        factors = read_table(con, "build.risk_factors")
        table = risk_correlations(rates, factors, measures)
        write_table(con, "build.risk_correlations", table)
    headline = table[(table["measure"] == HEADLINE) & (table["period"] == table["period"].max())]
    strongest = headline.assign(size=headline["estimate"].abs()).sort_values(
        ["area_level", "size"], ascending=[True, False]
    )
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            "build.risk_correlations",
            strongest=md_table(
                strongest[
                    ["area_level", "factor", "estimate", "ci_lower", "ci_upper", "q_value", "n"]
                ],
                rows=30,
            ),
            circular_rows=int(table["circular"].fillna(False).sum()),
        )
    )


@dg.asset(
    key=["marts", "risk_model"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="risk",
    kinds={"duckdb"},
    deps=[risk_factors, sv_rates],
)
def risk_model_asset(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Negative binomial regression of counts with population exposure: incidence rate ratios per
    standard deviation of each factor, and Moran's I of the residuals."""
    settings = sna.load()
    with duckdb.get_connection() as con:
        measures, _ = analysed_measures(con, settings)
        rates = source_rates(con, settings, measures)
        factors = read_table(con, "build.risk_factors")
        areas = read_geotable(con, "ref.lsoa")
        neighbours = {}
        for level in ("lsoa", "ward"):
            shapes = area_geometries(areas, level)
            if len(shapes) >= 3:
                neighbours[level] = contiguity(shapes.geometry.to_numpy(), shapes["area_code"])
        table, notes = risk_model(
            rates,
            factors,
            neighbours,
            settings.risk_model_terms,
            measures,
            settings.hotspot_seed,
        )
        write_table(con, "build.risk_model", table)
    return dg.MaterializeResult(
        metadata=table_metadata(
            table,
            "build.risk_model",
            terms=", ".join(settings.risk_model_terms),
            not_fitted=dg.MetadataValue.md("\n".join(f"- {n}" for n in dict.fromkeys(notes)))
            if notes
            else "every model fitted",
        )
    )
