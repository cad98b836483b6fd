"""Reference data: the local definition, offence codes, boundaries, lookups, population, deprivation."""

import json

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from pipelines.factory import build_input
from pipelines.metadata import table_metadata
from pipelines.resources import SNASettings
from pipelines.settings import PROJECT_ROOT
from sources.registry import INPUTS
from transforms.areas import study_area, unplaced_lsoas
from transforms.db import read_geotable, read_table, write_table
from transforms.definition import load_definition

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


# The reference inputs (boundaries, lookup, population, deprivation), from the input registry.
defs_by_input = {spec.key: build_input(spec) for spec in INPUTS if spec.group == "reference"}
lsoa_boundaries = defs_by_input["lsoa_boundaries"][0]
area_lookup = defs_by_input["area_lookup"][0]
population = defs_by_input["population"][0]
deprivation = defs_by_input["deprivation"][0]
input_checks = [check for built in defs_by_input.values() for check in built[1:]]


@dg.asset(
    key=["ref", "lsoa"],
    group_name="reference",
    kinds={"duckdb"},
    deps=[lsoa_boundaries, area_lookup],
)
def lsoa(sna: SNASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The study area: each LSOA in the boundaries with its ward, district and county."""
    settings = sna.load()
    with duckdb.get_connection() as con:
        boundaries = read_geotable(con, "raw.lsoa_boundaries")
        lookup = read_table(con, "ref.area_lookup") if settings.inputs["area_lookup"] else None
        areas = study_area(boundaries, lookup, settings.area_code, settings.area_name)
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
            crs="EPSG:27700",
        )
    )
