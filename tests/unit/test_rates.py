"""Rates per 1,000 with Fingertips confidence intervals, rolled up LSOA -> ward -> district -> county."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from transforms.classify import INCIDENT_COLUMNS
from transforms.db import ensure_schema, registered, write_table
from transforms.definition import FLAG_NAMES, load_definition
from transforms.periods import period_label
from transforms.rates import (
    ADDED_COLUMNS,
    RATE_COLUMNS,
    build_sv_rates,
    ci_sql,
    compare_sql,
    count_ci,
    denominators_sql,
    exact_table,
)

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = load_definition(ROOT / "config" / "definitions" / "norfolk-2024.yaml")

# --------------------------------------------------------------------------- confidence intervals
# Exact 95% Poisson limits as published in the standard tables (Garwood 1936; reproduced in
# Breslow & Day, and used by Fingertips for counts under 10).
PUBLISHED_EXACT = {
    0: (0.0, 3.689),
    1: (0.0253, 5.572),
    2: (0.242, 7.225),
    5: (1.623, 11.668),
    9: (4.115, 17.085),
}


@pytest.mark.parametrize(("count", "limits"), PUBLISHED_EXACT.items())
def test_small_counts_use_the_exact_poisson_interval(count, limits):
    lower, upper = count_ci(count)
    assert lower[0] == pytest.approx(limits[0], abs=6e-4)
    assert upper[0] == pytest.approx(limits[1], abs=6e-4)


def test_counts_of_ten_or_more_use_byars_method():
    # Byar: O(1 - 1/9O - z/3√O)^3 and (O+1)(1 - 1/9(O+1) + z/3√(O+1))^3, z = 1.959964, by hand:
    # O = 100: 100 × 0.9335568^3 = 81.3621 and 101 × 1.0639078^3 = 121.6279
    lower, upper = count_ci([100])
    assert lower[0] == pytest.approx(81.3621, abs=1e-3)
    assert upper[0] == pytest.approx(121.6279, abs=1e-3)
    # at 10 Byar takes over: it differs slightly from the exact limit 4.795 (chi-squared)
    lower10, upper10 = count_ci([10])
    exact10 = chi2.ppf(0.025, 20) / 2
    assert exact10 == pytest.approx(4.7954, abs=1e-4)
    assert lower10[0] == pytest.approx(4.7874, abs=1e-4)
    assert upper10[0] == pytest.approx(18.3915, abs=1e-4)


def test_byar_is_close_to_exact_for_large_counts():
    counts = np.array([10, 25, 60, 250, 1000, 30000])
    lower, upper = count_ci(counts)
    assert np.allclose(lower, chi2.ppf(0.025, 2 * counts) / 2, rtol=2e-3)
    assert np.allclose(upper, chi2.ppf(0.975, 2 * (counts + 1)) / 2, rtol=2e-3)


def sql_limits(counts: list[int], confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The limits the rates SQL computes, for a list of counts."""
    con = duckdb.connect()
    lower, upper = ci_sql("count", confidence)
    frame = pd.DataFrame({"count": counts})
    with registered(con, _exact=exact_table(confidence), _counts=frame):
        out = con.execute(f"SELECT {lower} AS lo, {upper} AS hi FROM _counts").fetchnumpy()
    return np.asarray(out["lo"], dtype=float), np.asarray(out["hi"], dtype=float)


def test_the_sql_intervals_equal_the_reference_implementation():
    counts = [0, 1, 2, 5, 9, 10, 11, 25, 100, 1000, 30000]
    for confidence in (0.95, 0.998):
        lower, upper = sql_limits(counts, confidence)
        ref_lower, ref_upper = count_ci(counts, confidence)
        np.testing.assert_allclose(lower, ref_lower, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(upper, ref_upper, rtol=1e-12, atol=1e-12)
    lower, upper = sql_limits([5, 100])
    assert lower[0] == pytest.approx(1.6235, abs=1e-4) and upper[0] == pytest.approx(
        11.6683, abs=1e-4
    )
    assert lower[1] == pytest.approx(81.3621, abs=1e-3) and upper[1] == pytest.approx(
        121.6279, abs=1e-3
    )


def test_other_confidence_levels_widen_the_interval():
    z = 3.090232  # 99.8%
    lower998 = count_ci([20], 99.8)[0][0]
    assert lower998 == pytest.approx(20 * (1 - 1 / 180 - z / (3 * math.sqrt(20))) ** 3, rel=1e-6)
    assert lower998 < count_ci([20])[0][0]


def test_compare_to_the_comparator_value():
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT {compare_sql('lo', 'hi', '4.0')} FROM (VALUES (5.0, 9.0), (1.0, 3.0),"
        " (1.0, 6.0), (NULL, 2.0)) t(lo, hi)"
    ).fetchall()
    assert [r[0] for r in rows] == ["higher", "lower", "similar", None]


# ----------------------------------------------------------------------------------- sv_rates
AREAS = pd.DataFrame(
    {
        "lsoa_code": ["E01000001", "E01000002", "E01000003", "E01000004"],
        "lsoa_name": ["A 001A", "A 001B", "A 002A", "B 001A"],
        "ward_code": ["E05000001", "E05000001", "E05000002", "E05000003"],
        "ward_name": ["North", "North", "South", "Coast"],
        "district_code": ["E07000001", "E07000001", "E07000001", "E07000002"],
        "district_name": ["Ayton", "Ayton", "Ayton", "Beeby"],
        "county_code": "E10000001",
        "county_name": "Shire",
    }
)
POPULATION = pd.DataFrame(
    {
        "lsoa_code": ["E01000001", "E01000002", "E01000003", "E01000004"],
        "persons": pd.array([1000, 2000, 500, 1500], dtype="Int64"),
        "persons_under_25": pd.array([300, 600, 100, 400], dtype="Int64"),
    }
)


def incident(**values) -> dict:
    row = dict.fromkeys(INCIDENT_COLUMNS, pd.NA)
    row |= {
        "source": "police",
        "occurred_month": pd.Timestamp("2022-06-01"),
        "lsoa_code": "E01000001",
    }
    row |= {flag: False for flag in FLAG_NAMES} | {
        "victim_under_25": False,
        "suspect_under_25": False,
        "definition_id": DEFINITION.id,
    }
    return row | values


def long_population(population: pd.DataFrame) -> pd.DataFrame:
    """ref.population rows for per-LSOA persons and under-25s: bands 0-24 and 25+, or one 0-120
    band where under-25s are unknown; an LSOA without persons has no rows."""
    rows = []
    for r in population.itertuples():
        if pd.isna(r.persons):
            continue
        if pd.isna(r.persons_under_25):
            rows.append((r.lsoa_code, 2022, "all", 0, 120, int(r.persons)))
        else:
            rows.append((r.lsoa_code, 2022, "all", 0, 24, int(r.persons_under_25)))
            rows.append((r.lsoa_code, 2022, "all", 25, 120, int(r.persons - r.persons_under_25)))
    return pd.DataFrame(rows, columns=["lsoa_code", "year", "sex", "age_from", "age_to", "persons"])


def rates(
    rows, population=POPULATION, source="police", period_type="financial_year", **kw
) -> pd.DataFrame:
    """build.sv_rates for these incidents, computed in a throwaway database."""
    con = duckdb.connect()
    ensure_schema(con)
    incidents = pd.DataFrame(rows, columns=INCIDENT_COLUMNS)
    for flag in [*FLAG_NAMES, "victim_under_25", "suspect_under_25"]:
        incidents[flag] = incidents[flag].astype("boolean")
    incidents["occurred_month"] = pd.to_datetime(incidents["occurred_month"])
    incidents["period"] = period_label(incidents["occurred_month"], period_type)
    for column in ("sv_category", "crime_type", "lsoa_code", "source"):
        incidents[column] = incidents[column].astype("str")
    write_table(con, "core.incidents", incidents)
    write_table(con, "ref.lsoa", AREAS)
    people = long_population(population).assign(conversion="as_published")
    write_table(con, "ref.lsoa_population", people)
    build_sv_rates(con, DEFINITION, source, 2022, **kw)
    return con.execute("SELECT * FROM build.sv_rates").df()


def pick(
    table: pd.DataFrame, level: str, code: str, measure: str, period: str = "2022/23"
) -> pd.Series:
    hit = table[
        (table["area_level"] == level)
        & (table["area_code"] == code)
        & (table["measure"] == measure)
        & (table["period"] == period)
    ]
    assert len(hit) == 1, (level, code, measure, period)
    return hit.iloc[0]


def test_every_lsoa_period_and_measure_is_present_with_zero_counts():
    table = rates([incident(sv_category="robbery")])
    assert list(table.columns) == RATE_COLUMNS + ADDED_COLUMNS
    measures = {"all_serious_violence", *DEFINITION.categories, *DEFINITION.measures}
    assert set(table["measure"]) == measures
    lsoa = table[table["area_level"] == "lsoa"]
    assert len(lsoa) == 4 * 1 * len(measures)
    empty = pick(table, "lsoa", "E01000004", "all_serious_violence")
    assert empty["count"] == 0 and empty["rate_per_1000"] == 0.0 and empty["ci_lower"] == 0.0
    assert empty["ci_upper"] == pytest.approx(3.6889 / 1500 * 1000, abs=1e-4)
    assert (
        table["area_level"].iloc[0] == "county"
        and table["measure"].iloc[0] == "all_serious_violence"
    )


def test_county_equals_the_sum_of_its_lsoas_and_wards_roll_up():
    rows = [
        incident(lsoa_code=code, sv_category="violence_with_injury") for code in AREAS["lsoa_code"]
    ] * 3
    rows += [incident(lsoa_code="E01000002", sv_category="homicide")]
    table = rates(rows)
    lsoa = (
        table[table["area_level"] == "lsoa"]
        .groupby(["period", "measure"])[["count", "population"]]
        .sum()
    )
    county = table[table["area_level"] == "county"].set_index(["period", "measure"])[
        ["count", "population"]
    ]
    pd.testing.assert_frame_equal(county.sort_index(), lsoa.sort_index(), check_dtype=False)
    north = pick(table, "ward", "E05000001", "all_serious_violence")
    assert (north["count"], north["population"], north["area_name"]) == (7, 3000, "North")
    assert pick(table, "district", "E07000001", "homicide")["count"] == 1
    assert pick(table, "county", "E10000001", "all_serious_violence")["count"] == 13
    assert pick(table, "county", "E10000001", "victims_under_25")["population"] == 1400


def test_domestic_abuse_counts_only_serious_violence_with_the_flag():
    rows = [
        incident(sv_category="violence_with_injury", domestic_abuse=True),
        incident(sv_category="stalking_and_harassment", domestic_abuse=True),
        incident(sv_category="violence_with_injury", domestic_abuse=False),
        incident(sv_category="violence_with_injury", domestic_abuse=pd.NA),
        incident(sv_category=pd.NA, domestic_abuse=True),  # criminal damage, DA flagged: not SV
        incident(
            sv_category="robbery",
            knife=True,
            victim_under_25=True,
            public_space_youth_violence=True,
        ),
    ]
    table = rates(rows)
    assert pick(table, "lsoa", "E01000001", "domestic_abuse_related")["count"] == 2
    assert pick(table, "lsoa", "E01000001", "all_serious_violence")["count"] == 5
    assert pick(table, "lsoa", "E01000001", "knife_enabled")["count"] == 1
    young = pick(table, "lsoa", "E01000001", "victims_under_25")
    assert (young["count"], young["population"]) == (1, 300)
    assert pick(table, "lsoa", "E01000001", "public_space_youth_violence")["count"] == 1


def test_measures_are_skipped_when_the_source_or_denominator_cannot_tell():
    rows = [
        incident(sv_category="robbery", victim_under_25=pd.NA, public_space_youth_violence=pd.NA)
    ]
    table = rates(rows)
    assert "victims_under_25" not in set(table["measure"])
    assert "domestic_abuse_related" in set(table["measure"])
    no_young = POPULATION.assign(persons_under_25=pd.array([pd.NA] * 4, dtype="Int64"))
    table = rates([incident(sv_category="robbery", victim_under_25=True)], population=no_young)
    assert "victims_under_25" not in set(table["measure"])


def test_police_uk_gets_the_proxy_measures_and_public_order_separately():
    rows = [
        incident(
            source="police_uk",
            sv_category="violence_and_sexual_offences",
            crime_type="Violence and sexual offences",
        ),
        incident(source="police_uk", sv_category="robbery", crime_type="Robbery"),
        incident(source="police_uk", sv_category=pd.NA, crime_type="Public order"),
        incident(source="police_uk", sv_category=pd.NA, crime_type="Criminal damage and arson"),
        incident(source="police", sv_category="homicide"),  # another source: not counted here
    ]
    for row in rows[:4]:
        row |= {flag: pd.NA for flag in [*FLAG_NAMES, "victim_under_25", "suspect_under_25"]}
    table = rates(rows, source="police_uk")
    assert set(table["measure"]) == {
        "all_serious_violence",
        "violence_and_sexual_offences",
        "robbery",
        "possession_of_weapons",
        "public_order_proxy",
    }
    assert pick(table, "county", "E10000001", "all_serious_violence")["count"] == 2
    assert pick(table, "county", "E10000001", "public_order_proxy")["count"] == 1
    assert (table["source"] == "police_uk").all()


def test_financial_years_months_and_incidents_outside_the_area():
    rows = [
        incident(occurred_month=pd.Timestamp("2022-03-01"), sv_category="robbery"),
        incident(occurred_month=pd.Timestamp("2022-04-01"), sv_category="robbery"),
        incident(
            occurred_month=pd.Timestamp("2022-05-01"), sv_category=pd.NA
        ),  # not SV, still a month
        incident(
            occurred_month=pd.Timestamp("2022-06-01"), sv_category="robbery", lsoa_code="E01999999"
        ),
        incident(occurred_month=pd.Timestamp("2022-06-01"), sv_category="robbery", lsoa_code=pd.NA),
    ]
    table = rates(rows)
    assert sorted(table["period"].unique()) == ["2021/22", "2022/23"]
    last = pick(table, "county", "E10000001", "robbery", "2021/22")
    this = pick(table, "county", "E10000001", "robbery", "2022/23")
    assert (last["count"], last["months"]) == (1, 1)
    assert (this["count"], this["months"]) == (1, 3)
    calendar = rates(rows, period_type="calendar_year")
    assert pick(calendar, "county", "E10000001", "robbery", "2022")["count"] == 2


def test_comparisons_with_county_and_england():
    rows = [incident(lsoa_code="E01000001", sv_category="robbery")] * 40
    rows += [incident(lsoa_code="E01000002", sv_category="robbery")] * 2
    england = {("2022/23", "all_serious_violence"): 1.0}
    table = rates(rows, england_rates=england)
    hot = pick(table, "lsoa", "E01000001", "all_serious_violence")
    cold = pick(table, "lsoa", "E01000002", "all_serious_violence")
    county = pick(table, "county", "E10000001", "all_serious_violence")
    assert county["rate_per_1000"] == pytest.approx(42 / 5000 * 1000)
    assert (hot["vs_county"], cold["vs_county"]) == ("higher", "lower")
    assert pd.isna(county["vs_county"])
    assert hot["vs_england"] == "higher" and county["vs_england"] == "higher"
    assert pd.isna(pick(table, "lsoa", "E01000001", "robbery")["vs_england"])
    assert rates(rows)["vs_england"].isna().all()


def test_real_norfolk_police_uk_rates(shared_data):
    from sources.lookups import read_area_lookup
    from sources.population import read_population
    from tests.helpers import ingest
    from transforms.classify import build_incidents

    files = sorted((shared_data / "policeuk-street").glob("2022-0[1-3]/*.csv"))
    con = ingest(files, "police_uk").con
    write_table(con, "ref.offence_codes", pd.DataFrame({"ho_code": ["8N"]}))
    build_incidents(con, DEFINITION, "calendar_year", police_extract=False, police_uk=True)
    lookup = read_area_lookup(shared_data / "ons-lookups" / "LSOA11_WD21_LAD21_EW_LU.csv").rows
    areas = lookup[lookup["district_code"].between("E07000143", "E07000149")].assign(
        county_code="E10000020", county_name="Norfolk"
    )
    write_table(con, "ref.lsoa", areas)
    population = read_population(shared_data / "population" / "2019_population.csv", 2019).rows
    write_table(con, "ref.population", population.drop(columns=["_file", "_line"]))
    build_sv_rates(con, DEFINITION, "police_uk", 2019, population_table="ref.population")
    table = con.execute("SELECT * FROM build.sv_rates").df()
    county = pick(table, "county", "E10000020", "all_serious_violence", "2022")
    inside = con.execute(
        "SELECT count(*) FROM core.incidents WHERE sv_category IS NOT NULL"
        " AND lsoa_code IN (SELECT lsoa_code FROM ref.lsoa)"
    ).fetchone()[0]
    assert county["count"] == inside
    assert county["population"] == 907_760  # Norfolk mid-2019, as published
    assert county["months"] == 3
    assert table[table["area_level"] == "district"]["area_code"].nunique() == 7
    assert len(table[(table["area_level"] == "lsoa") & (table["measure"] == "robbery")]) == 538


def test_denominators_need_bands_that_split_at_25():
    con = duckdb.connect()
    ensure_schema(con)
    bands = pd.DataFrame(
        [("A", 2022, "F", 0, 15, 10), ("A", 2022, "M", 16, 24, 7), ("A", 2022, "F", 25, 120, 30),
         ("B", 2022, "F", 0, 15, 5), ("B", 2022, "F", 16, 29, 8), ("B", 2022, "M", 30, 120, 20),
         ("A", 2021, "F", 0, 120, 999)],
        columns=["lsoa_code", "year", "sex", "age_from", "age_to", "persons"],
    )  # fmt: skip
    write_table(con, "ref.population", bands)
    out = con.execute(denominators_sql(2022, "ref.population") + " ORDER BY lsoa_code").fetchall()
    assert out == [("A", 47, 17, "as_published"), ("B", 33, None, "as_published")]  # B straddles 25


def test_a_missing_lsoa_population_leaves_the_rollups_without_a_rate():
    gap = POPULATION.assign(persons=pd.array([1000, pd.NA, 500, 1500], dtype="Int64"))
    rows = [incident(lsoa_code="E01000002", sv_category="robbery"), incident(sv_category="robbery")]
    table = rates(rows, population=gap)
    missing = pick(table, "lsoa", "E01000002", "robbery")
    assert (
        missing["count"] == 1
        and pd.isna(missing["population"])
        and pd.isna(missing["rate_per_1000"])
    )
    for level, code in (("ward", "E05000001"), ("district", "E07000001"), ("county", "E10000001")):
        row = pick(table, level, code, "robbery")
        assert row["count"] == 2 and pd.isna(row["population"]) and pd.isna(row["rate_per_1000"])
    assert pick(table, "ward", "E05000002", "robbery")["population"] == 500
