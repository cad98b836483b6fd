"""ONS lookups, population estimates and Indices of Deprivation: synthetic shapes and real files."""

from __future__ import annotations

import pandas as pd
import pytest

from sources.boundaries import read_lsoa_boundaries
from sources.deprivation import COLUMNS as DEP_COLUMNS
from sources.deprivation import read_deprivation
from sources.lookups import read_area_lookup
from sources.population import read_population
from tests.unit.test_readers_csv import reconciles, write

NORFOLK = [f"E0700014{i}" for i in range(3, 10)]

# ------------------------------------------------------------------ lookups


def test_lookup_demo_shape_and_repeats(tmp_path):
    lines = [
        "LSOA21CD,LSOA21NM,WD24CD,WD24NM,LAD24CD,LAD24NM",
        "E01900001,Demo 001A,E05900001,Castle,E07900001,Demo District",
        "E01900002,Demo 001B,E05900001,Castle,E07900001,Demo District",
        "E01900001,Demo 001A,E05900002,Abbey,E07900001,Demo District",
        "",
    ]
    r = read_area_lookup(write(tmp_path / "LSOA21_WD24_LAD24_EW_LU.csv", lines))
    assert list(r.rows["lsoa_code"]) == ["E01900001", "E01900002"]
    assert set(r.rows["lsoa_vintage"]) == {"2021"} and set(r.rows["ward_vintage"]) == {"2024"}
    assert r.rejects.loc[0, "line"] == 4 and "line 2" in r.rejects.loc[0, "reason"]
    assert reconciles(r)


def test_real_lookups(shared_data):
    for name, ward_year in [
        ("LSOA11_WD20_LAD20_EW_LU.csv", "2020"),
        ("LSOA11_WD21_LAD21_EW_LU.csv", "2021"),
    ]:
        r = read_area_lookup(shared_data / "ons-lookups" / name)
        # England and Wales had 34,753 LSOAs (2011): 32,844 + 1,909
        assert len(r.rows) == 34_753 and r.rejects.empty and reconciles(r)
        assert r.rows.columns[:8].tolist() == [
            "lsoa_code", "lsoa_name", "lsoa_vintage", "ward_code", "ward_name", "ward_vintage",
            "district_code", "district_name",
        ]  # fmt: skip
        assert set(r.rows["lsoa_vintage"]) == {"2011"} and set(r.rows["ward_vintage"]) == {
            ward_year
        }
        norfolk = r.rows[r.rows["district_code"].isin(NORFOLK)]
        assert len(norfolk) == 538 and norfolk["district_code"].nunique() == 7
        assert not r.rows["lsoa_code"].str.startswith("\ufeff").any()


# ------------------------------------------------------------------ population


def test_population_single_year_of_age(tmp_path):
    ages = list(range(91))
    header = '"LAD 2023 Code","LAD 2023 Name","LSOA 2021 Code","LSOA 2021 Name",Total,' + ",".join(
        [f"F{a}" for a in ages] + [f"M{a}" for a in ages]
    )
    f = [1] * 91  # 91 women, one at each age (the last meaning 90+)
    m = [10] * 90 + [4]  # 904 men
    good = f'E07900001,Demo,E01900001,Demo 001A,"{91 + 904:,}",' + ",".join(map(str, f + m))
    wrong = "E07900001,Demo,E01900002,Demo 001B,5," + ",".join(map(str, f + m))
    r = read_population(write(tmp_path / "sapelsoasyoa2022.csv", [header, good, wrong]))
    rows = r.rows
    assert len(rows) == 182 and set(rows["year"]) == {2022} and reconciles(r)
    assert rows["persons"].dtype == "Int64" and rows["persons"].sum() == 995
    top = rows[(rows["sex"] == "F") & (rows["age_from"] == 90)]
    assert top["age_to"].tolist() == [120]
    f40 = rows[(rows["sex"] == "M") & (rows["age_from"] == 40)]
    assert f40[["age_to", "persons"]].values.tolist() == [[40, 10]]
    assert r.rejects[["line", "column", "value"]].values.tolist() == [[3, "total", "5"]]
    assert "sum of the age/sex columns (995)" in r.rejects.loc[0, "reason"]


def test_population_year_rules(tmp_path):
    path = write(tmp_path / "mid_estimates.csv", ["lsoa,pop", 'E01026791,"1,954"'])
    with pytest.raises(ValueError, match="year"):
        read_population(path)
    r = read_population(path, year=2020)
    assert r.rows[
        ["lsoa_code", "year", "sex", "age_from", "age_to", "persons"]
    ].values.tolist() == [["E01026791", 2020, "all", 0, 120, 1954]]
    col = write(tmp_path / "p.csv", ["Mid-Year,LSOA Code,All Ages", "2021,E01026791,10"])
    assert read_population(col).rows["year"].tolist() == [2021]


def test_population_2019_norfolk(shared_data):
    r = read_population(shared_data / "population" / "2019_population.csv")
    assert set(r.rows["year"]) == {2019} and set(r.rows["sex"]) == {"all"} and reconciles(r)
    # The file ends with a "Grand Total" row: not an area, so it is rejected, not loaded.
    assert r.rejects["value"].tolist() == ["Grand Total"]
    codes = read_lsoa_boundaries(
        sorted((shared_data / "uk-geojson-norfolk/json/statistical/eng/lsoa_by_lad").glob("*.json"))
    ).rows["lsoa_code"]
    norfolk = r.rows[r.rows["lsoa_code"].isin(codes)]
    assert len(norfolk) == 538
    assert norfolk["persons"].sum() == 907_760  # ONS mid-2019 estimate for Norfolk


def test_population_2015_broad_bands(shared_data):
    r = read_population(shared_data / "population" / "pop_mid_2015.csv")
    rows = r.rows
    assert (
        reconciles(r) and r.loads.loc[0, "data_lines"] == 35_672
    )  # LSOA 2021 in England and Wales
    assert len(rows) == 35_672 * 10 and set(rows["year"]) == {2015}
    bands = rows[["sex", "age_from", "age_to"]].drop_duplicates().values.tolist()
    assert bands[:5] == [["F", 0, 15], ["F", 16, 29], ["F", 30, 44], ["F", 45, 64], ["F", 65, 120]]
    first = rows[rows["_line"] == 2]
    assert first["persons"].sum() == 2005  # E01011949: the file's Total on line 2
    # England and Wales mid-2015 population was about 57.9 million
    assert rows["persons"].sum() == pytest.approx(57.9e6, rel=0.01)


# ------------------------------------------------------------------ deprivation


def test_deprivation_file7_style_headers(tmp_path):
    doms = [
        ("Income Score (rate)", "Income"),
        ("Employment Score (rate)", "Employment"),
        ("Education, Skills and Training Score", "Education, Skills and Training"),
        ("Health Deprivation and Disability Score", "Health Deprivation and Disability"),
        ("Crime Score", "Crime"),
        ("Barriers to Housing and Services Score", "Barriers to Housing and Services"),
        ("Living Environment Score", "Living Environment"),
    ]
    cols = [
        "LSOA code (2021)", "LSOA name (2021)", "Local Authority District code (2024)",
        "Local Authority District name (2024)", "Index of Multiple Deprivation (IMD) Score",
        "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
        "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
    ]  # fmt: skip
    for score, name in doms:
        cols += [
            score,
            f"{name} Rank (where 1 is most deprived)",
            f"{name} Decile (where 1 is most deprived 10% of LSOAs)",
        ]
    header = ",".join(f'"{c}"' for c in cols)
    vals = ["E01900001", "Demo 001A", "E07900001", "Demo", "34.5", '"1,234"', "1"] + [
        "0.2",
        "99",
        "2",
    ] * 7
    bad = ["E01900002", "Demo 001B", "E07900001", "Demo", "x", "5", "11"] + ["0.2", "99", "2"] * 7
    r = read_deprivation(
        write(tmp_path / "demo_iod2025_file7.csv", [header, ",".join(vals), ",".join(bad)])
    )
    row = r.rows.iloc[0]
    assert list(r.rows.columns) == [*DEP_COLUMNS, "_file", "_line"]
    assert (row.lsoa_vintage, row.imd_score, row.imd_rank, row.imd_decile) == (
        "2021",
        34.5,
        1234,
        1,
    )
    assert row.living_environment_decile == 2 and row.education_score == 0.2
    assert r.rows.iloc[0].notna().all()
    # bad cells are quarantined, not the LSOA: its other measures are still good
    assert len(r.rows) == 2 and r.rejects.empty and reconciles(r)
    second = r.rows.iloc[1]
    assert pd.isna(second.imd_score) and pd.isna(second.imd_decile) and second.imd_rank == 5
    issues = r.cell_issues.set_index("column")
    assert issues.loc["imd_score", ["line", "value", "reason"]].tolist() == [3, "x", "not a number"]
    assert issues.loc["imd_decile", ["value", "reason"]].tolist() == ["11", "not a decile 1 to 10"]


def test_iod2019_file1_and_file2(shared_data):
    f1 = read_deprivation(
        shared_data / "iod2019" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
    )
    assert len(f1.rows) == 32_844 and f1.rejects.empty and reconciles(f1)  # English LSOAs (2011)
    e1 = f1.rows.set_index("lsoa_code").loc["E01000001"]
    assert (e1.imd_rank, e1.imd_decile, e1.lsoa_vintage) == (29199, 9, "2011")
    assert f1.rows["imd_rank"].min() == 1 and f1.rows["imd_rank"].max() == 32_844
    # The CSV conversion agrees with MHCLG's original workbook (which has 26 tied ranks).
    xlsx = pd.read_excel(
        shared_data / "iod2019" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx",
        sheet_name="IMD2019",
        usecols=[0, 4],
    )
    original = xlsx.set_index(xlsx.columns[0]).iloc[:, 0]
    assert f1.rows.set_index("lsoa_code")["imd_rank"].astype("int64").eq(original).all()
    assert f1.rows["imd_score"].isna().all()  # File 1 has no scores
    f2 = read_deprivation(
        shared_data / "iod2019" / "File_2_-_IoD2019_Domains_of_Deprivation.csv.gz"
    )
    assert len(f2.rows) == 32_844 and reconciles(f2)
    for d in (
        "income",
        "employment",
        "education",
        "health",
        "crime",
        "barriers",
        "living_environment",
    ):
        assert f2.rows[f"{d}_decile"].value_counts().sort_index().index.tolist() == list(
            range(1, 11)
        )
    same = f2.rows.set_index("lsoa_code")["imd_rank"].eq(f1.rows.set_index("lsoa_code")["imd_rank"])
    assert same.all()


def test_mysociety_composite(shared_data):
    r = read_deprivation(shared_data / "mysociety-composite-imd" / "UK_IMD_E.csv")
    assert len(r.rows) == 32_844 and reconciles(r)
    assert r.rows["lsoa_code"].str.startswith("E01").all()
    assert (r.rejects["reason"] == "not an English IoD area").all()
    assert len(r.rejects) == r.loads.loc[0, "data_lines"] - 32_844
    e1 = r.rows.set_index("lsoa_code").loc["E01000001"]
    # IoD2019: E01000001 IMD score 6.208, income 0.007, employment 0.010, decile 9
    assert e1.imd_score == pytest.approx(6.208)
    assert e1.income_score == pytest.approx(0.007) and e1.employment_score == pytest.approx(0.010)
    assert e1.imd_decile == 9 and pd.isna(e1.imd_rank)
