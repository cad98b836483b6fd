"""Trends: monthly counts with a 12-month rolling sum, year-on-year change with an exact test, and
an hour x weekday profile, for every measure of every source in the run.

- `build.trends` (`build_trends`): per source, measure, county and district, and month with any
  data from the source: the count of incidents in the study area that month (0 when the source
  has data that month but none here), and the rolling sum of the 12 calendar months to it
  (`rolling_12m`; NULL unless all 12 months have data, so a rolling sum never silently covers
  fewer months, e.g. across a year with no files).
- `build.year_on_year` (`year_on_year`): per source, measure, area and period: the count, the
  previous period's count, the change, the rate ratio (each period's exposure is its months of
  data: the population is one year's) and the two-sided p-value of the exact conditional test
  for two Poisson counts (`transforms.rates.compare_poisson_counts`).
- `build.time_profile` (`time_profile`): per source and measure, 7 x 24 counts by weekday
  (1 = Monday) and hour of the incidents that record a time (police extract offence time, A&E
  assault or arrival time, ambulance call time). It is county-wide and includes records placed
  nowhere (an A&E attendance with only a postcode sector still has a time).

Which measures: `run_measures` (the rates measures the police source can tell, ASB, and the NHS
measures).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from transforms.db import registered, write_table
from transforms.definition import Definition
from transforms.health import HEALTH_SOURCES
from transforms.measures import (
    NHS_SPECS,
    POLICE_UK,
    MeasureSpec,
    asb_specs,
    available,
    available_measures,
)
from transforms.periods import period_sql
from transforms.rates import compare_poisson_counts, denominators_sql, measure_sql
from transforms.success import previous_period

TRENDS_TABLE = "build.trends"
YEAR_ON_YEAR_TABLE = "build.year_on_year"
TIME_PROFILE_TABLE = "build.time_profile"
TREND_COLUMNS = [
    "source",
    "measure",
    "area_level",
    "area_code",
    "area_name",
    "month",
    "count",
    "rolling_12m",
    "months_in_window",
]
YEAR_ON_YEAR_COLUMNS = [
    "source",
    "measure",
    "area_level",
    "area_code",
    "area_name",
    "period",
    "months",
    "previous_period",
    "previous_months",
    "count",
    "previous_count",
    "change",
    "rate_ratio",
    "p_value",
]
PROFILE_COLUMNS = ["source", "measure", "weekday", "hour", "count"]


def run_measures(
    con: duckdb.DuckDBPyConnection, definition: Definition, police_source: str, year: int
) -> list[tuple[str, MeasureSpec]]:
    """(source, measure) pairs of the run: the police source's rates measures it can tell,
    anti-social behaviour (police.uk rows and the council extract), and the NHS measures of the
    NHS sources given."""
    denominators = denominators_sql(year)
    present = {s for (s,) in con.execute("SELECT DISTINCT source FROM core.incidents").fetchall()}
    pairs: list[tuple[str, MeasureSpec]] = []
    if police_source in present:
        pairs += [(police_source, s) for s in available_measures(con, definition, police_source,
                                                                  denominators)]  # fmt: skip
    for source in (POLICE_UK, "asb"):
        if source in present:
            pairs += [(source, s) for s in asb_specs(source)]
    for source, specs in NHS_SPECS.items():
        if source in present and source in HEALTH_SOURCES:
            pairs += [(source, s) for s in available(con, specs, source, denominators)]
    return pairs


def _by_source(pairs: list[tuple[str, MeasureSpec]]) -> dict[str, list[MeasureSpec]]:
    out: dict[str, list[MeasureSpec]] = {}
    for source, spec in pairs:
        out.setdefault(source, []).append(spec)
    return out


def build_trends(
    con: duckdb.DuckDBPyConnection, pairs: list[tuple[str, MeasureSpec]]
) -> pd.DataFrame:
    """Write build.trends for the (source, measure) pairs and return it."""
    parts = []
    for source, specs in _by_source(pairs).items():
        counts = ", ".join(f'count(*) FILTER (WHERE {measure_sql(s)}) AS "{s.name}"' for s in specs)
        names = pd.DataFrame({"measure": [s.name for s in specs], "ord": range(len(specs))})
        with registered(con, _names=names):
            parts.append(
                con.execute(
                    f"""
                    WITH monthly AS (
                        UNPIVOT (
                            SELECT l.district_code, l.district_name, i.occurred_month AS month,
                                   {counts}
                            FROM core.incidents i JOIN ref.lsoa l USING (lsoa_code)
                            WHERE i.source = $source AND i.occurred_month IS NOT NULL
                            GROUP BY ALL
                        ) ON COLUMNS(* EXCLUDE (district_code, district_name, month))
                        INTO NAME measure VALUE count
                    ),
                    rolled AS (
                        SELECT CASE WHEN GROUPING(district_code) = 0 THEN 'district'
                                    ELSE 'county' END AS area_level,
                               district_code, month, measure, sum(count)::BIGINT AS count
                        FROM monthly
                        GROUP BY GROUPING SETS ((district_code, month, measure), (month, measure))
                    ),
                    months AS (  -- months with data: a month with no file is not a zero
                        SELECT DISTINCT CAST(occurred_month AS DATE) AS month
                        FROM core.incidents WHERE source = $source AND occurred_month IS NOT NULL
                    ),
                    areas AS (
                        SELECT DISTINCT 'district' AS area_level, district_code AS area_code,
                               district_name AS area_name
                        FROM ref.lsoa WHERE district_code IS NOT NULL
                        UNION ALL
                        SELECT 'county', any_value(county_code), any_value(county_name) FROM ref.lsoa
                    ),
                    grid AS (
                        SELECT a.*, m.month, n.measure, n.ord,
                               coalesce(r.count, 0)::BIGINT AS count
                        FROM areas a CROSS JOIN months m CROSS JOIN _names n
                        LEFT JOIN rolled r ON r.area_level = a.area_level AND r.month = m.month
                            AND r.measure = n.measure
                            AND (a.area_level = 'county' OR r.district_code = a.area_code)
                    )
                    SELECT $source AS source, measure, area_level, area_code, area_name, month,
                           count,
                           CASE WHEN count(*) OVER w = 12 THEN sum(count) OVER w END::BIGINT
                               AS rolling_12m,
                           count(*) OVER w AS months_in_window
                    FROM grid
                    WINDOW w AS (PARTITION BY measure, area_level, area_code ORDER BY month
                                 RANGE BETWEEN INTERVAL 11 MONTH PRECEDING AND CURRENT ROW)
                    ORDER BY CASE area_level WHEN 'county' THEN 0 ELSE 1 END, area_code, ord, month
                    """,
                    {"source": source},
                ).df()
            )
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({c: pd.Series(dtype="object") for c in TREND_COLUMNS})
    )
    table = table[TREND_COLUMNS].assign(month=pd.to_datetime(table["month"]).dt.date)
    write_table(con, TRENDS_TABLE, table)  # month is a DATE (the first of the month)
    return table


def year_on_year(
    con: duckdb.DuckDBPyConnection, trends: pd.DataFrame, period_type: str
) -> pd.DataFrame:
    """Write build.year_on_year from the monthly trends and return it."""
    if trends.empty:
        table = pd.DataFrame({c: pd.Series(dtype="object") for c in YEAR_ON_YEAR_COLUMNS})
        write_table(con, YEAR_ON_YEAR_TABLE, table)
        return table
    months = con.execute(
        f"""
        SELECT source, {period_sql("occurred_month", period_type)} AS period,
               count(DISTINCT occurred_month) AS months
        FROM core.incidents WHERE occurred_month IS NOT NULL GROUP BY ALL
        """
    ).df()
    with registered(con, _trends=trends):
        annual = con.execute(
            f"""
            SELECT source, measure, area_level, area_code, area_name,
                   {period_sql("month", period_type)} AS period, sum(count)::BIGINT AS count
            FROM _trends GROUP BY ALL
            """
        ).df()
    annual = annual.merge(months, on=["source", "period"], how="inner")  # periods with data
    annual["previous_period"] = annual["period"].map(previous_period)
    keys = ["source", "measure", "area_level", "area_code"]
    before = annual[[*keys, "period", "count", "months"]].rename(
        columns={
            "period": "previous_period",
            "count": "previous_count",
            "months": "previous_months",
        }
    )
    out = annual.merge(before, on=[*keys, "previous_period"], how="inner")
    out["change"] = out["count"] - out["previous_count"]
    tests = [
        compare_poisson_counts(c, p, m, pm)
        for c, p, m, pm in zip(
            out["count"], out["previous_count"], out["months"], out["previous_months"], strict=True
        )
    ]
    out["rate_ratio"] = [t[0] for t in tests]
    out["p_value"] = [t[1] for t in tests]
    out = out.sort_values(["source", "measure", "area_level", "area_code", "period"])
    table = out[YEAR_ON_YEAR_COLUMNS].reset_index(drop=True)
    write_table(con, YEAR_ON_YEAR_TABLE, table)
    return table


def time_profile(
    con: duckdb.DuckDBPyConnection, pairs: list[tuple[str, MeasureSpec]]
) -> pd.DataFrame:
    """Write build.time_profile (7 x 24 counts per source and measure with any timed incident)."""
    parts = []
    for source, specs in _by_source(pairs).items():
        timed = con.execute(
            "SELECT count(occurred_at) FROM core.incidents WHERE source = ?", [source]
        ).fetchone()[0]
        if not timed:
            continue
        counts = ", ".join(f'count(*) FILTER (WHERE {measure_sql(s)}) AS "{s.name}"' for s in specs)
        names = pd.DataFrame({"measure": [s.name for s in specs], "ord": range(len(specs))})
        with registered(con, _names=names):
            parts.append(
                con.execute(
                    f"""
                    WITH timed AS (
                        UNPIVOT (
                            SELECT isodow(occurred_at) AS weekday, hour(occurred_at) AS hour,
                                   {counts}
                            FROM core.incidents
                            WHERE source = $source AND occurred_at IS NOT NULL
                            GROUP BY ALL
                        ) ON COLUMNS(* EXCLUDE (weekday, hour)) INTO NAME measure VALUE count
                    )
                    SELECT $source AS source, n.measure, d.weekday, h.hour,
                           coalesce(t.count, 0)::BIGINT AS count
                    FROM _names n
                    CROSS JOIN range(1, 8) d(weekday) CROSS JOIN range(0, 24) h(hour)
                    LEFT JOIN timed t ON t.measure = n.measure AND t.weekday = d.weekday
                        AND t.hour = h.hour
                    ORDER BY n.ord, d.weekday, h.hour
                    """,
                    {"source": source},
                ).df()
            )
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({c: pd.Series(dtype="object") for c in PROFILE_COLUMNS})
    )
    table["weekday"] = table["weekday"].astype(np.int64)
    table["hour"] = table["hour"].astype(np.int64)
    write_table(con, TIME_PROFILE_TABLE, table[PROFILE_COLUMNS])
    return table[PROFILE_COLUMNS]
