"""Monthly trends, rolling sums and year-on-year tests when a year has no data at all."""

from __future__ import annotations

import duckdb
import pandas as pd

from transforms.measures import asb_specs
from transforms.trends import build_trends, year_on_year


def con_with(months: dict[str, int]) -> duckdb.DuckDBPyConnection:
    """One LSOA in one district; `months[YYYY-MM]` police.uk ASB rows in that month."""
    con = duckdb.connect()
    for schema in ("core", "ref", "build"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        "CREATE TABLE ref.lsoa AS SELECT 'E01000001' AS lsoa_code, 'E07000001' AS district_code,"
        " 'D' AS district_name, 'E10000001' AS county_code, 'C' AS county_name"
    )
    rows = [
        ("police_uk", pd.Timestamp(f"{m}-01"), "E01000001", "Anti-social behaviour")
        for m, n in months.items()
        for _ in range(n)
    ]
    frame = pd.DataFrame(rows, columns=["source", "occurred_month", "lsoa_code", "crime_type"])
    con.register("_rows", frame)
    con.execute(
        "CREATE TABLE core.incidents AS SELECT source, CAST(occurred_month AS DATE)"
        " AS occurred_month, lsoa_code, crime_type FROM _rows"
    )
    return con


def test_a_year_without_files_is_no_data_not_zero_and_is_not_compared():
    months = {f"2022-{m:02d}": 1 for m in range(1, 13)} | {f"2024-{m:02d}": 2 for m in range(1, 5)}
    con = con_with(months)
    pairs = [("police_uk", spec) for spec in asb_specs("police_uk")]
    trends = build_trends(con, pairs)
    county = trends[trends["area_level"] == "county"].set_index("month")
    assert len(county) == 16  # no 2023 rows: those months have no data, they are not zeros
    assert county["rolling_12m"].iloc[11] == 12  # 2022-12: the whole of 2022
    assert county["rolling_12m"].iloc[12:].isna().all()  # 2024: the 12 months are not all there
    assert (
        str(con.execute("SELECT typeof(month) FROM build.trends LIMIT 1").fetchone()[0]) == "DATE"
    )
    yoy = year_on_year(con, trends, "calendar_year")
    assert yoy.empty  # 2024 has no 2023 to compare with, and 2022 no 2021


def test_consecutive_years_are_compared_with_the_exact_test():
    con = con_with(
        {f"2022-{m:02d}": 2 for m in range(1, 13)} | {f"2023-{m:02d}": 4 for m in range(1, 13)}
    )
    pairs = [("police_uk", spec) for spec in asb_specs("police_uk")]
    yoy = year_on_year(con, build_trends(con, pairs), "calendar_year")
    county = yoy[yoy["area_level"] == "county"].iloc[0]
    assert (county["period"], county["count"], county["previous_count"]) == ("2023", 48, 24)
    assert county["rate_ratio"] == 2.0 and county["p_value"] < 0.01
