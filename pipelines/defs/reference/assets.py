"""Reference data: the local definition, offence codes, boundaries, lookups, population, deprivation."""

import json

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from pipelines.loading import load_input
from pipelines.metadata import table_metadata
from pipelines.resources import SNASettings
from pipelines.settings import PROJECT_ROOT
from sources.boundaries import read_lsoa_boundaries
from sources.deprivation import read_deprivation
from sources.lookups import read_area_lookup, read_vintage_lookup
from sources.population import read_population
from transforms.areas import study_area, unplaced_lsoas
from transforms.db import read_geotable, read_table, write_table
from transforms.definition import load_definition
from transforms.geography import analysis_vintage

OFFENCE_CODES_CSV = PROJECT_ROOT / "config" / "reference" / "ho_offence_codes.csv"


@dg.asset(key=["ref", "sv_definition"], group_name="reference", kinds={"duckdb", "yaml"})
def sv_definition(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The local definition of serious violence in force for this run, with its hash."""
    definition = load_definition(sna.load().definition)
    record = pd.DataFrame(
        [
            {
                "definition_id": definition.id,
                "version": definition.version,
                "title": definition.title,
                "hash": definition.hash,
                "rules_json": json.dumps(definition.raw, sort_keys=True, default=str),
            }
        ]
    )
    with duckdb.get_connection() as con:
        write_table(con, "ref.sv_definition", record)
    return dg.MaterializeResult(
        metadata=table_metadata(
            record.drop(columns="rules_json"),
            "ref.sv_definition",
            definition_id=definition.id,
            definition_hash=definition.hash,
            categories=", ".join(definition.categories),
        )
    )


@dg.asset(key=["ref", "offence_codes"], group_name="reference", kinds={"duckdb", "csv"})
def offence_codes(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Home Office offence codes -> offence group, subgroup and data.police.uk crime type."""
    codes = pd.read_csv(OFFENCE_CODES_CSV, dtype=str, keep_default_na=False)
    with duckdb.get_connection() as con:
        write_table(con, "ref.offence_codes", codes)
    return dg.MaterializeResult(metadata=table_metadata(codes, "ref.offence_codes"))


@dg.asset(key=["raw", "lsoa_boundaries"], group_name="reference", kinds={"duckdb", "geopackage"})
def lsoa_boundaries(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """LSOA polygons as published (GeoJSON, GeoPackage or shapefile), in EPSG:27700."""
    pattern = sna.load().inputs["lsoa_boundaries"]
    return dg.MaterializeResult(
        metadata=load_input(
            duckdb,
            pattern,
            "raw.lsoa_boundaries",
            "lsoa_boundaries",
            read_lsoa_boundaries,
            context.run.run_id,
        )
    )


@dg.asset(key=["ref", "area_lookup"], group_name="reference", kinds={"duckdb", "csv"})
def area_lookup(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """ONS LSOA -> ward -> district lookup (optional: without it only LSOA and county rates)."""
    pattern = sna.load().inputs["area_lookup"]
    return dg.MaterializeResult(
        metadata=load_input(
            duckdb,
            pattern,
            "ref.area_lookup",
            "area_lookup",
            read_area_lookup,
            context.run.run_id,
            single_file=True,
        )
    )


@dg.asset(key=["ref", "lsoa_vintage_lookup"], group_name="reference", kinds={"duckdb", "csv"})
def lsoa_vintage_lookup(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """ONS LSOA 2011 -> LSOA 2021 lookup with CHGIND (optional: places codes of the other vintage)."""
    pattern = sna.load().inputs["lsoa_vintage_lookup"]
    return dg.MaterializeResult(
        metadata=load_input(
            duckdb,
            pattern,
            "ref.lsoa_vintage_lookup",
            "lsoa_vintage_lookup",
            lambda paths: read_vintage_lookup(paths[0]),
            context.run.run_id,
            single_file=True,
        )
    )


@dg.asset(key=["ref", "population"], group_name="reference", kinds={"duckdb", "csv"})
def population(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """ONS small-area population estimates or Census counts as published, long: LSOA x year x sex
    x age band (ref.lsoa_population has them on the study area's LSOAs)."""
    settings = sna.load()
    return dg.MaterializeResult(
        metadata=load_input(
            duckdb,
            settings.inputs["population"],
            "ref.population",
            "population",
            lambda paths: read_population(paths[0], settings.population_year),
            context.run.run_id,
            single_file=True,
        )
    )


@dg.asset(key=["ref", "deprivation"], group_name="reference", kinds={"duckdb", "csv"})
def deprivation(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Indices of Deprivation scores, ranks and deciles by LSOA (optional input)."""
    pattern = sna.load().inputs["deprivation"]
    return dg.MaterializeResult(
        metadata=load_input(
            duckdb,
            pattern,
            "ref.deprivation",
            "deprivation",
            lambda paths: read_deprivation(paths[0]),
            context.run.run_id,
            single_file=True,
        )
    )


@dg.asset(
    key=["ref", "lsoa"],
    group_name="reference",
    kinds={"duckdb"},
    deps=[lsoa_boundaries, area_lookup, lsoa_vintage_lookup],
)
def lsoa(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The study area: each LSOA in the boundaries with its ward, district and county, and the
    run's one analysis vintage (the boundaries', checked against `geography` in the settings)."""
    settings = sna.load()
    with duckdb.get_connection() as con:
        boundaries = read_geotable(con, "raw.lsoa_boundaries")
        lookup = read_table(con, "ref.area_lookup") if settings.inputs["area_lookup"] else None
        pairs = (
            read_table(con, "ref.lsoa_vintage_lookup")
            if settings.inputs["lsoa_vintage_lookup"]
            else None
        )
        vintage = analysis_vintage(
            set(boundaries["lsoa_vintage"].dropna()),
            boundaries["lsoa_code"],
            settings.geography,
            pairs,
        )
        areas = study_area(boundaries, lookup, settings.area_code, settings.area_name)
        areas["lsoa_vintage"] = pd.Series(vintage, index=areas.index, dtype="str")
        write_table(con, "ref.lsoa", areas)
    unplaced = unplaced_lsoas(areas)
    return dg.MaterializeResult(
        metadata=table_metadata(
            areas,
            "ref.lsoa",
            districts=int(areas["district_code"].nunique()),
            wards=int(areas["ward_code"].nunique()),
            area_km2=float(round(areas["area_km2"].sum(), 1)),
            lsoas_not_in_lookup=len(unplaced),
            lsoa_vintage=vintage or "not stated",
            crs="EPSG:27700",
        )
    )
