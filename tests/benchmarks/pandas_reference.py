"""Reference (b): the same counts and rates as an analyst would write them in pandas + geopandas.

Written once, plainly, the way an experienced analyst would do the job in a notebook: read every
file (all its columns, with pandas' defaults, as the pipeline must read them all to validate
them), keep the columns needed, parse dates, filter to serious violence, place the crimes in LSOAs
with a point-in-polygon join, group, and divide by the population. Nothing is tuned for speed and
nothing is made slow on purpose. It computes, per financial year:

- from the force extract, the local definition (every category's Home Office codes): counts and
  rates per 1,000 residents by LSOA, district and the whole area, crimes placed by their
  Easting/Northing in the boundary polygons (rows without coordinates are not placed);
- from data.police.uk, the proxy (Violence and sexual offences + Robbery + Possession of weapons)
  by the LSOA code the file gives, for LSOAs in the boundaries.

Unlike the pipeline it keeps no quarantine, no reconciliation, no confidence intervals and no
audit: it is the floor an SNA pipeline is compared with. Run by the harness in a child process:
`python -m tests.benchmarks.pandas_reference SETTINGS COUNTS.csv RESULT.json`.
"""

from __future__ import annotations

import glob
import json
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import yaml


def financial_year(dates: pd.Series) -> pd.Series:
    """'2022-23' for any date from 1 April 2022 to 31 March 2023."""
    start = dates.dt.year - (dates.dt.month < 4)
    return start.astype(str) + "-" + ((start + 1) % 100).astype(str).str.zfill(2)


def rates(counts: pd.DataFrame, population: pd.DataFrame, level: str, source: str) -> pd.DataFrame:
    """Counts by area and year (every area of the population, zeros included) and rate per 1,000."""
    grid = population.merge(pd.DataFrame({"period": counts["period"].unique()}), how="cross")
    out = grid.merge(counts, on=["area_code", "period"], how="left")
    out["count"] = out["count"].fillna(0).astype(int)
    out["rate_per_1000"] = out["count"] / out["population"] * 1000
    return out.assign(area_level=level, source=source)


def all_levels(crimes: pd.DataFrame, people: pd.DataFrame, source: str) -> pd.DataFrame:
    """LSOA, district and area counts and rates from crimes with lsoa_code and period."""
    crimes = crimes.merge(people[["lsoa_code", "district_code"]], on="lsoa_code")
    crimes["area_code"] = "area"
    out = []
    for level, column in (
        ("lsoa", "lsoa_code"),
        ("district", "district_code"),
        ("area", "area_code"),
    ):
        counts = crimes.groupby([column, "period"]).size().rename("count").reset_index()
        counts = counts.rename(columns={column: "area_code"})
        population = (
            people.assign(area_code="area").groupby(column)["persons"].sum().rename("population")
        )
        population = population.reset_index().rename(columns={column: "area_code"})
        out.append(rates(counts, population, level, source))
    return pd.concat(out, ignore_index=True)


def run(settings_path: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock
        clock = now

    settings = yaml.safe_load(settings_path.read_text(encoding="utf-8"))
    inputs = settings["inputs"]
    definition = yaml.safe_load(Path(settings["definition"]).read_text(encoding="utf-8"))
    sv_codes = {c for category in definition["categories"].values() for c in category["codes"]}
    proxy = definition["police_uk_proxy"]["headline"]
    proxy_types = {t for measure in proxy.values() for t in measure["crime_types"]}

    # reference data: boundaries, districts, population
    lsoas = gpd.read_file(inputs["lsoa_boundaries"]).to_crs("EPSG:27700")
    lsoas = lsoas.rename(columns={"LSOA21CD": "lsoa_code"})[["lsoa_code", "geometry"]]
    lookup = pd.read_csv(inputs["area_lookup"], encoding="utf-8-sig")
    lookup = lookup.rename(columns={"LSOA21CD": "lsoa_code", "LAD24CD": "district_code"})
    population = pd.read_csv(inputs["population"])
    code_column = next(c for c in population.columns if "LSOA" in c and "Code" in c)
    age_columns = [c for c in population.columns if c[0] in "FM" and c[1].isdigit()]
    people = pd.DataFrame(
        {
            "lsoa_code": population[code_column],
            "persons": population[age_columns].sum(axis=1),
        }
    )
    people = people[people["lsoa_code"].isin(lsoas["lsoa_code"])]
    people = people.merge(lookup[["lsoa_code", "district_code"]], on="lsoa_code", how="left")
    lap("read reference data")

    # force extract: local definition, placed by point in polygon
    columns = ["Offence Date From", "HO Offence Code", "Easting", "Northing"]
    extract = pd.concat(
        [
            pd.read_csv(f, dtype={"HO Offence Code": str})[columns]
            for f in sorted(glob.glob(inputs["police_extract"]))
        ],
        ignore_index=True,
    )
    lap("read force extract")
    extract["date"] = pd.to_datetime(
        extract["Offence Date From"], format="%d/%m/%Y", errors="coerce"
    )
    extract["Easting"] = pd.to_numeric(extract["Easting"], errors="coerce")
    extract["Northing"] = pd.to_numeric(extract["Northing"], errors="coerce")
    sv = extract[extract["HO Offence Code"].isin(sv_codes) & extract["date"].notna()].copy()
    sv = sv.dropna(subset=["Easting", "Northing"])
    sv["period"] = financial_year(sv["date"])
    lap("filter serious violence")
    points = gpd.GeoDataFrame(
        sv[["period"]], geometry=gpd.points_from_xy(sv["Easting"], sv["Northing"]), crs="EPSG:27700"
    )
    placed = gpd.sjoin(points, lsoas, how="inner", predicate="within")
    lap("point in polygon")
    local = all_levels(pd.DataFrame(placed[["lsoa_code", "period"]]), people, "police")
    lap("group and divide")

    # data.police.uk: proxy, by the LSOA code given
    uk = pd.concat(
        [
            pd.read_csv(f)[["Month", "LSOA code", "Crime type"]]
            for f in sorted(glob.glob(inputs["police_uk"]))
        ],
        ignore_index=True,
    )
    lap("read police.uk")
    uk = uk[uk["Crime type"].isin(proxy_types)].copy()
    uk["period"] = financial_year(pd.to_datetime(uk["Month"], format="%Y-%m"))
    uk = uk.rename(columns={"LSOA code": "lsoa_code"})
    lap("filter serious violence")
    open_data = all_levels(uk[["lsoa_code", "period"]], people, "police_uk")
    lap("group and divide")
    return pd.concat([local, open_data], ignore_index=True), timings


def main(settings: Path, counts_csv: Path, out: Path) -> int:
    started = time.perf_counter()
    table, timings = run(settings)
    table.to_csv(counts_csv, index=False)
    result = {"seconds": time.perf_counter() - started, "steps": timings, "rows_out": len(table)}
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
