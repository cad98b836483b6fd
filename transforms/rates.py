"""Crude rates per 1,000 residents with 95% confidence intervals, by area, period and measure, in SQL;
Wilson intervals for proportions and the exact test comparing two Poisson counts.

Intervals follow the Fingertips / PHEindicatormethods convention (DESIGN §5): Byar's approximation
for counts of 10 or more, the exact Poisson interval (chi-squared quantiles) below 10 — a 10-row
table, since only counts 0-9 need it. Areas are compared with the county (and England, where a
comparator is given) by whether their interval lies above, below or across the comparator's rate.

Counts per LSOA are one pass over core.incidents (`count(*) FILTER (...)` per measure); the LSOA,
ward, district and county rows are one `GROUP BY GROUPING SETS`, so the county is the sum of its
LSOAs by construction. `build_rates` does this for any list of measures of one source (serious
violence, anti-social behaviour, NHS assaults); `build_sv_rates` is it for the definition's
serious-violence measures.

Proportions (a share of serious violence) carry Wilson score intervals (`wilson_ci`, `wilson_sql`),
the Fingertips method; a change between two periods is tested with the exact conditional test
for two Poisson counts (`compare_poisson_counts`: given the total, the first count is binomial).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import binomtest, chi2, norm

from transforms.db import create_sql, registered
from transforms.definition import Definition
from transforms.measures import MeasureSpec, available, available_measures

# After the fixed columns, every row also says which months its period covers, how its population
# reached the analysis LSOAs, and which England comparator `vs_england` used (issue 7).
ADDED_COLUMNS: list[str] = ["period_months", "population_conversion", "vs_england_basis"]
RATE_COLUMNS: list[str] = [
    "area_level",
    "area_code",
    "area_name",
    "period",
    "months",
    "measure",
    "count",
    "population",
    "rate_per_1000",
    "ci_lower",
    "ci_upper",
    "vs_county",
    "vs_england",
    "source",
    "definition_id",
]
AREA_LEVELS: tuple[str, ...] = ("lsoa", "ward", "district", "county")
BYAR_MIN_COUNT = 10


# A row of `area_grouping_sets`: which level it is, and that level's code and name.
AREA_OF_ROW = """CASE WHEN GROUPING(lsoa_code) = 0 THEN 'lsoa'
         WHEN GROUPING(ward_code) = 0 THEN 'ward'
         WHEN GROUPING(district_code) = 0 THEN 'district'
         ELSE 'county' END AS area_level,
    coalesce(lsoa_code, ward_code, district_code, county_code) AS area_code,
    coalesce(lsoa_name, ward_name, district_name, county_name) AS area_name"""


def area_grouping_sets(*keys: str) -> str:
    """GROUP BY GROUPING SETS giving LSOA, ward, district and county rows, each per `keys`: one
    roll-up, so every level is the sum of its LSOAs by construction.

    >>> area_grouping_sets("period")  # doctest: +NORMALIZE_WHITESPACE
    'GROUP BY GROUPING SETS ((period, lsoa_code, lsoa_name), (period, ward_code, ward_name),
    (period, district_code, district_name), (period, county_code, county_name))'
    """
    sets = ", ".join(f"({', '.join([*keys, f'{a}_code', f'{a}_name'])})" for a in AREA_LEVELS)
    return f"GROUP BY GROUPING SETS ({sets})"


def _confidence(confidence: float) -> float:
    level = confidence / 100 if confidence > 1 else confidence
    if not 0 < level < 1:
        raise ValueError(f"confidence {confidence!r} must be between 0 and 1 (or 0 and 100)")
    return level


def count_ci(count, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Confidence limits for observed Poisson counts: Byar's method for counts >= 10, exact
    (chi-squared) below; a count of 0 has lower limit 0.

    The reference implementation: `ci_sql` must agree with it, and the exact limits of counts
    0-9 that the SQL uses are taken from it.

    Examples
    --------
    Exact limits for 9 as in the published tables (Garwood 1936): 4.115, 17.085; Byar's
    for 10 (by hand from the formula): 4.787, 18.391.

    >>> lower, upper = count_ci([9, 10])
    >>> [round(float(v), 3) for v in (*lower, *upper)]
    [4.115, 4.787, 17.085, 18.391]
    """
    level = _confidence(confidence)
    alpha = 1 - level
    o = np.asarray(pd.to_numeric(pd.Series(np.ravel(count)), errors="coerce"), dtype=float)
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact_lower = np.where(o > 0, chi2.ppf(alpha / 2, 2 * o) / 2, 0.0)
        exact_upper = chi2.ppf(1 - alpha / 2, 2 * (o + 1)) / 2
        byar_lower = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
        byar_upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
    big = o >= BYAR_MIN_COUNT
    lower = np.where(big, byar_lower, exact_lower)
    upper = np.where(big, byar_upper, exact_upper)
    missing = np.isnan(o) | (o < 0)
    lower[missing] = np.nan
    upper[missing] = np.nan
    return lower, upper


def exact_table(confidence: float = 0.95) -> pd.DataFrame:
    """Exact Poisson limits for counts 0-9: all the SQL needs besides Byar's formula."""
    counts = np.arange(BYAR_MIN_COUNT)
    lower, upper = count_ci(counts, confidence)
    return pd.DataFrame({"o": counts, "lower": lower, "upper": upper})


def ci_sql(count: str, confidence: float = 0.95) -> tuple[str, str]:
    """SQL for the lower and upper limits of a count column (needs the `_exact` table)."""
    z = float(norm.ppf(1 - (1 - _confidence(confidence)) / 2))
    o = f"CAST({count} AS DOUBLE)"
    byar_lower = f"{o} * pow(1 - 1 / (9 * {o}) - {z!r} / (3 * sqrt({o})), 3)"
    byar_upper = f"({o} + 1) * pow(1 - 1 / (9 * ({o} + 1)) + {z!r} / (3 * sqrt({o} + 1)), 3)"
    exact = f"(SELECT {{}} FROM _exact WHERE _exact.o = {count})"
    lower = (
        f"CASE WHEN {count} >= {BYAR_MIN_COUNT} THEN {byar_lower} ELSE {exact.format('lower')} END"
    )
    upper = (
        f"CASE WHEN {count} >= {BYAR_MIN_COUNT} THEN {byar_upper} ELSE {exact.format('upper')} END"
    )
    return lower, upper


def compare_sql(lower: str, upper: str, reference: str) -> str:
    """Fingertips comparison of an interval with a comparator's value: "higher" when the
    interval lies above it, "lower" when below, "similar" when it contains it; NULL if unknown."""
    return (
        f"CASE WHEN {lower} IS NULL OR {upper} IS NULL OR {reference} IS NULL THEN NULL"
        f" WHEN {lower} > {reference} THEN 'higher' WHEN {upper} < {reference} THEN 'lower'"
        " ELSE 'similar' END"
    )


def wilson_ci(numerator, denominator, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score limits for proportions numerator / denominator (Fingertips, PHEindicatormethods
    `phe_proportion`): (2O + z^2 -/+ z sqrt(z^2 + 4 O q)) / (2 (n + z^2)), q = 1 - O / n. NaN
    where the denominator is 0 or missing. The reference for `wilson_sql`. The limits lie in [0, 1];
    they are clipped to it, since 24 of 24 gives an upper limit of 1 + 2e-16 in floating point.

    Examples
    --------
    PHStatsMethods (the Fingertips methods in Python) tests: 20 of 360 -> lower
    0.036248204600072345; 30 of 400 -> upper 0.10504770626130437.

    >>> lower, _ = wilson_ci([20], [360]); _, upper = wilson_ci([30], [400])
    >>> round(float(lower[0]), 9), round(float(upper[0]), 9)
    (0.036248205, 0.105047706)
    """
    z = norm.ppf(1 - (1 - _confidence(confidence)) / 2)
    o = np.asarray(np.ravel(numerator), dtype=float)
    n = np.asarray(np.ravel(denominator), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = 1 - o / n
        root = z * np.sqrt(z**2 + 4 * o * q)
        lower = (2 * o + z**2 - root) / (2 * (n + z**2))
        upper = (2 * o + z**2 + root) / (2 * (n + z**2))
    lower, upper = np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)
    bad = ~(n > 0) | (o < 0) | (o > n)
    lower[bad] = np.nan
    upper[bad] = np.nan
    return lower, upper


def wilson_sql(numerator: str, denominator: str, confidence: float = 0.95) -> tuple[str, str]:
    """SQL for the Wilson score limits of numerator / denominator columns (NULL when the
    denominator is 0); agrees with `wilson_ci`."""
    z = float(norm.ppf(1 - (1 - _confidence(confidence)) / 2))
    o, n = f"CAST({numerator} AS DOUBLE)", f"CAST({denominator} AS DOUBLE)"
    root = f"{z!r} * sqrt({z * z!r} + 4 * {o} * (1 - {o} / {n}))"
    parts = [  # clipped to [0, 1] as `wilson_ci` is: only floating-point error lies outside
        f"CASE WHEN {n} > 0 THEN least(1.0, greatest(0.0,"
        f" (2 * {o} + {z * z!r} {sign} {root}) / (2 * ({n} + {z * z!r})))) END"
        for sign in ("-", "+")
    ]
    return parts[0], parts[1]


def compare_poisson_counts(
    count: int, previous: int, exposure: float = 1.0, previous_exposure: float = 1.0
) -> tuple[float, float]:
    """Rate ratio and two-sided p-value of the exact conditional test for two Poisson counts
    (R `poisson.test(c(count, previous), c(exposure, previous_exposure))`): given the total, the
    first count is binomial with p = exposure / (exposure + previous_exposure). NaN ratio when
    the previous count is 0; p = 1 when both are 0.

    Examples
    --------
    R's `poisson.test(c(11, 21), c(800, 3011))` (its documentation example, Fredericia against
    three other cities): rate ratio 1.971488, p-value 0.07967.

    >>> ratio, p = compare_poisson_counts(11, 21, 800, 3011)
    >>> round(ratio, 6), round(p, 5)
    (1.971488, 0.07967)
    """
    count, previous = int(count), int(previous)
    ratio = (count / exposure) / (previous / previous_exposure) if previous else float("nan")
    if count + previous == 0:
        return ratio, 1.0
    share = exposure / (exposure + previous_exposure)
    return ratio, float(binomtest(count, count + previous, share).pvalue)


def population_year(con: duckdb.DuckDBPyConnection, wanted: int | None) -> int:
    """The population year to use: the one asked for, else the latest in ref.population."""
    years = [
        int(y)
        for (y,) in con.execute("SELECT DISTINCT year FROM ref.population ORDER BY 1").fetchall()
    ]
    if not years:
        raise ValueError("the population table is empty")
    if wanted is None:
        return years[-1]
    if wanted not in years:
        raise ValueError(f"population_year {wanted} is not in the population file (has {years})")
    return wanted


def denominators_sql(year: int, table: str = "ref.lsoa_population") -> str:
    """Persons and persons aged under 25 per LSOA for one year, and how the LSOA's people reached
    the analysis geography (`conversion`, "as_published" when the table has no such column).
    Under-25s need bands that split at 25 (single years, five-year bands, or 0-24); a band such
    as 16-29 leaves them unknown."""
    return f"""
    SELECT lsoa_code, sum(persons)::BIGINT AS persons,
           CASE WHEN bool_or(age_from <= 24 AND age_to > 24) THEN NULL
                ELSE coalesce(sum(persons) FILTER (WHERE age_to <= 24), 0) END::BIGINT AS persons_under_25,
           string_agg(DISTINCT conversion, '+' ORDER BY conversion) AS conversion
    FROM (SELECT *, {"conversion" if table == "ref.lsoa_population" else "'as_published'"} AS conversion
          FROM {table}) WHERE year = {int(year)} GROUP BY lsoa_code
    """


def measure_sql(spec: MeasureSpec) -> str:
    """The SQL predicate: does an incident count towards the measure (unknown flags do not)."""
    if spec.kind == "headline":
        return "sv_category IS NOT NULL"
    if spec.kind == "category":
        return f"sv_category = '{spec.category}'"
    if spec.kind == "crime_types":
        types = ", ".join("'" + t.replace("'", "''") + "'" for t in spec.crime_types)
        return f"crime_type IN ({types})"
    if spec.kind == "all":
        return "true"
    if spec.kind == "where":
        return f"coalesce({spec.where}, false)"
    return f"sv_category IS NOT NULL AND coalesce({spec.flag}, false)"


def build_sv_rates(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    source: str,
    year: int,
    *,
    population_table: str = "ref.lsoa_population",
    **options,
) -> None:
    """`build_rates` for the definition's serious-violence measures of a police source (those
    the source can tell, `available_measures`), into build.sv_rates by default."""
    denominators = denominators_sql(year, population_table)
    specs = available_measures(con, definition, source, denominators)
    build_rates(
        con, specs, source, year, definition_id=definition.id,
        population_table=population_table, **options,
    )  # fmt: skip


def build_rates(
    con: duckdb.DuckDBPyConnection,
    specs: list[MeasureSpec],
    source: str,
    year: int,
    *,
    definition_id: str,
    england_rates: Mapping[tuple[str, str], float] | None = None,
    england_notes: Mapping[tuple[str, str], str] | None = None,
    period_months: Mapping[str, str] | None = None,
    population_table: str = "ref.lsoa_population",
    table: str = "build.sv_rates",
    per: float = 1000,
    confidence: float = 0.95,
    only_available: bool = False,
    periods: Sequence[str] | None = None,
) -> None:
    """Counts, rates per 1,000 and CIs for every LSOA, ward, district and county x period x
    measure of `specs`, counting incidents of `source`, written to `table` (`periods`: only those
    period labels, for a refresh of some years).

    Only incidents of `source` whose LSOA is in ref.lsoa are counted; every LSOA x period x
    measure row exists, zero counts included. `months` is how many distinct months of the period
    have any incident of the source (a part year shows) and `period_months` says which (e.g.
    "2024-01 to 2024-04 (4 of 12 months)"). `england_rates` maps (period, measure) to an England
    rate per 1,000 for `vs_england`, and `england_notes` to the comparator used and whether its
    definition differs (`vs_england_basis`). `population_conversion` says how each area's people
    reached the analysis LSOAs (e.g. "as_published+lookup_split_area_share"). `per` scales the
    rate (the column keeps its name, rate_per_1000; success measures use 100,000).
    `only_available`: leave out the measures the source cannot tell (`available`).
    """
    denominators = denominators_sql(year, population_table)
    if only_available:
        specs = available(con, specs, source, denominators)
    create = create_sql(table)  # temp.<name>: a temporary table, for parts of a larger table
    if not specs:
        con.execute(f"{create} AS {empty_rates_sql()}")
        return
    measures = pd.DataFrame(
        [(s.name, s.denominator, i) for i, s in enumerate(specs)],
        columns=["measure", "denominator", "ord"],
    )
    rates, notes = england_rates or {}, england_notes or {}
    england = pd.DataFrame(  # a note without a rate: why that period was not compared
        [(p, m, rates.get((p, m)), notes.get((p, m))) for p, m in {*rates, *notes}],
        columns=["period", "measure", "rate", "basis"],
    ).astype({"period": "str", "measure": "str", "rate": "float64", "basis": "str"})
    described = pd.DataFrame(
        list((period_months or {}).items()), columns=["period", "period_months"]
    ).astype("str")
    counts = ", ".join(f'count(*) FILTER (WHERE {measure_sql(s)}) AS "{s.name}"' for s in specs)
    wanted = "period IS NOT NULL"
    chosen: dict[str, list[str]] = {}
    if periods is not None:
        wanted, chosen = "list_contains($periods, period)", {"periods": list(periods)}
    lower, upper = ci_sql("count", confidence)
    with registered(
        con,
        _measures=measures,
        _exact=exact_table(confidence),
        _england=england,
        _described=described,
    ):
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _counts AS
            UNPIVOT (
                SELECT lsoa_code, period, {counts}
                FROM core.incidents
                WHERE source = $source AND {wanted}
                  AND lsoa_code IN (SELECT lsoa_code FROM ref.lsoa)
                GROUP BY ALL
            ) ON COLUMNS(* EXCLUDE (lsoa_code, period)) INTO NAME measure VALUE count
            """,
            {"source": source} | chosen,
        )
        con.execute(
            f"""
            {create} AS
            WITH months AS (
                SELECT period, count(DISTINCT occurred_month) AS months FROM core.incidents
                WHERE source = $source AND {wanted} GROUP BY period
            ),
            pop AS ({denominators}),
            grid AS (
                SELECT a.lsoa_code, a.lsoa_name, a.ward_code, a.ward_name, a.district_code,
                       a.district_name, a.county_code, a.county_name, m.period, ms.measure,
                       ms.ord, coalesce(c.count, 0) AS count, p.conversion,
                       CASE ms.denominator WHEN 'persons' THEN p.persons
                            ELSE p.persons_under_25 END AS population
                FROM ref.lsoa a CROSS JOIN months m CROSS JOIN _measures ms
                LEFT JOIN _counts c ON c.lsoa_code = a.lsoa_code AND c.period = m.period
                                   AND c.measure = ms.measure
                LEFT JOIN pop p ON p.lsoa_code = a.lsoa_code
            ),
            rolled AS (
                SELECT {AREA_OF_ROW},
                    period, measure, min(ord) AS ord,
                    sum(count)::BIGINT AS count,
                    CASE WHEN count(population) = count(*) THEN sum(population) END::BIGINT AS population,
                    array_to_string(list_sort(list_distinct(flatten(
                        list(string_split(conversion, '+'))))), '+') AS population_conversion
                FROM grid
                {area_grouping_sets("period", "measure")}
            ),
            rated AS (
                SELECT r.*, m.months,
                       CASE WHEN r.population > 0 THEN {per!r} / r.population END AS scale
                FROM rolled r JOIN months m USING (period)
                WHERE r.area_code IS NOT NULL
            ),
            limits AS (
                SELECT *, count * scale AS rate_per_1000, ({lower}) * scale AS ci_lower,
                       ({upper}) * scale AS ci_upper
                FROM rated
            ),
            compared AS (
                SELECT l.*,
                       max(rate_per_1000) FILTER (WHERE area_level = 'county')
                           OVER (PARTITION BY period, measure) AS county_rate,
                       e.rate AS england_rate, e.basis AS vs_england_basis, d.period_months
                FROM limits l LEFT JOIN _england e USING (period, measure)
                LEFT JOIN _described d USING (period)
            )
            SELECT area_level, area_code, area_name, period, months::BIGINT AS months, measure,
                   count, population, rate_per_1000, ci_lower, ci_upper,
                   CASE WHEN area_level <> 'county' THEN {compare_sql("ci_lower", "ci_upper", "county_rate")} END AS vs_county,
                   {compare_sql("ci_lower", "ci_upper", "england_rate")} AS vs_england,
                   $source AS source, $definition AS definition_id,
                   coalesce(period_months, period) AS period_months, population_conversion,
                   vs_england_basis
            FROM compared
            ORDER BY CASE area_level WHEN 'county' THEN 0 WHEN 'district' THEN 1
                     WHEN 'ward' THEN 2 ELSE 3 END, area_code, period, ord
            """,
            {"source": source, "definition": definition_id} | chosen,
        )
        con.execute("DROP TABLE IF EXISTS _counts")


def empty_rates_sql() -> str:
    return (
        "SELECT NULL::VARCHAR AS area_level, NULL::VARCHAR AS area_code, NULL::VARCHAR AS"
        " area_name, NULL::VARCHAR AS period, NULL::BIGINT AS months, NULL::VARCHAR AS measure,"
        " NULL::BIGINT AS count, NULL::BIGINT AS population, NULL::DOUBLE AS rate_per_1000,"
        " NULL::DOUBLE AS ci_lower, NULL::DOUBLE AS ci_upper, NULL::VARCHAR AS vs_county,"
        " NULL::VARCHAR AS vs_england, NULL::VARCHAR AS source, NULL::VARCHAR AS definition_id,"
        " NULL::VARCHAR AS period_months, NULL::VARCHAR AS population_conversion,"
        " NULL::VARCHAR AS vs_england_basis WHERE false"
    )
