"""Placement on one analysis geography across the LSOA 2011 / 2021 boundary change.

A small world in British National Grid metres, with real-shaped codes:

    A   E01000001  unchanged (U)                square x 0-1000
    P   E01000002  split (S) into               square x 1000-2000
        C1 E01034001 (x 1000-1600) and C2 E01034002 (x 1600-2000)
    M1  E01000003  merged (M) with              square x 2000-2500
    M2  E01000004  into M21 E01034003           square x 2500-3000
    OUT E01009999  unchanged, outside the area; Q E01008888 split outside into E01035001/2

all at y 0-1000 (offset to 600000, 300000).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
import shapely

from transforms.db import write_table
from transforms.geography import (
    GeographyError,
    analysis_vintage,
    columns_of,
    convert_deprivation,
    convert_population,
    is_new_2021_code,
    place_incidents,
)

X0, Y0 = 600_000, 300_000
A, P, C1, C2 = "E01000001", "E01000002", "E01034001", "E01034002"
M1, M2, M21 = "E01000003", "E01000004", "E01034003"
OUT, Q, Q1, Q2 = "E01009999", "E01008888", "E01035001", "E01035002"
POLYGONS_2021 = {A: (0, 1000), C1: (1000, 1600), C2: (1600, 2000), M21: (2000, 3000)}
POLYGONS_2011 = {A: (0, 1000), P: (1000, 2000), M1: (2000, 2500), M2: (2500, 3000)}
LOOKUP = [
    (A, A, "U"),
    (P, C1, "S"),
    (P, C2, "S"),
    (M1, M21, "M"),
    (M2, M21, "M"),
    (OUT, OUT, "U"),
    (Q, Q1, "S"),
    (Q, Q2, "S"),
]


def boxes(polygons: dict[str, tuple[int, int]], vintage: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lsoa_code": list(polygons),
            "lsoa_vintage": vintage,
            "geometry": [
                shapely.to_wkb(shapely.box(X0 + a, Y0, X0 + b, Y0 + 1000))
                for a, b in polygons.values()
            ],
        }
    )


def point(x: float, y: float = 500) -> tuple[float, float]:
    return X0 + x, Y0 + y


def incidents(rows: list[tuple]) -> pd.DataFrame:
    """rows: (event_id, month, code, x, y)."""
    frame = pd.DataFrame(rows, columns=["event_id", "occurred_month", "lsoa_code", "x", "y"])
    frame.insert(0, "source", "police_uk")
    frame["period"] = frame["occurred_month"].str[:4]
    frame["x"] = frame["x"].astype("Float64")
    frame["y"] = frame["y"].astype("Float64")
    return frame


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for schema in ("ref", "core"):
        con.execute(f"CREATE SCHEMA {schema}")
    lookup = pd.DataFrame(LOOKUP, columns=["lsoa11_code", "lsoa21_code", "chgind"])
    write_table(con, "ref.lsoa_vintage_lookup", lookup)
    return con


def placed(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = con.execute(
        "SELECT event_id, lsoa_code, placement, lsoa_code_recorded, lsoa_vintage_recorded"
        " FROM core.incidents"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


EVERY_PATH_2021 = [  # (event_id, month, code, x, y): one incident per way onto LSOA 2021
    ("unchanged", "2022-01", A, None, None),
    ("split-left", "2022-01", P, *point(1200)),
    ("split-right", "2022-01", P, *point(1900)),
    ("split-off-map", "2022-01", P, *point(1500, 1300)),  # 300 m north of C1
    ("merged", "2022-01", M1, None, None),
    ("outside", "2022-01", OUT, *point(9000)),
    ("outside-split", "2022-01", Q, None, None),
    ("nowhere", "2022-01", None, None, None),
    ("by-point", "2022-01", None, *point(500)),
    ("by-point-out", "2022-01", None, *point(-5000)),
    ("scottish", "2022-01", "S01000001", None, None),
    ("new-code", "2024-01", C1, None, None),
    ("same-code", "2024-01", A, None, None),
    ("merged-code", "2024-01", M21, None, None),
    ("outside-2021", "2024-01", Q1, None, None),
]


def test_every_path_onto_lsoa_2021(con) -> None:
    write_table(con, "ref.lsoa", boxes(POLYGONS_2021, "2021"))
    write_table(con, "core.incidents", incidents(EVERY_PATH_2021))
    summary = place_incidents(con, vintage="2021", lookup="ref.lsoa_vintage_lookup")
    got = placed(con)
    assert got["unchanged"] == (A, "lookup_unchanged", A, "2011+2021")
    assert got["split-left"][:2] == (C1, "lookup_split_point")
    assert got["split-right"][:2] == (C2, "lookup_split_point")
    assert got["split-off-map"][:2] == (C1, "lookup_split_nearest")
    assert got["merged"] == (M21, "lookup_merged", M1, "2011")
    assert got["outside"] == (None, "outside_area", OUT, "2011+2021")
    assert got["outside-split"][:2] == (None, "outside_area")
    assert got["nowhere"] == (None, "no_location", None, None)
    assert got["by-point"][:2] == (A, "coordinates")
    assert got["by-point-out"][:2] == (None, "outside_area")
    assert got["scottish"][:2] == (None, "unmatched_code")
    assert got["new-code"] == (C1, "code", C1, "2021")
    assert got["same-code"] == (A, "code", A, "2011+2021")  # a 2024 month: codes are LSOA 2021
    assert got["merged-code"][:2] == (M21, "code")
    assert got["outside-2021"] == (None, "outside_area", Q1, "2021")
    assert summary["incidents"].sum() == len(EVERY_PATH_2021)
    assert set(summary["period"]) == {"2022", "2024"}


def test_a_view_is_placed_into_a_table_by_its_row_numbers_as_a_table_is_placed(con) -> None:
    """The pipeline places the classified view (rows named by `_row`) into core.incidents; the
    splits and points resolved apart must go back to their own rows."""
    write_table(con, "ref.lsoa", boxes(POLYGONS_2021, "2021"))
    write_table(con, "core.incidents", incidents(EVERY_PATH_2021))
    con.execute("CREATE TABLE core.copied AS SELECT * FROM core.incidents")
    con.execute("CREATE VIEW core.numbered AS SELECT *, 1000 - rowid AS _row FROM core.copied")
    place_incidents(con, vintage="2021", lookup="ref.lsoa_vintage_lookup")
    place_incidents(
        con, "core.numbered", into="core.placed", vintage="2021", lookup="ref.lsoa_vintage_lookup"
    )
    columns = columns_of(con, "core.incidents")
    assert columns_of(con, "core.placed") == columns
    in_place = con.execute("SELECT * FROM core.incidents ORDER BY event_id").fetchall()
    assert con.execute("SELECT * FROM core.placed ORDER BY event_id").fetchall() == in_place
    assert {r[columns.index("placement")] for r in in_place} >= {
        "lookup_split_point",
        "lookup_split_nearest",
        "coordinates",
    }


def test_lsoa_2021_codes_onto_lsoa_2011_boundaries(con) -> None:
    write_table(con, "ref.lsoa", boxes(POLYGONS_2011, "2011"))
    rows = [
        ("child", "2024-01", C2, None, None),  # many-to-one: C2 lies in P
        ("merged-left", "2024-01", M21, *point(2200)),  # one-to-many: point picks M1
        ("merged-right", "2024-01", M21, *point(2800)),
        ("merged-no-point", "2024-01", M21, None, None),
        ("old", "2022-01", P, None, None),
    ]
    write_table(con, "core.incidents", incidents(rows))
    place_incidents(con, vintage="2011", lookup="ref.lsoa_vintage_lookup")
    got = placed(con)
    assert got["child"][:2] == (P, "lookup_merged")
    assert got["merged-left"][:2] == (M1, "lookup_split_point")
    assert got["merged-right"][:2] == (M2, "lookup_split_point")
    assert got["merged-no-point"][0] in (M1, M2)
    assert got["merged-no-point"][1] == "lookup_split_equal_share"  # no population given
    assert got["old"][:2] == (P, "code")


def test_without_a_lookup_new_2021_codes_are_unmatched_not_outside(con) -> None:
    write_table(con, "ref.lsoa", boxes(POLYGONS_2011, "2011"))
    rows = [("new", "2024-01", C1, *point(1200)), ("far", "2024-01", OUT, None, None)]
    write_table(con, "core.incidents", incidents(rows))
    place_incidents(con, vintage="2011")
    got = placed(con)
    assert got["new"] == (None, "unmatched_code", C1, "2021")
    assert got["far"] == (None, "outside_area", OUT, None)


def test_population_share_draw_is_reproducible_and_follows_the_shares(con) -> None:
    write_table(con, "ref.lsoa", boxes(POLYGONS_2021, "2021"))
    people = pd.DataFrame({"lsoa_code": [C1, C2], "persons": [300, 100]})
    write_table(con, "ref.people", people)
    n = 4000
    rows = [(f"crime-{i}", "2022-01", P, None, None) for i in range(n)]
    write_table(con, "core.incidents", incidents(rows))
    place_incidents(con, vintage="2021", lookup="ref.lsoa_vintage_lookup", population="ref.people")
    first = con.execute("SELECT event_id, lsoa_code, placement FROM core.incidents").fetchall()
    assert {p for _, _, p in first} == {"lookup_split_population_share"}
    in_c1 = sum(code == C1 for _, code, _ in first)
    # Binomial(4000, 0.75): sd 27; the draw is md5-based, so this is the same number every run.
    assert abs(in_c1 - 0.75 * n) < 4 * 27
    # Placing again starts from the recorded codes and gives the same LSOAs.
    place_incidents(con, vintage="2021", lookup="ref.lsoa_vintage_lookup", population="ref.people")
    again = con.execute("SELECT event_id, lsoa_code, placement FROM core.incidents").fetchall()
    assert again == first
    assert con.execute("SELECT count(*) FROM core.incidents").fetchone()[0] == n


def test_other_columns_are_kept_and_placing_again_writes_the_same_rows_in_the_same_order(
    con,
) -> None:
    """Nothing downstream reads the table's row order (every reader aggregates), so it is not
    sorted; but placing the same rows again must write them in the same order."""
    write_table(con, "ref.lsoa", boxes(POLYGONS_2021, "2021"))
    rows = [(f"e{i}", "2022-01", code, None, None) for i, code in enumerate([M1, A, P, OUT] * 3)]
    frame = incidents(rows).assign(crime_type="Robbery")
    write_table(con, "core.incidents", frame)
    write_table(con, "core.again", frame)
    place_incidents(con, vintage="2021", lookup="ref.lsoa_vintage_lookup")
    place_incidents(con, "core.again", vintage="2021", lookup="ref.lsoa_vintage_lookup")
    out = con.execute("SELECT * FROM core.incidents").df()
    pd.testing.assert_frame_equal(out, con.execute("SELECT * FROM core.again").df())
    assert sorted(out["event_id"]) == sorted(frame["event_id"])
    assert list(out.columns) == [
        *frame.columns,
        "lsoa_code_recorded",
        "lsoa_vintage_recorded",
        "placement",
    ]
    assert set(out["crime_type"]) == {"Robbery"}


def test_population_is_converted_and_every_person_counted_once(con) -> None:
    write_table(con, "ref.lsoa", boxes(POLYGONS_2021, "2021"))
    # mid-year estimates on LSOA 2011: P is split 60/40 by area, M1 + M2 merge.
    population = pd.DataFrame(
        [(A, 2019, "all", 0, 120, 100), (P, 2019, "all", 0, 120, 401)]
        + [(M1, 2019, "all", 0, 120, 50), (M2, 2019, "all", 0, 120, 70)]
        + [(OUT, 2019, "all", 0, 120, 999)],
        columns=["lsoa_code", "year", "sex", "age_from", "age_to", "persons"],
    )
    write_table(con, "ref.population", population)
    summary = convert_population(con, vintage="2021", lookup="ref.lsoa_vintage_lookup")
    got = dict(
        con.execute("SELECT lsoa_code, (persons, conversion) FROM ref.lsoa_population").fetchall()
    )
    assert got == {
        A: (100, "as_published"),
        C1: (241, "lookup_split_area_share"),  # 401 x 0.6 = 240.6 -> 241 (largest remainder)
        C2: (160, "lookup_split_area_share"),
        M21: (120, "lookup_merged"),
    }
    assert dict(summary.values.tolist()) == {
        "as_published": 1,
        "lookup_merged": 1,
        "lookup_split_area_share": 2,
    }


def test_population_without_a_lookup_leaves_changed_lsoas_empty(con) -> None:
    write_table(con, "ref.lsoa", boxes(POLYGONS_2021, "2021"))
    population = pd.DataFrame(
        [(A, 2019, "all", 0, 120, 100), (P, 2019, "all", 0, 120, 400)],
        columns=["lsoa_code", "year", "sex", "age_from", "age_to", "persons"],
    )
    write_table(con, "ref.population", population)
    convert_population(con, vintage="2021")
    assert con.execute("SELECT lsoa_code FROM ref.lsoa_population").fetchall() == [(A,)]


def test_deprivation_is_inherited_by_splits_and_averaged_over_merges(con) -> None:
    write_table(con, "ref.lsoa", boxes(POLYGONS_2021, "2021"))
    iod = pd.DataFrame(
        {
            "lsoa_code": [A, P, M1, M2],
            "lsoa_vintage": "2011",
            "imd_score": [5.0, 30.0, 10.0, 20.0],
            "imd_rank": [30000, 2000, 15000, 9000],
            "imd_decile": [9, 1, 5, 5],
            "crime_decile": [9, 1, 4, 6],
        }
    )
    write_table(con, "ref.deprivation", iod)
    convert_deprivation(con, vintage="2021", lookup="ref.lsoa_vintage_lookup")
    out = con.execute("SELECT * FROM ref.lsoa_deprivation").df().set_index("lsoa_code")
    assert out.loc[C1, "imd_score"] == 30.0 and out.loc[C2, "imd_rank"] == 2000
    assert out.loc[C1, "conversion"] == "lookup_split_inherited"
    assert out.loc[M21, "imd_score"] == 15.0 and out.loc[M21, "imd_decile"] == 5
    assert pd.isna(out.loc[M21, "imd_rank"]) and pd.isna(out.loc[M21, "crime_decile"])
    assert out.loc[M21, "conversion"] == "lookup_merged_mean"
    assert out.loc[A, "conversion"] == "as_published"
    assert set(out["lsoa_vintage"]) == {"2021"}


def test_analysis_vintage_from_header_codes_and_settings() -> None:
    lookup = pd.DataFrame(LOOKUP, columns=["lsoa11_code", "lsoa21_code", "chgind"])
    assert analysis_vintage({"2021"}, [A, C1]) == "2021"
    assert analysis_vintage({None}, [A, P], lookup=lookup) == "2011"
    assert analysis_vintage({None}, [A, C1]) == "2021"  # C1 is numbered after the last 2011 code
    assert analysis_vintage({None}, [A]) is None  # an unchanged code: either vintage
    assert analysis_vintage({None}, [A], stated="lsoa11") == "2011"
    with pytest.raises(GeographyError, match="geography: lsoa11 but the boundaries are LSOA 2021"):
        analysis_vintage({"2021"}, [A], stated="lsoa11")
    with pytest.raises(GeographyError, match="mix LSOA 2011 codes"):
        analysis_vintage({None}, [P, C1], lookup=lookup)
    with pytest.raises(GeographyError, match="says LSOA 2011 but codes such as E01034001"):
        analysis_vintage({"2011"}, [C1])


def test_new_2021_codes_by_ons_numbering() -> None:
    assert is_new_2021_code("E01033769") and is_new_2021_code("W01001959")
    assert not is_new_2021_code("E01033768") and not is_new_2021_code("W01001958")
    assert not is_new_2021_code("S01000001") and not is_new_2021_code(None)
