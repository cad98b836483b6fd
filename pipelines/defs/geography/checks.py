"""Checks on the analysis geography: every study-area LSOA has a denominator."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.geography.assets import (
    analysis_vintage_of,
    denominator_year,
    lsoa_population,
    vintage_lookup,
)
from pipelines.resources import SNASettings
from transforms.geography import is_new_2021_code

EXAMPLES = 5


@dg.asset_check(asset=lsoa_population, blocking=True)
def every_lsoa_has_population(sna: SNASettings, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """A rate needs a denominator: every study-area LSOA must have a population for the year the
    rates use. The message counts and names the LSOAs without one and says the likely cause."""
    settings = sna.load()
    with duckdb.get_connection() as con:
        year = denominator_year(con, settings)
        vintage = analysis_vintage_of(con)
        missing = con.execute(
            "SELECT lsoa_code, lsoa_name FROM ref.lsoa WHERE lsoa_code NOT IN"
            " (SELECT lsoa_code FROM ref.lsoa_population WHERE year = ?) ORDER BY 1",
            [year],
        ).fetchall()
        total = con.execute("SELECT count(*) FROM ref.lsoa").fetchone()[0]
        file_codes = [
            r[0] for r in con.execute("SELECT DISTINCT lsoa_code FROM ref.population").fetchall()
        ]
    if not missing:
        return dg.AssetCheckResult(
            passed=True, metadata={"lsoas_without_population": 0, "population_year": year}
        )
    named = ", ".join(f"{code} ({name})" if name else code for code, name in missing[:EXAMPLES])
    more = f" and {len(missing) - EXAMPLES:,} more" if len(missing) > EXAMPLES else ""
    description = (
        f"{len(missing):,} of {total:,} LSOAs have no population for {year}: {named}{more}."
        + _cause(vintage, [c for c, _ in missing], file_codes, vintage_lookup(settings) is not None)
    )
    return dg.AssetCheckResult(
        passed=False,
        metadata={
            "lsoas_without_population": len(missing),
            "lsoas_in_area": int(total),
            "population_year": year,
            "examples": ", ".join(code for code, _ in missing[:20]),
        },
        description=description,
    )


def _cause(vintage: str | None, missing: list[str], file_codes: list[str], lookup: bool) -> str:
    """The likely reason LSOAs lack a population, and the fix."""
    new_missing = sum(is_new_2021_code(c) for c in missing)
    new_in_file = sum(is_new_2021_code(c) for c in file_codes)
    if vintage == "2021" and new_missing and not new_in_file:
        fix = "" if lookup else " or give inputs.lsoa_vintage_lookup to convert it"
        return (
            f" {new_missing:,} of them are LSOAs created in 2021 and the population file has no"
            f" LSOA 2021 codes: it is on LSOA 2011. Give population on LSOA 2021{fix}."
        )
    if vintage == "2011" and new_in_file:
        fix = "" if lookup else " or give inputs.lsoa_vintage_lookup to convert it"
        return (
            f" The population file has {new_in_file:,} LSOA 2021 codes: it is on LSOA 2021 and the"
            f" boundaries on LSOA 2011. Give population on LSOA 2011{fix}."
        )
    return " Is the population file for the same area and year as the boundaries?"
