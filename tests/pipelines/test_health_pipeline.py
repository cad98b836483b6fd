"""Issue 9 on the demo county (the shared `demo_run`): NHS and ASB sources, the success measures,
the priorities, proportions and trends, each against a count written here from the demo's CSV
files with the csv module, never through the pipeline's readers or tables.

What the counts assume is only what the files say: the definition's offence codes and flag
values (read from its YAML), the study area (the LSOA codes of the lookup file), financial years
from 1 April, and that a row whose date does not parse or whose offence code is blank is
rejected (the reader's rule for required values).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.pipelines.conftest import REPO, Run
from transforms.rates import count_ci

TRUE = {"Y", "YES", "TRUE", "1"}
DEFINITION = yaml.safe_load(
    (REPO / "config" / "definitions" / "norfolk-2024.yaml").read_text(encoding="utf-8")
)
SV_CODES = {c for cat in DEFINITION["categories"].values() for c in cat["codes"]}
HOMICIDE_CODES = set(DEFINITION["categories"]["homicide"]["codes"])
ASSAULT = re.compile(r"^(X8[5-9]|X9\d|Y0\d)")


def query(run: Run, sql: str) -> list[tuple]:
    con = duckdb.connect(str(run.settings.database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def rows_of(paths: list[Path]):
    for path in sorted(paths):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from csv.DictReader(handle)


def fy(day: date) -> str:
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def parse(text: str, fmt: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), fmt).date()
    except ValueError:
        return None


def age(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 <= value <= 120 else None


@pytest.fixture(scope="module")
def area(demo_run: Run) -> set[str]:
    lookup = demo_run.demo_dir / "lookups" / "LSOA21_WD24_LAD24_EW_LU.csv"
    return {row["LSOA21CD"] for row in rows_of([lookup])}


@pytest.fixture(scope="module")
def police(demo_run: Run, area: set[str]) -> Counter:
    """Force extract counts per (measure, victims, financial year), in the study area."""
    counts: Counter = Counter()
    for row in rows_of(list((demo_run.demo_dir / "police").glob("*.csv"))):
        day = parse(row["Offence Date From"], "%d/%m/%Y")
        code = row["HO Offence Code"].strip()
        if day is None or not code or code not in SV_CODES:
            continue
        if row["LSOA Code"] not in area:
            continue
        victim = age(row["Victim Age"])
        groups = ["all"] + (["under_25"] if victim is not None and victim < 25 else [])
        knife = row["Knife Flag"].upper() in TRUE
        domestic = row["Domestic Abuse Flag"].upper() in TRUE
        measures = ["all_serious_violence"]
        if knife:
            measures.append("knife_enabled_serious_violence")
        if code in HOMICIDE_CODES:
            measures.append("homicide")
            measures += ["homicide_knife"] if knife else []
            measures += [] if domestic else ["homicide_non_domestic"]
        if domestic:
            measures.append("domestic_abuse_related")
        if row["Location Type"] == "Dwelling":
            measures.append("dwelling_violence")
        if row["Alcohol Related"].upper() in TRUE:
            measures.append("alcohol_related")
        suspect = age(row["Suspect Age"])
        if suspect is not None and suspect < 25:
            measures.append("suspects_under_25")
        for measure in measures:
            for victims in groups:
                counts[(measure, victims, fy(day))] += 1
    return counts


@pytest.fixture(scope="module")
def hes(demo_run: Run, area: set[str]) -> Counter:
    """HES admissions (first episodes) for assault and by a sharp object (X99), in the area."""
    counts: Counter = Counter()
    for row in rows_of(list((demo_run.demo_dir / "nhs" / "hes").glob("*.csv"))):
        if row["EPIORDER"] != "1" or row["LSOA21"] not in area:
            continue
        codes = [row[c] for c in ("CAUSE", "DIAG_4_01", "DIAG_4_02", "DIAG_4_03") if row[c]]
        assaults = [c for c in codes if ASSAULT.match(c)]
        if not assaults:
            continue
        period = fy(parse(row["ADMIDATE"], "%Y-%m-%d"))
        start_age = int(row["STARTAGE"])
        groups = ["all"] + (["under_25"] if start_age < 25 or start_age >= 7000 else [])
        for victims in groups:
            counts[("hes_assault_admissions", victims, period)] += 1
            if any(c.startswith("X99") for c in assaults):
                counts[("knife_admissions", victims, period)] += 1
    return counts


def county(run: Run, table: str, where: str, value: str = "count") -> dict:
    return {
        key: v
        for *key_parts, v in query(
            run,
            f"SELECT measure, period, {value} FROM {table} WHERE area_level = 'county' AND {where}",
        )
        for key in [tuple(key_parts)]
    }


def test_the_run_passes_every_check_including_the_new_ones(demo_run: Run) -> None:
    checks = {c.check_name: c.passed for c in demo_run.result.get_asset_check_evaluations()}
    for name in (
        "ae_attendances_reconciles",
        "hes_admissions_reconciles",
        "ambulance_callouts_reconciles",
        "asb_council_reconciles",
        "asb_records_reconcile",
        "success_intervals_hold_and_changes_add_up",
        "nhs_county_equals_sum_of_lsoas",
        "rolling_sums_add_up",
        "proportions_hold_their_intervals",
    ):
        assert checks.get(name) is True, name
    published = {
        t for (t,) in query(demo_run, "SELECT table_name FROM information_schema.tables"
                                      " WHERE table_schema = 'marts'")
    }  # fmt: skip
    assert {
        "success_measures", "asb_rates", "nhs_rates", "trends", "year_on_year", "time_profile",
        "proportions", "priority_under_25s", "priority_domestic_abuse", "priority_drugs_alcohol",
        "priority_places",
    } <= published  # fmt: skip


@pytest.mark.parametrize(
    "measure",
    ["knife_enabled_serious_violence", "homicide", "homicide_knife", "homicide_non_domestic"],
)
def test_police_success_measures_equal_a_count_of_the_force_extract(
    demo_run: Run, police: Counter, measure: str
) -> None:
    rows = query(
        demo_run,
        "SELECT victims, period, count, population, rate, rate_per, ci_lower, ci_upper,"
        " previous_count, change FROM marts.success_measures"
        f" WHERE area_level = 'county' AND measure = '{measure}' ORDER BY victims, period",
    )
    assert {(v, p) for v, p, *_ in rows} == {
        (v, p) for v in ("all", "under_25") for p in ("2021/22", "2022/23", "2023/24")
    }
    for victims, period, count, population, rate, per, lower, upper, previous, change in rows:
        assert count == police[(measure, victims, period)], (victims, period)
        assert per == (1000 if measure == "knife_enabled_serious_violence" else 100_000)
        assert rate == pytest.approx(count / population * per)
        ci = count_ci([count])
        assert (lower, upper) == pytest.approx(
            (ci[0][0] / population * per, ci[1][0] / population * per)
        )
        before = f"{int(period[:4]) - 1}/{period[2:4]}"
        if period != "2021/22":
            assert previous == police[(measure, victims, before)]
            assert change == count - previous
        else:
            assert previous is None and change is None
    assert sum(r[2] for r in rows if r[0] == "all") > 0 or measure.startswith("homicide_")


def test_knife_admissions_equal_a_count_of_the_hes_files(demo_run: Run, hes: Counter) -> None:
    rows = query(
        demo_run,
        "SELECT victims, period, count, rate_per FROM marts.success_measures"
        " WHERE area_level = 'county' AND measure = 'knife_admissions'",
    )
    assert len(rows) == 6 and all(per == 100_000 for *_, per in rows)
    assert {(v, p): c for v, p, c, _ in rows} == {
        (v, p): hes[("knife_admissions", v, p)] for v, p, _, _ in rows
    }
    assert sum(c for v, _, c, _ in rows if v == "all") > 30  # knife admissions exist
    nhs = county(demo_run, "marts.nhs_rates", "source = 'hes'")
    for period in ("2021/22", "2022/23", "2023/24"):
        assert (
            nhs[("hes_assault_admissions", period)]
            == hes[("hes_assault_admissions", "all", period)]
        )
        assert nhs[("hes_knife_admissions", period)] == hes[("knife_admissions", "all", period)]


def test_knife_admissions_track_the_knife_flag(demo_run: Run) -> None:
    """The demo's planted link: an admission is X99 exactly when its crime was knife-flagged."""
    [(knife_share_of_admissions, knife_share_of_violence)] = query(
        demo_run,
        """
        SELECT avg(CASE WHEN knife THEN 1.0 ELSE 0 END) FILTER (WHERE source = 'hes'
                   AND sv_category IS NOT NULL),
               avg(CASE WHEN knife THEN 1.0 ELSE 0 END) FILTER (WHERE source = 'police'
                   AND sv_category IS NOT NULL)
        FROM core.incidents
        """,
    )
    assert knife_share_of_admissions > 5 * knife_share_of_violence


def test_asb_rates_equal_counts_of_the_council_and_police_uk_files(
    demo_run: Run, area: set[str]
) -> None:
    council: Counter = Counter()
    for row in rows_of(list((demo_run.demo_dir / "asb").glob("*.csv"))):
        if row["LSOA Code"] in area:
            council[fy(parse(row["Incident Date"], "%d/%m/%Y"))] += 1
    uk: Counter = Counter()
    for row in rows_of(list((demo_run.demo_dir / "police_uk").glob("*/*.csv"))):
        if row["Crime type"] == "Anti-social behaviour" and row["LSOA code"] in area:
            uk[fy(parse(row["Month"] + "-01", "%Y-%m-%d"))] += 1
    got = query(
        demo_run,
        "SELECT source, period, count FROM marts.asb_rates"
        " WHERE area_level = 'county' AND measure = 'asb_incidents'",
    )
    assert {(p, c) for s, p, c in got if s == "asb"} == set(council.items())
    assert {(p, c) for s, p, c in got if s == "police_uk"} == set(uk.items())
    assert min(council.values()) > 100 and min(uk.values()) > 100


def test_ae_attendances_equal_a_count_of_the_istv_files(demo_run: Run, area: set[str]) -> None:
    counts: Counter = Counter()
    profile: Counter = Counter()
    for row in rows_of(list((demo_run.demo_dir / "nhs" / "ae").glob("*.csv"))):
        arrival = parse(row["Arrival Date"], "%d/%m/%Y")
        assault = parse(row["Assault Date"], "%d/%m/%Y")
        day = assault if assault and 0 <= (arrival - assault).days <= 31 else arrival
        at = row["Assault Time"] if day == assault and row["Assault Time"] else ""
        if at:
            profile[(day.isoweekday(), int(at[:2]))] += 1
        if row["Assault Location LSOA"] in area:
            counts[("ae_assault_attendances", fy(day))] += 1
            if row["Assault Method"] == "Sharp object":
                counts[("ae_knife_assaults", fy(day))] += 1
    nhs = county(demo_run, "marts.nhs_rates", "source = 'ae'")
    for key, n in counts.items():
        assert nhs[key] == n, key
    got = dict(
        ((w, h), c)
        for w, h, c in query(
            demo_run,
            "SELECT weekday, hour, count FROM marts.time_profile"
            " WHERE source = 'ae' AND measure = 'ae_assault_attendances'",
        )
    )
    assert {k: v for k, v in got.items() if v} == dict(profile)
    # the planted peak: weekend nights (Friday and Saturday 22:00 to 03:59 the next day)
    peak = max(got, key=got.get)
    assert peak in {(5, h) for h in (22, 23)} | {(6, h) for h in range(24)} | {
        (7, h) for h in range(4)
    }


@pytest.mark.parametrize(
    ("table", "measure"),
    [
        ("priority_domestic_abuse", "domestic_abuse_related"),
        ("priority_places", "dwelling_violence"),
        ("priority_drugs_alcohol", "alcohol_related"),
        ("priority_under_25s", "victims_under_25"),
        ("priority_under_25s", "suspects_under_25"),
    ],
)
def test_priority_tables_equal_counts_of_the_force_extract(
    demo_run: Run, police: Counter, table: str, measure: str
) -> None:
    got = county(demo_run, f"marts.{table}", f"source = 'police' AND measure = '{measure}'")
    key = (
        ("all_serious_violence", "under_25") if measure == "victims_under_25" else (measure, "all")
    )
    assert got == {(measure, p): police[(*key, p)] for p in ("2021/22", "2022/23", "2023/24")}
    in_sv_rates = county(demo_run, "marts.sv_rates", f"source = 'police' AND measure = '{measure}'")
    assert in_sv_rates == got  # each priority is also a measure of marts.sv_rates


@pytest.mark.parametrize(
    ("numerator", "flag_measure"),
    [("knife_enabled", "knife_enabled_serious_violence"), ("domestic_abuse_related", None)],
)
def test_proportions_of_serious_violence_carry_wilson_intervals(
    demo_run: Run, police: Counter, numerator: str, flag_measure: str | None
) -> None:
    rows = query(
        demo_run,
        "SELECT period, numerator, denominator, proportion, ci_lower, ci_upper"
        " FROM marts.proportions WHERE area_level = 'county' AND source = 'police'"
        f" AND numerator_measure = '{numerator}'",
    )
    assert len(rows) == 3
    z = 1.959963984540054
    for period, x, n, p, lower, upper in rows:
        assert x == police[(flag_measure or numerator, "all", period)]
        assert n == police[("all_serious_violence", "all", period)]
        assert p == pytest.approx(x / n)
        # Wilson by hand (Newcombe & Altman, as Fingertips)
        root = z * (z * z + 4 * x * (1 - x / n)) ** 0.5
        assert lower == pytest.approx((2 * x + z * z - root) / (2 * (n + z * z)), abs=1e-12)
        assert upper == pytest.approx((2 * x + z * z + root) / (2 * (n + z * z)), abs=1e-12)


def test_trends_count_each_month_and_roll_twelve(demo_run: Run, area: set[str]) -> None:
    monthly: Counter = Counter()
    for row in rows_of(list((demo_run.demo_dir / "asb").glob("*.csv"))):
        if row["LSOA Code"] in area:
            monthly[parse(row["Incident Date"], "%d/%m/%Y").replace(day=1)] += 1
    rows = query(
        demo_run,
        "SELECT month, count, rolling_12m FROM marts.trends WHERE source = 'asb'"
        " AND measure = 'asb_incidents' AND area_level = 'county' ORDER BY month",
    )
    assert {m: c for m, c, _ in rows} == dict(monthly) and len(rows) == 36
    months = sorted(monthly)
    for i, (_, _, rolling) in enumerate(rows):
        expected = sum(monthly[m] for m in months[i - 11 : i + 1]) if i >= 11 else None
        assert rolling == expected
    yoy = query(
        demo_run,
        "SELECT period, count, previous_count, p_value FROM marts.year_on_year"
        " WHERE source = 'asb' AND area_level = 'county' ORDER BY period",
    )
    by_year = Counter()
    for month, n in monthly.items():
        by_year[fy(month)] += n
    assert [(p, c, pc) for p, c, pc, _ in yoy] == [
        ("2022/23", by_year["2022/23"], by_year["2021/22"]),
        ("2023/24", by_year["2023/24"], by_year["2022/23"]),
    ]
    assert all(0 <= p <= 1 for *_, p in yoy)
