"""Readers for LSOA 2021 reference data as published: the ONS 2011 <-> 2021 lookup with CHGIND,
Census 2021 usual residents in wide age bands, and IoD2025 with its short staged headers."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from sources._result import InputFormatError
from sources.deprivation import read_deprivation
from sources.lookups import read_vintage_lookup, vintage
from sources.population import read_population
from tests.unit.test_readers_csv import reconciles, write
from transforms.db import ensure_schema, write_table
from transforms.rates import denominators_sql

LOOKUP_HEADER = "LSOA11CD,LSOA11NM,LSOA21CD,LSOA21NM,CHGIND,LAD22CD,LAD22NM"
CENSUS_HEADER = (
    "LSOA21CD,LSOA21NM,total,age_0_24,age_0_15,age_16_24,age_25_34,age_35_49,age_50_64,age_65_plus"
)


def test_vintage_is_read_from_every_ons_header_style() -> None:
    assert vintage("LSOA11CD") == "2011" and vintage("lsoa21_code") == "2021"
    assert vintage("LSOA code (2011)") == "2011" and vintage("WD24CD") == "2024"
    assert vintage("lsoa") is None


def test_vintage_lookup_keeps_every_pair_and_rejects_repeats(tmp_path) -> None:
    lines = [
        LOOKUP_HEADER,
        "E01026419,Breckland 010A,E01026419,Breckland 010A,U,E07000143,Breckland",
        "E01026698,King's Lynn 011A,E01034768,King's Lynn 011G,S,E07000146,King's Lynn",
        "E01026698,King's Lynn 011A,E01034769,King's Lynn 011H,S,E07000146,King's Lynn",
        "E01026731,North Norfolk 006A,E01034776,North Norfolk 006E,M,E07000147,North Norfolk",
        "E01026698,King's Lynn 011A,E01034769,King's Lynn 011H,S,E07000146,King's Lynn",
        "E01026732,North Norfolk 006B,E01034776,North Norfolk 006E,Q,E07000147,North Norfolk",
    ]
    r = read_vintage_lookup(write(tmp_path / "LSOA11_LSOA21_LAD22_EW_LU.csv", lines))
    assert r.rows[["lsoa11_code", "lsoa21_code", "chgind"]].values.tolist() == [
        ["E01026419", "E01026419", "U"],
        ["E01026698", "E01034768", "S"],
        ["E01026698", "E01034769", "S"],
        ["E01026731", "E01034776", "M"],
    ]
    assert r.rejects[["line", "column"]].values.tolist() == [[6, "lsoa21_code"], [7, "chgind"]]
    assert "pair on line 4" in r.rejects.loc[0, "reason"]
    assert "not one of U, S, M, X" in r.rejects.loc[1, "reason"]
    assert reconciles(r)


def test_vintage_lookup_missing_chgind_names_the_file(tmp_path) -> None:
    path = write(tmp_path / "lu.csv", ["LSOA11CD,LSOA21CD", "E01026419,E01026419"])
    with pytest.raises(InputFormatError, match="chgind") as error:
        read_vintage_lookup(path)
    assert str(path) in str(error.value)


def test_census_2021_bands_are_persons_and_age_0_24_gives_under_25s(tmp_path) -> None:
    lines = [
        CENSUS_HEADER,
        "E01026419,Breckland 010A,1500,400,250,150,200,300,300,300",
        "E01026420,Breckland 010B,1000,300,200,100,100,200,200,200",
        "E01026421,Breckland 010C,1000,299,200,100,100,200,200,200",  # age_0_24 wrong
        "E01026422,Breckland 010D,999,300,200,100,100,200,200,200",  # total wrong
    ]
    r = read_population(write(tmp_path / "census2021_lsoa21_usual_residents_age6_EW.csv", lines))
    assert set(r.rows["year"]) == {2021}  # from the file name
    assert set(r.rows["sex"]) == {"all"}
    bands = r.rows[["age_from", "age_to"]].drop_duplicates().values.tolist()
    assert bands == [[0, 15], [16, 24], [25, 34], [35, 49], [50, 64], [65, 120]]
    assert r.rejects[["line", "column"]].values.tolist() == [[4, "age_0_24"], [5, "total"]]
    assert (
        "age_0_24 does not equal the sum of age_0_15 + age_16_24 (300)"
        in r.rejects.loc[0, "reason"]
    )
    assert reconciles(r)
    con = duckdb.connect()
    ensure_schema(con)
    write_table(con, "ref.population", r.rows.drop(columns=["_file", "_line"]))
    out = con.execute(denominators_sql(2021, "ref.population")).df().set_index("lsoa_code")
    assert out.loc["E01026419", "persons"] == 1500
    assert out.loc["E01026419", "persons_under_25"] == 400  # = age_0_24
    assert out.loc["E01026420", "persons_under_25"] == 300


def test_census_year_can_be_stated_when_the_name_has_none(tmp_path) -> None:
    path = write(tmp_path / "usual_residents.csv", [CENSUS_HEADER, "E01026419,X,10,4,2,2,1,2,1,2"])
    with pytest.raises(ValueError, match="year"):
        read_population(path)
    assert set(read_population(path, year=2021).rows["year"]) == {2021}


def test_overlapping_bands_that_do_not_add_up_are_refused(tmp_path) -> None:
    path = write(
        tmp_path / "pop2021.csv",
        ["LSOA21CD,age_0_24,age_0_15,age_10_30", "E01026419,10,5,5"],
    )
    with pytest.raises(InputFormatError, match="age bands overlap") as error:
        read_population(path)
    assert str(path) in str(error.value)


def test_iod2025_staged_headers(tmp_path) -> None:
    domains = ["IMD", "Income", "Employment", "Education", "Health", "Crime"]
    domains += ["Housing_and_Services", "Environment"]
    header = ["lsoa21_code"]
    for kind in ("decile", "rank", "score"):
        header += [f"{d}_{kind}" for d in domains]
    values = ["E01026419"] + ["3"] * 8 + ["1234"] * 8 + ["12.5"] * 8
    bad = ["E01026420"] + ["11"] + ["3"] * 7 + ["1234"] * 8 + ["12.5"] * 8
    r = read_deprivation(
        write(
            tmp_path / "imd2025_england_lsoa21.csv",
            [",".join(header), ",".join(values), ",".join(bad)],
        )
    )
    row = r.rows.iloc[0]
    assert row.lsoa_vintage == "2021"
    assert (row.imd_decile, row.imd_rank, row.imd_score) == (3, 1234, 12.5)
    assert (row.barriers_decile, row.living_environment_score) == (3, 12.5)
    assert r.rows.iloc[0].notna().all()
    # a bad decile is a cell issue: the LSOA keeps its other measures, that one becomes NULL
    assert len(r.rows) == 2 and r.rejects.empty
    assert r.cell_issues[["line", "column"]].values.tolist() == [[3, "imd_decile"]]
    assert pd.isna(r.rows.iloc[1].imd_decile) and r.rows.iloc[1].imd_rank == 1234
    assert reconciles(r)
