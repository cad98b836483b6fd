"""Real Norfolk open data on LSOA 2021, and across the 2011/2021 boundary change.

(a) police.uk 2024-01..04 (LSOA 2021 codes) on LSOA 2021 boundaries, Census 2021 population and
    IoD2025; (b) 2022 (LSOA 2011 codes) and 2024 together on LSOA 2021 through the ONS lookup;
    compared with (c) (test_real_norfolk.py): the 2022 county and district counts are equal, since
    LSOAs nest in districts and nothing may be lost in conversion. Expectations come from the files
    (tests/integration/conftest.py), never from the pipeline.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from shapely.geometry import Point

from sources.deprivation import read_deprivation
from sources.lookups import read_vintage_lookup
from sources.population import read_population
from tests.integration.conftest import (
    LSOA11_FILES,
    LSOA21_FILE,
    Geography,
    RealRun,
    police_rows,
    real_run,
    truth_on,
)
from transforms.db import write_table
from transforms.geography import convert_deprivation, convert_population
from transforms.rates import denominators_sql

pytestmark = pytest.mark.integration
CENSUS = "lsoa21/population/census2021_lsoa21_usual_residents_age6_EW.csv"
IOD2025 = "lsoa21/iod2025/imd2025_england_lsoa21.csv"
HEADLINE = "measure = 'all_serious_violence'"


@pytest.fixture(scope="module")
def truth_2024(geography: Geography, shared_data: Path):
    return truth_on(geography, shared_data, "2024-*/*-norfolk-street.csv", "2021")


@pytest.fixture(scope="module")
def truth_both(geography: Geography, shared_data: Path):
    return truth_on(geography, shared_data, "202[24]-*/*-norfolk-street.csv", "2021")


@pytest.fixture(scope="module")
def census(shared_data: Path, geography: Geography) -> dict[str, dict[str, int]]:
    with (shared_data / CENSUS).open(encoding="utf-8-sig", newline="") as handle:
        return {
            row["LSOA21CD"]: {k: int(v) for k, v in row.items() if k.startswith(("total", "age"))}
            for row in csv.DictReader(handle)
            if row["LSOA21CD"] in geography.lsoa21
        }


def counts(run: RealRun, level: str, period: str) -> dict[str, int]:
    return dict(
        run.query(
            f"SELECT area_code, count FROM marts.sv_rates WHERE area_level = '{level}'"
            f" AND {HEADLINE} AND period = '{period}'"
        )
    )


# ------------------------------------------------------------------------------ (a) 2024


def test_a_runs_with_every_check_passing(run_a: RealRun) -> None:
    assert run_a.result.success and run_a.failed() == {}


def test_a_county_and_districts_equal_the_files(run_a: RealRun, truth_2024) -> None:
    assert counts(run_a, "county", "2024") == {"E10000020": truth_2024.county["2024"]}
    assert truth_2024.county["2024"] == 9_291
    assert counts(run_a, "district", "2024") == {d: n for (p, d), n in truth_2024.district.items()}
    coverage = dict(
        run_a.query("SELECT status, sum(incidents) FROM marts.geography_coverage GROUP BY 1")
    )
    assert coverage == {s: n for (_, s), n in truth_2024.status.items()}
    placements = dict(
        run_a.query("SELECT placement, sum(incidents) FROM marts.geography_coverage GROUP BY 1")
    )
    assert placements == {"code": 21_121, "outside_area": 182, "no_location": 403}


def test_a_denominators_are_census_2021_as_published(run_a: RealRun, census) -> None:
    [(population, months, period_months, conversion)] = run_a.query(
        "SELECT population, months, period_months, population_conversion FROM marts.sv_rates"
        f" WHERE area_level = 'county' AND {HEADLINE}"
    )
    assert population == sum(r["total"] for r in census.values()) == 916_111
    assert months == 4 and period_months == "2024-01 to 2024-04 (4 of 12 months)"
    assert conversion == "as_published"
    lsoa = dict(
        run_a.query(
            f"SELECT area_code, population FROM marts.sv_rates WHERE area_level = 'lsoa' AND {HEADLINE}"
        )
    )
    assert lsoa == {code: r["total"] for code, r in census.items()}


def test_a_under_25_denominators_come_from_age_0_24(run_a: RealRun, census) -> None:
    con = duckdb.connect(str(run_a.settings.database), read_only=True)
    try:
        young = con.execute(denominators_sql(2021)).df().set_index("lsoa_code")["persons_under_25"]
    finally:
        con.close()
    assert young.to_dict() == {code: r["age_0_24"] for code, r in census.items()}
    assert int(young.sum()) == 237_625


def test_a_deprivation_is_iod2025_as_published(run_a: RealRun, shared_data: Path) -> None:
    with (shared_data / IOD2025).open(encoding="utf-8-sig", newline="") as handle:
        published = {row["lsoa21_code"]: row for row in csv.DictReader(handle)}
    rows = run_a.query(
        "SELECT lsoa_code, imd_score, imd_rank, imd_decile, barriers_decile,"
        " living_environment_score, conversion FROM ref.lsoa_deprivation"
    )
    assert len(rows) == 552
    for code, score, rank, decile, barriers, environment, conversion in rows:
        row = published[code]
        assert (score, rank, decile) == (
            float(row["IMD_score"]),
            int(row["IMD_rank"]),
            int(row["IMD_decile"]),
        )
        assert barriers == int(row["Housing_and_Services_decile"])
        assert environment == float(row["Environment_score"])
        assert conversion == "as_published"


# ------------------------------------------------------------------- (b) 2022 + 2024


def test_b_mixed_vintages_pass_with_the_lookup(run_b: RealRun) -> None:
    assert run_b.result.success and run_b.failed() == {}


def test_b_2022_county_and_districts_equal_c_exactly(run_b: RealRun, run_c: RealRun) -> None:
    for level in ("county", "district"):
        assert counts(run_b, level, "2022") == counts(run_c, level, "2022")
    every = (
        "SELECT area_code, measure, count FROM marts.sv_rates"
        " WHERE area_level IN ('county', 'district') AND period = '2022' ORDER BY 1, 2"
    )
    assert run_b.query(every) == run_c.query(every)  # every measure, not only the headline


def test_b_equals_the_files_on_both_years(run_b: RealRun, run_a: RealRun, truth_both) -> None:
    assert counts(run_b, "county", "2022") == {"E10000020": truth_both.county["2022"]}
    assert counts(run_b, "district", "2022") == {
        d: n for (p, d), n in truth_both.district.items() if p == "2022"
    }
    for level in ("county", "district", "lsoa"):
        assert counts(run_b, level, "2024") == counts(run_a, level, "2024")


def test_b_split_and_merged_lsoas_add_up_to_their_2011_counts(
    run_b: RealRun, geography: Geography, truth_both
) -> None:
    """Each family of LSOAs the change split or merged holds exactly its LSOA 2011 count."""
    got = Counter()
    for code, n in counts(run_b, "lsoa", "2022").items():
        got[geography.block(code)] += n
    assert dict(got) == {b: n for (p, b), n in truth_both.block.items() if p == "2022"} | {
        b: 0 for b in got if ("2022", b) not in truth_both.block
    }
    assert sum("+" in b for b in got) == 13  # Norfolk's 13 split LSOAs; its 3 merged ones are
    # single LSOA 2021 codes whose 2011 count is the sum of their 2 parts


def test_b_splits_are_placed_by_each_crimes_point(
    run_b: RealRun, geography: Geography, shared_data: Path
) -> None:
    """Independently, in the files' own WGS84: a point inside one candidate goes there; a point in
    none (the boundaries are super-generalised) goes to a candidate as lookup_split_nearest."""
    placed = {
        (file, line): (code, how)
        for file, line, code, how in run_b.query(
            "SELECT _file, _line, lsoa_code, placement FROM core.incidents"
            " WHERE placement LIKE 'lookup_split%'"
        )
    }
    seen = Counter()
    for path, rows in police_rows(shared_data, "2022-*/*-norfolk-street.csv"):
        for line, row in enumerate(rows, start=2):
            kids = geography.children.get(row["LSOA code"], [])
            if len(kids) < 2 or row["LSOA code"] not in geography.lsoa11:
                continue
            point = Point(float(row["Longitude"]), float(row["Latitude"]))
            inside = [k for k in kids if geography.polygons21[k].contains(point)]
            code, how = placed[(path, line)]
            if inside:
                assert (code, how) == (inside[0], "lookup_split_point")
            else:
                assert how == "lookup_split_nearest" and code in kids
            seen[how] += 1
    assert seen == {"lookup_split_point": 5_645, "lookup_split_nearest": 537}


def test_b_placement_is_counted_by_method_and_period(run_b: RealRun, truth_both) -> None:
    rows = run_b.query(
        "SELECT period, placement, sum(incidents) FROM marts.geography_coverage GROUP BY ALL"
    )
    got = Counter()
    for period, placement, n in rows:
        got[(period, "split" if placement.startswith("lookup_split") else placement)] += n
    expected = {
        (p, {"unchanged": "lookup_unchanged", "merged": "lookup_merged"}.get(g, g)): n
        for (p, g), n in truth_both.placement.items()
    }
    assert dict(got) == expected
    assert expected[("2022", "lookup_unchanged")] == 64_600
    assert expected[("2022", "lookup_merged")] == 614
    assert expected[("2024", "code")] == 21_121


def test_b_part_years_are_marked_and_not_compared(run_b: RealRun) -> None:
    rows = run_b.query(
        "SELECT period, months, period_months, vs_england FROM marts.sv_rates"
        f" WHERE area_level = 'county' AND {HEADLINE} ORDER BY period"
    )
    assert rows == [
        ("2022", 11, "2022-01 to 2022-11 (11 of 12 months)", None),
        ("2024", 4, "2024-01 to 2024-04 (4 of 12 months)", None),
    ]


# ----------------------------------------------- the analyst's case: 2024 on LSOA 2011


@pytest.fixture(scope="module")
def mismatch(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> RealRun:
    """2024 files (LSOA 2021 codes) against LSOA 2011 boundaries, no lookup, threshold 0.15."""
    return real_run(
        shared_data,
        tmp_path_factory.mktemp("real-mismatch"),
        "settings-norfolk-policeuk-2022.yaml",
        geography="lsoa11",
        max_outside_area_share=0.15,
        inputs={"police_uk": "../shared/data/policeuk-street/2024-*/*-norfolk-street.csv"},
    )


def test_vintage_mismatch_stops_the_run_naming_period_share_and_fix(
    mismatch: RealRun, shared_data: Path
) -> None:
    lsoa11 = set()
    for path in (shared_data / LSOA11_FILES).glob("*.json"):
        lsoa11 |= {f["properties"]["LSOA11CD"] for f in json.loads(path.read_text())["features"]}
    located = outside = 0
    for _, rows in police_rows(shared_data, "2024-*/*-norfolk-street.csv"):
        for row in rows:
            code = row["LSOA code"].strip()
            located += bool(code)
            outside += bool(code) and code not in lsoa11
    assert (outside, located) == (2_357, 21_303)  # 11.1%: the analyst's "2024 alone"
    failed = mismatch.failed()
    assert "most_incidents_fall_in_the_area" not in failed  # 11.1% < the raised 15% ...
    line = failed["codes_of_the_other_vintage_are_placed"]  # ... and still nothing is lost
    assert line.startswith("2024 (police_uk): 2,183 incidents (10.2% of located) carry LSOA 2021")
    assert line.endswith("give LSOA 2021 boundaries or `inputs.lsoa_vintage_lookup`")
    assert not mismatch.settings.output_dir.exists()


# ------------------------------------- LSOA 2011 reference data converted onto LSOA 2021


def test_lsoa_2011_population_and_iod2019_convert_onto_lsoa_2021(
    shared_data: Path, geography: Geography
) -> None:
    """Mid-2019 population (LSOA 2011) on LSOA 2021 keeps Norfolk's 907,760 people exactly; every
    LSOA 2021 gets a population and an IMD score, with the method stated."""
    from sources.boundaries import read_lsoa_boundaries

    con = duckdb.connect()
    con.execute("CREATE SCHEMA ref")
    boundaries = read_lsoa_boundaries(shared_data / LSOA21_FILE).rows
    write_table(con, "ref.lsoa", boundaries.drop(columns=["_file", "_line"]))
    lookup = read_vintage_lookup(shared_data / "lsoa21/lookups/LSOA11_LSOA21_LAD22_EW_LU.csv")
    write_table(con, "ref.lsoa_vintage_lookup", lookup.rows)
    population = read_population(shared_data / "population/2019_population.csv").rows
    write_table(con, "ref.population", population)
    iod = read_deprivation(
        shared_data / "iod2019/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
    ).rows
    write_table(con, "ref.deprivation", iod)
    people = convert_population(con, vintage="2021", lookup="ref.lsoa_vintage_lookup")
    convert_deprivation(con, vintage="2021", lookup="ref.lsoa_vintage_lookup")
    table = con.execute("SELECT * FROM ref.lsoa_population").df()
    assert set(table["lsoa_code"]) == set(geography.lsoa21)
    assert table["persons"].sum() == 907_760
    assert dict(people.values.tolist()) == {
        "as_published": 519,
        "lookup_merged": 3,
        "lookup_split_area_share": 30,
    }
    imd = con.execute("SELECT lsoa_code, imd_rank, conversion FROM ref.lsoa_deprivation").df()
    assert set(imd["lsoa_code"]) == set(geography.lsoa21)
    by_method = imd.groupby("conversion")["imd_rank"].apply(lambda r: r.notna().all())
    assert by_method.to_dict() == {
        "as_published": True,
        "lookup_merged_mean": False,  # no national rank for a merged area
        "lookup_split_inherited": True,
    }
    # A split LSOA inherits its 2011 parent's rank: E01026698 (King's Lynn 011A) -> 011G, 011H
    parent = iod.set_index("lsoa_code").loc["E01026698", "imd_rank"]
    kids = imd.set_index("lsoa_code").loc[["E01034768", "E01034769"], "imd_rank"]
    assert (kids == parent).all()


# --------------------------------------------------------------------- readers, real files


def test_real_vintage_lookup(shared_data: Path) -> None:
    r = read_vintage_lookup(shared_data / "lsoa21/lookups/LSOA11_LSOA21_LAD22_EW_LU.csv")
    assert len(r.rows) == 35_795 and r.rejects.empty
    assert r.rows["chgind"].value_counts().to_dict() == {"U": 33_647, "S": 1_900, "M": 239, "X": 9}


def test_real_census_2021(shared_data: Path, census) -> None:
    r = read_population(shared_data / CENSUS)
    assert len(r.rows) == 35_672 * 6 and r.rejects.empty and set(r.rows["year"]) == {2021}
    assert r.rows["persons"].sum() == 59_597_114  # England and Wales, with ONS cell-key noise
    norfolk = r.rows[r.rows["lsoa_code"].isin(census)]
    assert norfolk["persons"].sum() == 916_111
